import { DecodeError } from "../codec/cbor.ts";
import { FrameTooLargeError } from "../codec/framing.ts";
import { ChannelClosedError, StreamStalledError } from "../codec/message-channel.ts";
import { WriteStalledError } from "../endpoint/errors.ts";
import type { NodeId } from "../ids/node-id.ts";
import {
  AnnouncedTotalsExceededError,
  OperationTooLargeError,
  SyncProtocolError,
  TooManyLogsError,
} from "./errors.ts";
import { InvalidOperationError } from "./validation.ts";

/** Default of `SyncServiceOptions.coolDownMs`: how long a peer at fault gets no new session. */
export const DEFAULT_SYNC_COOL_DOWN_MS = 60_000;

/** Most peers remembered on cool-down; beyond, the oldest entry is forgotten first. */
export const MAX_COOL_DOWN_ENTRIES = 10_000;

/**
 * Whether a session ended through the remote's fault: it sent something malformed, oversized,
 * out of protocol order, invalid or of a foreign log, or held the stream without sending (or
 * without reading). Everything else — the stream closing or resetting (networks fail, and so
 * do honest nodes that stop), our store failing, our own stop, a topic we do not sync, a bug of
 * ours — is not, and must never cost an honest peer its sessions.
 */
export function isRemoteFault(error: unknown): boolean {
  return (
    error instanceof DecodeError ||
    error instanceof FrameTooLargeError ||
    error instanceof StreamStalledError ||
    error instanceof WriteStalledError ||
    // The channel reports a failed write as closed; a remote that stopped reading is the cause.
    (error instanceof ChannelClosedError && error.cause instanceof WriteStalledError) ||
    error instanceof SyncProtocolError ||
    error instanceof OperationTooLargeError ||
    error instanceof TooManyLogsError ||
    error instanceof AnnouncedTotalsExceededError ||
    error instanceof InvalidOperationError
  );
}

/**
 * Peers on cool-down after a session failed through their fault, sans-IO: the caller passes the
 * time. A peer on cool-down gets no new session in either direction, so a hostile peer costs us
 * at most one session per cool-down instead of one per retry.
 */
export class PeerCoolDown {
  readonly durationMs: number;
  readonly #until = new Map<NodeId, number>();

  constructor(durationMs: number = DEFAULT_SYNC_COOL_DOWN_MS) {
    this.durationMs = durationMs;
  }

  /** Puts `node` on cool-down from `now`; returns when it ends. */
  add(node: NodeId, now: number): number {
    const until = now + this.durationMs;
    // Re-inserted at the end, so the map stays ordered by when each cool-down ends.
    this.#until.delete(node);
    this.#until.set(node, until);
    // Identities are free: without a bound, hostile ones would grow this map for ever.
    for (const [oldest, end] of this.#until) {
      if (this.#until.size <= MAX_COOL_DOWN_ENTRIES && end > now) break;
      this.#until.delete(oldest);
    }
    return until;
  }

  /** Whether `node` is on cool-down at `now` (expired entries are forgotten). */
  has(node: NodeId, now: number): boolean {
    const until = this.#until.get(node);
    if (until === undefined) return false;
    if (now < until) return true;
    this.#until.delete(node);
    return false;
  }

  /** When the cool-down of `node` ends, if it is on one. */
  until(node: NodeId): number | undefined {
    return this.#until.get(node);
  }

  /** Peers on cool-down (some may have expired since). */
  get size(): number {
    return this.#until.size;
  }
}

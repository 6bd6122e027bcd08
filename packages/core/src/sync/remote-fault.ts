import { DecodeError } from "../codec/cbor.ts";
import { FrameTooLargeError } from "../codec/framing.ts";
import { ChannelClosedError, StreamStalledError } from "../codec/message-channel.ts";
import { WriteStalledError } from "../endpoint/errors.ts";
import {
  AnnouncedTotalsExceededError,
  OperationTooLargeError,
  SyncProtocolError,
  TooManyLogsError,
} from "./errors.ts";
import { InvalidOperationError } from "./validation.ts";

/** Default of `SyncServiceOptions.coolDownMs`: how long a peer at fault gets no new session. */
export const DEFAULT_SYNC_COOL_DOWN_MS = 60_000;

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

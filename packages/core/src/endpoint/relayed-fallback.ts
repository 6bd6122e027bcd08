// The relayed data fallback (`EndpointOptions.relayedFallback`): when no direct WebRTC connection
// to a node can be made, p2panda sessions may run over a relayed (limited) circuit-relay v2
// connection through a bootstrap whose operator allows it. This module holds the pure parts:
// which addresses give such a circuit, which nodes are reached that way for now, and why a
// relayed connection ended.
import { type Multiaddr, multiaddr } from "@multiformats/multiaddr";
import type { NodeId } from "../ids/node-id.ts";
import { circuitRelayOf } from "./relay-reservations.ts";

/**
 * Name of the protocol a relay serves (and identify announces) when its operator allows data
 * over its circuits (`p2panda-web bootstrap --relay-data-limit …`). Its handler answers nothing:
 * it is only a sign. Without it a relay's circuits are for WebRTC signalling alone, and a node
 * with the fallback on does not run its sessions through them.
 */
export const RELAYED_DATA_PROTOCOL = "relayed-data";

/** Default of {@link RelayedFallbackOptions.retryDirectAfterMs}. */
export const DEFAULT_RETRY_DIRECT_AFTER_MS = 60_000;

/** Settings of the relayed data fallback (`EndpointOptions.relayedFallback`). */
export interface RelayedFallbackOptions {
  /**
   * After a direct dial to a node failed, sessions with it go over a relayed connection this
   * long before a direct connection is tried again. Default {@link DEFAULT_RETRY_DIRECT_AFTER_MS}
   * (1 min): a failed WebRTC set-up costs up to two address timeouts (2 × 6 s in browsers,
   * within the 10 s dial timeout), which every new session would otherwise wait for.
   */
  readonly retryDirectAfterMs?: number;
  /** Most nodes remembered as reached through a relay; the oldest are forgotten. Default 1,024. */
  readonly maxTrackedNodes?: number;
}

/**
 * A relayed (circuit) address to `nodeId` for data, out of the node's dialable WebRTC-over-circuit
 * addresses (`…/p2p/<relay>/p2p-circuit/webrtc/p2p/<node>`): the same circuit without `/webrtc`,
 * with its relay, for each relay in `relays` (those that allow data). Tab addresses name the
 * circuit only for WebRTC signalling; the relay that reserved it relays any stream.
 */
export function relayedDataAddresses(
  dialable: readonly string[],
  relays: (relay: NodeId) => boolean,
): Array<{ relay: NodeId; address: Multiaddr }> {
  const out: Array<{ relay: NodeId; address: Multiaddr }> = [];
  const seen = new Set<string>();
  for (const text of dialable) {
    let address: Multiaddr;
    try {
      address = multiaddr(text);
    } catch {
      continue;
    }
    const relay = circuitRelayOf(address);
    if (relay === undefined || !relays(relay)) continue;
    const components = address.getComponents();
    const circuit = components.findIndex((c) => c.name === "p2p-circuit");
    // Only circuits straight to the node, with or without WebRTC on top.
    const rest = components.slice(circuit + 1).filter((c) => c.name !== "webrtc");
    if (rest.length !== 1 || rest[0]?.name !== "p2p") continue;
    const plain = multiaddr([...components.slice(0, circuit + 1), ...rest]);
    const key = plain.toString();
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ relay, address: plain });
  }
  return out;
}

/**
 * The nodes whose sessions go over a relayed connection for now, because a direct dial to them
 * failed (or they reached us only that way). Pure: the caller passes the time. Bounded: the
 * oldest entry goes when it is full.
 */
export class RelayedNodes {
  readonly retryDirectAfterMs: number;
  readonly #max: number;
  /** Node → when a direct connection may be tried again. */
  readonly #until = new Map<NodeId, number>();

  constructor(options: RelayedFallbackOptions = {}) {
    this.retryDirectAfterMs = options.retryDirectAfterMs ?? DEFAULT_RETRY_DIRECT_AFTER_MS;
    this.#max = options.maxTrackedNodes ?? 1_024;
  }

  /** A direct connection to `nodeId` could not be made at `now`: relay for a while. */
  directFailed(nodeId: NodeId, now: number): void {
    this.#until.delete(nodeId);
    if (this.#until.size >= this.#max) {
      const oldest = this.#until.keys().next().value;
      if (oldest !== undefined) this.#until.delete(oldest);
    }
    this.#until.set(nodeId, now + this.retryDirectAfterMs);
  }

  /** Whether sessions with `nodeId` go over a relayed connection at `now` (no direct dial). */
  relayed(nodeId: NodeId, now: number): boolean {
    const until = this.#until.get(nodeId);
    if (until === undefined) return false;
    if (now < until) return true;
    this.#until.delete(nodeId);
    return false;
  }

  /** A direct connection to `nodeId` opened: no relaying any more. */
  directOpened(nodeId: NodeId): void {
    this.#until.delete(nodeId);
  }

  /** Nodes tracked (for tests of the bound). */
  get size(): number {
    return this.#until.size;
  }
}

/**
 * Why a relayed connection ended, from what libp2p's circuit transport says is left of its data
 * limit (`Connection.limits.bytes`): `"data-limit"` when less than a frame's worth was left (the
 * relay cut it at its data limit), otherwise `"ended"` (its duration limit, the relay going away
 * or the remote closing: circuit relay v2 tells the ends no reason).
 */
export type RelayedEndReason = "data-limit" | "ended";

/** Bytes left of a circuit's data limit below which its end is put down to that limit. */
const DATA_LIMIT_MARGIN = 64 * 1024;

/** See {@link RelayedEndReason}. */
export function relayedEndReason(bytesLeft: bigint | undefined): RelayedEndReason {
  return bytesLeft !== undefined && bytesLeft < BigInt(DATA_LIMIT_MARGIN) ? "data-limit" : "ended";
}

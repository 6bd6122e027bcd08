import type { NodeId } from "../ids/node-id.ts";
import type { Rng } from "../random.ts";

/**
 * A simulated signed transport info: the size and shape of a real one (a 64-byte signature, one
 * WebSocket address with a peer id), without the cost of signing. Verification asks whether
 * the simulator made it for that node, so a forged info fails exactly as a bad signature does.
 */
export interface SimTransportInfo {
  readonly timestamp: number;
  readonly signature: Uint8Array;
  readonly addresses: readonly string[];
}

/** Genuine infos and the node each was made for (identity of the object is the "signature"). */
const signedBy = new WeakMap<object, NodeId>();

/** A genuine info of node `id` with `timestamp`, its random parts drawn from `rng`. */
export function simTransportInfo(rng: Rng, id: NodeId, timestamp: number): SimTransportInfo {
  const n = rng.int(1 << 24);
  const info: SimTransportInfo = {
    timestamp,
    signature: rng.bytes(64),
    addresses: [
      `/ip4/10.${n >> 16}.${(n >> 8) & 255}.${n & 255}/tcp/4001/ws/p2p/12D3KooW${id.slice(0, 44)}`,
    ],
  };
  signedBy.set(info, id);
  return info;
}

/**
 * An info a misbehaving node made up: the newest timestamp possible (to win last-write-wins
 * everywhere) and a signature that does not verify.
 */
export function forgedTransportInfo(): SimTransportInfo {
  return { timestamp: Number.MAX_SAFE_INTEGER, signature: new Uint8Array(64), addresses: [] };
}

/** Whether `info` is a genuine info of `id` (what checking the signature would say). */
export function verifySimTransportInfo(id: NodeId, info: unknown): boolean {
  return typeof info === "object" && info !== null && signedBy.get(info) === id;
}

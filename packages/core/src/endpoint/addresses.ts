import { isPrivate } from "@libp2p/utils";
import { type Multiaddr, multiaddr } from "@multiformats/multiaddr";
import { InvalidInputError } from "../errors.ts";
import { NodeId } from "../ids/node-id.ts";
import { addressNodeId, transportKind } from "../records/transport-info.ts";

/** How a connection reaches the remote node. */
export type ConnectionTransport =
  | "webrtc"
  | "webrtc-direct"
  | "websockets"
  | "webtransport"
  | "tcp"
  | "relayed"
  | "memory";

/**
 * The transport of a connection, from its remote address: a relayed connection (through a
 * circuit relay, limited in time and data) is `"relayed"`, while WebRTC set up through a relay
 * is a direct `"webrtc"` connection.
 */
export function connectionTransport(remoteAddr: Multiaddr): ConnectionTransport {
  const names = remoteAddr.getComponents().map((c) => c.name);
  const circuit = names.lastIndexOf("p2p-circuit");
  if (circuit >= 0) return names.indexOf("webrtc", circuit) > circuit ? "webrtc" : "relayed";
  if (names.includes("webrtc-direct")) return "webrtc-direct";
  if (names.includes("webrtc")) return "webrtc";
  if (names.includes("webtransport")) return "webtransport";
  if (names.includes("ws") || names.includes("wss") || names.includes("tls")) return "websockets";
  if (names.includes("memory")) return "memory";
  return "tcp";
}

/**
 * Whether an address starts with a loopback, private (RFC 1918, ULA), link-local or
 * `localhost` host. Such addresses are refused and not advertised unless an endpoint runs with
 * `allowPrivateAddresses` (dev, tests, LAN).
 */
export function isPrivateAddress(address: Multiaddr | string): boolean {
  try {
    return isPrivate(typeof address === "string" ? multiaddr(address) : address);
  } catch {
    return false;
  }
}

/**
 * The addresses a node should advertise out of what libp2p reports: only kinds other nodes can
 * dial (see `transportKind`; plain relayed `/p2p-circuit` addresses are left out because p2panda
 * protocols never run over limited relayed connections), private ones only when allowed, each
 * ending in the node's `/p2p/` id.
 *
 * A transport info keeps one address per kind (the last one), so the best of each kind goes
 * last: public before private, and for `…/p2p-circuit/webrtc` addresses a relay reached over a
 * transport browsers dial from any page (secure WebSockets, WebTransport, WebRTC-direct) before
 * plain WebSockets (refused by https pages) and TCP (no browser can dial it).
 */
export function advertisableAddresses(
  addresses: Iterable<Multiaddr>,
  self: NodeId,
  allowPrivateAddresses: boolean,
): string[] {
  const suffix = `/p2p/${NodeId.toPeerId(self).toString()}`;
  const ranked: Array<{ text: string; rank: number }> = [];
  for (const address of addresses) {
    let text = address.toString();
    if (transportKind(text) === "other") continue;
    const priv = isPrivateAddress(address);
    if (priv && !allowPrivateAddresses) continue;
    if (addressNodeId(text) !== self) {
      if (address.getComponents().at(-1)?.name === "p2p") continue;
      text += suffix;
    }
    ranked.push({ text, rank: (priv ? 0 : 10) + relayRank(address) });
  }
  // Stable sort: equal ranks keep libp2p's order.
  return ranked.sort((a, b) => a.rank - b.rank).map((r) => r.text);
}

function relayRank(address: Multiaddr): number {
  const names = address.getComponents().map((c) => c.name);
  const circuit = names.indexOf("p2p-circuit");
  if (circuit < 0) return 0;
  const relay = names.slice(0, circuit);
  if (relay.includes("wss") || (relay.includes("tls") && relay.includes("ws"))) return 5;
  if (relay.includes("webtransport")) return 4;
  if (relay.includes("webrtc-direct")) return 3;
  if (relay.includes("ws")) return 2;
  return 1;
}

/** A bootstrap entry: a node id and the addresses it was given with. */
export interface BootstrapAddress {
  readonly nodeId: NodeId;
  readonly addresses: string[];
}

/**
 * Groups bootstrap multiaddrs by the node they name. Throws `InvalidInputError` for a string that
 * is not a multiaddr or does not end in `/p2p/<Ed25519 peer id>`.
 */
export function parseBootstrapAddresses(addresses: Iterable<string>): BootstrapAddress[] {
  const byNode = new Map<NodeId, string[]>();
  for (const address of addresses) {
    try {
      multiaddr(address);
    } catch (error) {
      throw new InvalidInputError(`bootstrap address is not a multiaddr: ${address}`, {
        cause: error,
      });
    }
    const nodeId = addressNodeId(address);
    if (nodeId === undefined) {
      throw new InvalidInputError(
        `bootstrap address must end in /p2p/<Ed25519 peer id>: ${address}`,
      );
    }
    const list = byNode.get(nodeId) ?? [];
    list.push(multiaddr(address).toString());
    byNode.set(nodeId, list);
  }
  return [...byNode].map(([nodeId, list]) => ({ nodeId, addresses: list }));
}

/**
 * Whether every address in `addresses` reaches its node through a relay circuit on `relay`
 * (`…/p2p/<relay>/p2p-circuit/…`): a browser tab that holds a reservation on us and has no other
 * address. Such a node is unreachable the moment its connection to `relay` closes (its
 * reservation goes with it). An empty list is not "only through" anything.
 */
export function reachableOnlyThrough(addresses: readonly string[], relay: NodeId): boolean {
  if (addresses.length === 0) return false;
  const through = `/p2p/${NodeId.toPeerId(relay).toString()}/p2p-circuit`;
  return addresses.every((address) => address.includes(through));
}

/**
 * libp2p's announce filter for every endpoint: drops addresses that start with no network
 * address (a browser's bare `/webrtc/p2p/<id>` listen address), which nobody can dial. A relay
 * hands its announced addresses to every node that reserves on it, and libp2p's relay client
 * throws on such an address (`InvalidParametersError`, outside any call we could catch), so a
 * browser relaying for its neighbours must not announce one.
 */
export function announceableAddresses(addresses: Multiaddr[]): Multiaddr[] {
  return addresses.filter((address) => {
    const first = address.getComponents()[0]?.name;
    return first !== undefined && first !== "webrtc" && first !== "p2p" && first !== "p2p-circuit";
  });
}

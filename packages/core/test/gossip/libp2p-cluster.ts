// Gossip over real libp2p in one Node process, shared by the integration test and
// bench/gossip-libp2p.bench.ts: nodes made by createNode on Node endpoints on loopback
// WebSockets, each with an in-memory address book and gossip only. No discovery runs: the
// address books are filled by hand with what discovery would have put there (the other node's
// signed transport info and its topic). (test/discovery/libp2p-cluster.ts runs discovery on
// every node, hence this file.)
import { AddressBook, memoryAddressBookStore } from "@p2panda-web/address-book";
import {
  createNode,
  createNodeInfo,
  type NodeId,
  type P2pandaNode,
  type Topic,
} from "@p2panda-web/core";
import type { Endpoint } from "@p2panda-web/core/endpoint";
import type {
  GossipConfigInput,
  GossipService,
  GossipServiceOptions,
} from "@p2panda-web/core/gossip";
import { debounceTime, filter, firstValueFrom, merge, of, take, timeout } from "rxjs";
import { loopbackEndpoint } from "../endpoint/loopback.ts";

/** One node: an endpoint, its address book and its gossip service. */
export interface GossipNode {
  readonly node: P2pandaNode<Endpoint, AddressBook>;
  readonly id: NodeId;
  readonly book: AddressBook;
  readonly endpoint: Endpoint;
  readonly gossip: GossipService;
}

/** Options of {@link startGossipNode}. */
export interface GossipNodeOptions {
  /** Partition healing period; default 500 ms (the service's default is 5 s). */
  healIntervalMs?: number;
  config?: GossipConfigInput;
  maxQueuedPerLink?: GossipServiceOptions["maxQueuedPerLink"];
}

/** Starts one node listening on loopback WebSockets only (no TCP, WebRTC or relay). */
export async function startGossipNode(options: GossipNodeOptions = {}): Promise<GossipNode> {
  const node = await createNode({
    addressBook: () => AddressBook.open(memoryAddressBookStore()),
    endpoint: loopbackEndpoint,
    discovery: false,
    gossip: {
      healIntervalMs: options.healIntervalMs ?? 500,
      ...(options.config !== undefined ? { config: options.config } : {}),
      ...(options.maxQueuedPerLink !== undefined
        ? { maxQueuedPerLink: options.maxQueuedPerLink }
        : {}),
    },
    sync: false,
  });
  return {
    node,
    id: node.endpoint.nodeId,
    book: node.addressBook,
    endpoint: node.endpoint,
    gossip: node.gossip,
  };
}

/** Starts `count` nodes, one after the other. */
export async function startGossipNodes(
  count: number,
  options: GossipNodeOptions = {},
): Promise<GossipNode[]> {
  const nodes: GossipNode[] = [];
  try {
    for (let i = 0; i < count; i++) nodes.push(await startGossipNode(options));
  } catch (error) {
    await stopGossipNodes(nodes);
    throw error;
  }
  return nodes;
}

/**
 * `who` learns, as discovery would tell it, `about`'s signed transport info (as `about`'s
 * endpoint published it into its own book) and that `about` is interested in `topic`.
 */
export async function learn(who: GossipNode, about: GossipNode, topic: Topic): Promise<void> {
  if (who.book.nodeInfo(about.id) === undefined) {
    const transports = about.book.nodeInfo(about.id)?.transports;
    if (transports === undefined) throw new Error(`node ${about.id} has no transport info yet`);
    await who.book.insertNodeInfo(createNodeInfo(about.id, { transports }));
  }
  await who.book.addTopic(about.id, topic);
}

/** Every node but the first learns the first for `topic` (a bootstrap everyone enters through). */
export async function learnFirst(nodes: readonly GossipNode[], topic: Topic): Promise<void> {
  const [first, ...rest] = nodes;
  if (first === undefined) return;
  for (const node of rest) await learn(node, first, topic);
}

/** Every node learns every other node for `topic` (what lets the overlay heal after failures). */
export async function learnAll(nodes: readonly GossipNode[], topic: Topic): Promise<void> {
  for (const node of nodes) {
    for (const other of nodes) if (other !== node) await learn(node, other, topic);
  }
}

/** Takes a node off the network for good: its gossip service, endpoint and address book stop. */
export async function stopGossipNode(node: GossipNode): Promise<void> {
  await node.node.stop();
}

/** Stops every node (all idempotent, so already stopped nodes are fine). */
export async function stopGossipNodes(nodes: readonly GossipNode[]): Promise<void> {
  await Promise.allSettled(nodes.map((node) => stopGossipNode(node)));
}

/**
 * Whether `nodes` form one overlay on `topic` that a broadcast crosses: every node has a
 * neighbour, none has a neighbour outside `nodes` (e.g. a gone node still in a view: a change
 * still in flight), and the links both ends hold connect them all. A link only one end holds is
 * not counted: see {@link oneSidedLinks}.
 */
export function overlayReady(nodes: readonly GossipNode[], topic: Topic): boolean {
  const views = new Map(nodes.map((n) => [n.id, new Set(n.gossip.neighbours(topic))] as const));
  for (const view of views.values()) {
    if (nodes.length > 1 && view.size === 0) return false;
    for (const peer of view) if (!views.has(peer)) return false;
  }
  const start = nodes[0];
  if (start === undefined) return true;
  const seen = new Set<NodeId>([start.id]);
  const queue: NodeId[] = [start.id];
  while (queue.length > 0) {
    const id = queue.pop() as NodeId;
    for (const peer of views.get(id) ?? []) {
      if (!seen.has(peer) && views.get(peer)?.has(id) === true) {
        seen.add(peer);
        queue.push(peer);
      }
    }
  }
  return seen.size === nodes.length;
}

/**
 * Neighbour entries on `topic` the other end does not hold. Settled HyParView views are
 * symmetric; a lasting one-sided entry is left by a race in GossipService: when its own dial to a
 * peer fails after the peer's stream to it was accepted, it drops the link and takes the peer
 * out of its view without telling it, while the peer keeps it.
 */
export function oneSidedLinks(nodes: readonly GossipNode[], topic: Topic): number {
  const views = new Map(nodes.map((n) => [n.id, new Set(n.gossip.neighbours(topic))] as const));
  let count = 0;
  for (const [id, view] of views) {
    for (const peer of view) if (views.get(peer)?.has(id) !== true) count++;
  }
  return count;
}

/** Neighbour changes (up or down) of `nodes` on `topic`, merged. */
function membershipChanges(nodes: readonly GossipNode[], topic: Topic) {
  return merge(
    ...nodes.map((n) =>
      n.gossip.events$.pipe(
        filter(
          (e) =>
            (e.type === "gossip:neighbour-up" || e.type === "gossip:neighbour-down") &&
            e.topic === topic,
        ),
      ),
    ),
  );
}

/**
 * Resolves once `nodes`' overlay on `topic` is {@link overlayReady} and no neighbour changed
 * anywhere among them for `quietMs` (checked after every change: no polling); rejects after
 * `timeoutMs`. `quietMs` 0 resolves as soon as it is ready.
 */
export async function untilOverlayReady(
  nodes: readonly GossipNode[],
  topic: Topic,
  options: { quietMs?: number; timeoutMs: number },
): Promise<void> {
  const quietMs = options.quietMs ?? 0;
  const changes = merge(of(null), membershipChanges(nodes, topic));
  await firstValueFrom(
    (quietMs > 0 ? changes.pipe(debounceTime(quietMs)) : changes).pipe(
      filter(() => overlayReady(nodes, topic)),
      take(1),
      timeout(options.timeoutMs),
    ),
  );
}

// A discovery cluster over real libp2p in one Node process, shared by the integration test and
// bench/discovery-libp2p.bench.ts: nodes made by createNode on Node endpoints on loopback
// WebSockets, each with an address book and discovery only.
import { AddressBook, memoryAddressBookStore } from "@p2panda-web/address-book";
import { createNode, Identity, type P2pandaNode, type Topic } from "@p2panda-web/core";
import type { DiscoveryService, DiscoveryServiceOptions } from "@p2panda-web/core/discovery";
import type { Endpoint } from "@p2panda-web/core/endpoint";
import { filter, firstValueFrom, Subject, timeout } from "rxjs";
import { loopbackEndpoint } from "../endpoint/loopback.ts";

export interface ClusterNode {
  readonly node: P2pandaNode<Endpoint, AddressBook>;
  readonly book: AddressBook;
  readonly endpoint: Endpoint;
  /** The node's discovery. */
  readonly service: DiscoveryService;
  readonly topics: Topic[];
}

/** Starts one node holding `topics` that dials `bootstrap` (its discovery is not started yet). */
export async function startClusterNode(
  topics: Topic[],
  bootstrap: string[],
  config?: DiscoveryServiceOptions["config"],
): Promise<ClusterNode> {
  const book = await AddressBook.open(memoryAddressBookStore());
  const identity = await Identity.generate();
  for (const topic of topics) await book.addTopic(identity.nodeId, topic);
  const node = await createNode({
    identity,
    addressBook: book,
    endpoint: (init) => loopbackEndpoint({ ...init, bootstrap }),
    discovery: config !== undefined ? { config } : {},
    gossip: false,
    sync: false,
    start: false,
  });
  return { node, book, endpoint: node.endpoint, service: node.discovery, topics };
}

/**
 * How far `a` is: its co-topic peers among `peers`, and how many of them it knows under every
 * topic they share.
 */
export function membershipOf(
  a: ClusterNode,
  peers: readonly ClusterNode[],
): { readonly coTopicPeers: number; readonly known: number } {
  let coTopicPeers = 0;
  let known = 0;
  for (const b of peers) {
    if (a === b) continue;
    const shared = a.topics.filter((t) => b.topics.includes(t));
    if (shared.length === 0) continue;
    coTopicPeers++;
    const topics = a.book.nodeTopics(b.endpoint.nodeId);
    if (shared.every((t) => topics.has(t))) known++;
  }
  return { coTopicPeers, known };
}

/** How many peers know each co-topic peer under every topic they share. */
export function convergedNodes(peers: readonly ClusterNode[]): number {
  return peers.filter((a) => {
    const { coTopicPeers, known } = membershipOf(a, peers);
    return known === coTopicPeers;
  }).length;
}

/** Whether every peer knows each co-topic peer under every topic they share. */
export function coTopicConverged(peers: readonly ClusterNode[]): boolean {
  return convergedNodes(peers) === peers.length;
}

/**
 * Starts every node's discovery and resolves once `peers` have converged (checked after each
 * session that ended anywhere); rejects after `timeoutMs`.
 */
export async function runUntilConverged(
  nodes: readonly ClusterNode[],
  peers: readonly ClusterNode[],
  timeoutMs: number,
): Promise<void> {
  const ended = new Subject<void>();
  for (const node of nodes) {
    node.service.events$
      .pipe(filter((e) => e.type === "discovery:session-ended"))
      .subscribe(() => ended.next());
  }
  const done = firstValueFrom(
    ended.pipe(
      filter(() => coTopicConverged(peers)),
      timeout(timeoutMs),
    ),
  );
  for (const node of nodes) await node.node.start();
  await done;
}

/** Stops every node (discovery, endpoint, address book). */
export async function stopCluster(nodes: readonly ClusterNode[]): Promise<void> {
  for (const node of nodes) {
    await node.node.stop();
    await node.book.close();
  }
}

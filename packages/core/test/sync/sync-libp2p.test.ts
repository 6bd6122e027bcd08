// The whole stack over real libp2p: a bootstrap and two nodes made by createNode, Node endpoints
// on loopback WebSockets, each with discovery, gossip and sync. Nothing is introduced by hand: the nodes find
// each other's interest in the topic through discovery, meet in the sync topic's overlay and
// catch up, then stay live.
import { AddressBook, memoryAddressBookStore } from "@p2panda-web/address-book";
import { createNode, type Identity, Topic, transportKind } from "@p2panda-web/core";
import type { DiscoveryService } from "@p2panda-web/core/discovery";
import type { Endpoint } from "@p2panda-web/core/endpoint";
import type { GossipService } from "@p2panda-web/core/gossip";
import {
  MemoryLogStore,
  MemoryTopicStore,
  type SyncEvent,
  type SyncService,
} from "@p2panda-web/core/sync";
import { filter, firstValueFrom, timeout } from "rxjs";
import { afterAll, describe, expect, it } from "vitest";
import { loopbackEndpoint } from "../endpoint/loopback.ts";

const FAST = { backoff: { initialMs: 0, minIncrementMs: 20, maxIncrementMs: 80, maxMs: 400 } };

interface StackNode {
  identity: Identity;
  book: AddressBook;
  endpoint: Endpoint;
  discovery: DiscoveryService;
  gossip: GossipService;
  sync: SyncService;
  logStore: MemoryLogStore;
  stop(): Promise<void>;
}

const nodes: StackNode[] = [];
afterAll(async () => {
  for (const n of nodes) await n.stop();
});

async function startNode(bootstrap: string[]): Promise<StackNode> {
  const logStore = new MemoryLogStore();
  const node = await createNode({
    addressBook: () => AddressBook.open(memoryAddressBookStore()),
    endpoint: (init) => loopbackEndpoint({ ...init, bootstrap }),
    discovery: { config: FAST },
    gossip: { healIntervalMs: 500 },
    sync: { stores: { logStore, topicStore: new MemoryTopicStore() } },
  });
  const { identity, addressBook: book, endpoint, discovery, gossip, sync } = node;
  const stack = {
    identity,
    book,
    endpoint,
    discovery,
    gossip,
    sync,
    logStore,
    stop: () => node.stop(),
  };
  nodes.push(stack);
  return stack;
}

function received(node: StackNode, phase: "sync" | "live", count: number): Promise<unknown> {
  let seen = 0;
  return firstValueFrom(
    node.sync.events$.pipe(
      filter(
        (e): e is SyncEvent =>
          e.type === "sync:operation-received" && e.phase === phase && ++seen >= count,
      ),
      timeout(30_000),
    ),
  );
}

describe("discovery + gossip + sync over libp2p WebSockets", () => {
  it("a late node catches up on 50 operations, then receives new ones live", async () => {
    const bootstrap = await startNode([]);
    const ws = bootstrap.endpoint.addresses().find((a) => transportKind(a) === "websockets");
    expect(ws).toBeDefined();
    const topic = Topic.fromName(`stack-${Math.random()}`);

    const a = await startNode([ws as string]);
    const ha = await a.sync.stream(topic);
    for (let i = 0; i < 50; i++) await ha.publish(new TextEncoder().encode(`a${i}`));

    const b = await startNode([ws as string]);
    const caughtUp = received(b, "sync", 50);
    const hb = await b.sync.stream(topic);
    await caughtUp;
    const stored = await b.logStore.range(a.identity.nodeId, ha.logId);
    expect(stored.map((op) => op.header.seqNum)).toEqual([...Array(50).keys()]);

    const live = received(a, "live", 1);
    const op = await hb.publish(new TextEncoder().encode("hello from b"));
    await live;
    expect((await a.logStore.latest(b.identity.nodeId, hb.logId))?.hash).toEqual(op.hash);
    // The bootstrap took no part in sync: it never subscribed to the topic.
    expect(bootstrap.sync.metrics.sessionsAccepted).toBe(0);
  }, 60_000);
});

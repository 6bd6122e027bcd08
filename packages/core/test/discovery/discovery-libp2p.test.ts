// Discovery over real libp2p: one bootstrap and six nodes, all Node endpoints talking
// WebSockets on loopback, three topics. Every node must learn exactly its co-topic peers.
import { AddressBook, memoryAddressBookStore } from "@p2panda-web/address-book";
import { Identity, Topic, transportKind } from "@p2panda-web/core";
import { DiscoveryService } from "@p2panda-web/core/discovery";
import type { Endpoint } from "@p2panda-web/core/endpoint";
import { createNodeEndpoint } from "@p2panda-web/core/node";
import { filter, firstValueFrom, Subject, timeout } from "rxjs";
import { afterAll, describe, expect, it } from "vitest";

interface Node {
  book: AddressBook;
  endpoint: Endpoint;
  service: DiscoveryService;
  topics: Topic[];
}

const FAST = { backoff: { initialMs: 0, minIncrementMs: 20, maxIncrementMs: 80, maxMs: 400 } };
const nodes: Node[] = [];

async function startNode(topics: Topic[], bootstrap: string[]): Promise<Node> {
  const book = await AddressBook.open(memoryAddressBookStore());
  const identity = await Identity.generate();
  for (const topic of topics) await book.addTopic(identity.nodeId, topic);
  const endpoint = await createNodeEndpoint({
    identity,
    addressBook: book,
    bootstrap,
    allowPrivateAddresses: true,
    tcpPort: false,
    webrtcDirectPort: false,
    relay: false,
  });
  const service = new DiscoveryService({ endpoint, addressBook: book, config: FAST });
  const node = { book, endpoint, service, topics };
  nodes.push(node);
  return node;
}

afterAll(async () => {
  for (const node of nodes) {
    await node.service.stop();
    await node.endpoint.stop();
    await node.book.close();
  }
});

describe("discovery over libp2p WebSockets", () => {
  it("bootstrap + 6 nodes on 3 topics: each learns all co-topic peers and no other topic", async () => {
    const bootstrap = await startNode([], []);
    const ws = bootstrap.endpoint.addresses().find((a) => transportKind(a) === "websockets");
    expect(ws).toBeDefined();
    const [t1, t2, t3] = [Topic.fromName("a"), Topic.fromName("b"), Topic.fromName("c")];
    const sets = [[t1], [t1, t2], [t2], [t2, t3], [t3], [t3, t1]] as Topic[][];
    const peers: Node[] = [];
    for (const topics of sets) peers.push(await startNode(topics, [ws as string]));

    const converged = () =>
      peers.every((a) =>
        peers.every(
          (b) =>
            a === b ||
            a.topics
              .filter((t) => b.topics.includes(t))
              .every((t) => a.book.nodeTopics(b.endpoint.nodeId).has(t)),
        ),
      );
    const ended = new Subject<void>();
    for (const node of nodes) {
      node.service.events$
        .pipe(filter((e) => e.type === "discovery:session-ended"))
        .subscribe(() => ended.next());
      node.service.start();
    }
    await firstValueFrom(ended.pipe(filter(converged), timeout(60_000)));

    for (const a of peers) {
      for (const b of nodes) {
        if (a === b) continue;
        for (const t of a.book.nodeTopics(b.endpoint.nodeId)) expect(a.topics).toContain(t);
      }
    }
    expect(peers.every((p) => p.service.metrics.successfulSessions > 0)).toBe(true);
  }, 90_000);
});

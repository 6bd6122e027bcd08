// Regression over real libp2p (loopback WebSockets) for the remote crash of issue 11: a
// neighbour names a second identity in a `forward-join`, the victim dials it, and that identity
// answers on the victim's own stream with a map whose `__proto__` key is followed by a byte
// string. Decoded as is, that made an object pass `instanceof Uint8Array` and throw a TypeError
// that escaped the dial as an unhandled rejection and ended the process.
import { AddressBook, memoryAddressBookStore } from "@p2panda-web/address-book";
import { createNodeInfo, Identity, NodeId, ProtocolName, Topic } from "@p2panda-web/core";
import type { Endpoint } from "@p2panda-web/core/endpoint";
import { filter, firstValueFrom, timeout } from "rxjs";
import { afterAll, describe, expect, it } from "vitest";
import { loopbackEndpoint } from "../endpoint/loopback.ts";
import { failOnUnhandledRejections } from "../unhandled-rejections.ts";
import {
  type GossipNode,
  learn,
  startGossipNode,
  stopGossipNodes,
  untilOverlayReady,
} from "./libp2p-cluster.ts";

const topic = Topic.fromName("remote-crash");
const nodes: GossipNode[] = [];
const raw: { endpoint: Endpoint; book: AddressBook }[] = [];
failOnUnhandledRejections();

afterAll(async () => {
  await stopGossipNodes(nodes);
  for (const r of raw) {
    await r.endpoint.stop();
    await r.book.close();
  }
}, 20_000);

/** A bare endpoint (no gossip service): the attacker's identities. */
async function rawNode() {
  const book = await AddressBook.open(memoryAddressBookStore());
  const endpoint = await loopbackEndpoint({
    identity: await Identity.generate(),
    addressBook: book,
  });
  raw.push({ endpoint, book });
  return { endpoint, book };
}

/** `{ "__proto__": bytes }`, as a peer can put it on the wire (an own, enumerable key). */
function protoTrap(bytes: Uint8Array): Record<string, unknown> {
  const trap: Record<string, unknown> = {};
  Object.defineProperty(trap, "__proto__", { value: bytes, enumerable: true });
  return trap;
}

async function publishReaches(from: GossipNode, to: GossipNode, message: string) {
  const hTo = await to.gossip.stream(topic);
  const hFrom = await from.gossip.stream(topic);
  const arrived = firstValueFrom(
    hTo.messages$.pipe(
      filter((m) => new TextDecoder().decode(m.content) === message),
      timeout(5_000),
    ),
  );
  await hFrom.publish(new TextEncoder().encode(message));
  await arrived;
}

describe("a hostile frame on a stream the victim dialled ends only that link", () => {
  it("forward-join to a second identity that answers with a __proto__ trap: refused, no crash", async () => {
    const victim = await startGossipNode();
    const honest = await startGossipNode();
    nodes.push(victim, honest);
    await learn(honest, victim, topic);
    await victim.gossip.stream(topic);
    await honest.gossip.stream(topic);
    await untilOverlayReady([victim, honest], topic, { timeoutMs: 10_000 });

    // The second identity: the victim learns its signed addresses (as discovery would pass
    // them on), and it answers any gossip stream with the trap.
    const second = await rawNode();
    const secondInfo = second.book.nodeInfo(second.endpoint.nodeId)?.transports;
    expect(secondInfo).toBeDefined();
    await victim.book.insertNodeInfo(
      createNodeInfo(second.endpoint.nodeId, { transports: secondInfo }),
    );
    second.endpoint.accept(
      ProtocolName.gossip,
      async (channel) => {
        await channel.send({ topic: protoTrap(new Uint8Array(32)), body: { type: "join" } });
        await channel.receive({ timeoutMs: 5_000 }).catch(() => undefined);
      },
      { receiveTimeoutMs: 0 },
    );

    // The first identity joins the victim's overlay and names the second in a forward-join.
    const first = await rawNode();
    await first.book.insertNodeInfo(
      createNodeInfo(victim.id, { transports: victim.book.nodeInfo(victim.id)?.transports }),
    );
    const refused = firstValueFrom(
      victim.gossip.events$.pipe(
        filter((e) => e.type === "gossip:peer-refused"),
        timeout(10_000),
      ),
    );
    const channel = await first.endpoint.connect(victim.id, ProtocolName.gossip, {
      keepAliveIntervalMs: 1_000,
    });
    const topicBytes = Topic.toBytes(topic);
    await channel.send({ topic: topicBytes, body: { type: "join" } });
    await channel.send({
      topic: topicBytes,
      body: { type: "forward-join", node: NodeId.toBytes(second.endpoint.nodeId), ttl: 0 },
    });

    const event = await refused;
    expect(event).toMatchObject({ node: second.endpoint.nodeId, reason: "malformed-message" });
    expect(victim.gossip.metrics.refusedPeers["malformed-message"]).toBe(1);

    // The victim still serves its honest neighbour, and nothing escaped.
    await publishReaches(honest, victim, "still alive");
  }, 30_000);
});

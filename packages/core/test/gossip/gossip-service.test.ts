import { afterEach, describe, expect, it } from "vitest";
import { encodeCbor } from "../../src/codec/cbor.ts";
import { encodeFrame } from "../../src/codec/framing.ts";
import { framedChannel, memoryDuplexPair } from "../../src/codec/message-channel.ts";
import { GossipMessageTooLargeError, GossipStoppedError } from "../../src/gossip/errors.ts";
import type { GossipHandle } from "../../src/gossip/gossip-service.ts";
import { hash } from "../../src/hash.ts";
import { ProtocolName } from "../../src/ids/network-id.ts";
import { Topic } from "../../src/ids/topic.ts";
import { VirtualRuntime } from "../../src/runtime/runtime.ts";
import { advanceUntil } from "../virtual-time.ts";
import { nodeId } from "./helpers.ts";
import { type ClusterNode, GossipCluster, next, receivedText, text } from "./service-helpers.ts";

const topic = Topic.fromName("gossip-service");
let cluster: GossipCluster;

afterEach(async () => {
  await cluster?.stop();
});

/** `count` nodes on `topic`; every node knows node 0 (a bootstrap) for the topic. */
async function star(count: number): Promise<{ nodes: ClusterNode[]; handles: GossipHandle[] }> {
  cluster = new GossipCluster();
  const nodes: ClusterNode[] = [];
  for (let i = 0; i < count; i++) nodes.push(await cluster.add());
  for (const node of nodes.slice(1)) await cluster.learn(node, nodes[0] as ClusterNode, topic);
  const handles: GossipHandle[] = [];
  for (const node of nodes) handles.push(await node.gossip.stream(topic));
  await Promise.all(handles.map((h) => h.joined()));
  return { nodes, handles };
}

/** Node `a` (with `options`) on `topic`, joined by an honest neighbour `b` that knew it. */
async function withHonestNeighbour(options: Parameters<GossipCluster["add"]>[0]) {
  cluster = new GossipCluster();
  const a = await cluster.add(options);
  const b = await cluster.add();
  await cluster.learn(b, a, topic);
  const ha = await a.gossip.stream(topic);
  const hb = await b.gossip.stream(topic);
  await hb.joined();
  return { a, b, ha, hb };
}

/** Publishes from `from` and resolves with which other handles got it. */
async function broadcastReaches(
  from: GossipHandle,
  to: readonly GossipHandle[],
  message: string,
): Promise<void> {
  const arrivals = to.map((h) => receivedText(h, message));
  await from.publish(text(message));
  await Promise.all(arrivals);
}

describe("gossip service over a memory network (upstream inventory)", () => {
  it("two_peer_gossip: both directions, deliveredBy is the neighbour", async () => {
    const { nodes, handles } = await star(2);
    const [a, b] = handles as [GossipHandle, GossipHandle];
    const atA = receivedText(a, "from b");
    await b.publish(text("from b"));
    expect((await atA).deliveredBy).toBe(nodes[1]?.id);
    const atB = receivedText(b, "from a");
    await a.publish(text("from a"));
    expect((await atB).deliveredBy).toBe(nodes[0]?.id);
  });

  it("joined_and_left_events_are_received", async () => {
    const { nodes, handles } = await star(2);
    const [a, b] = nodes as [ClusterNode, ClusterNode];
    expect(a.events.some((e) => e.type === "gossip:joined")).toBe(true);
    expect(b.events.some((e) => e.type === "gossip:joined")).toBe(true);
    const down = next(a.gossip.events$, (e) => e.type === "gossip:neighbour-down");
    const left = next(b.gossip.events$, (e) => e.type === "gossip:left");
    await handles[1]?.close();
    await left;
    expect(await down).toMatchObject({ node: b.id, topic });
  });

  it("join_without_bootstrap: waits until someone joins us, then gossips", async () => {
    cluster = new GossipCluster();
    const a = await cluster.add();
    const b = await cluster.add();
    const ha = await a.gossip.stream(topic);
    expect(ha.neighbours()).toEqual([]);
    expect(a.book.nodeTopics(a.id).has(topic)).toBe(true);
    await cluster.learn(b, a, topic);
    const hb = await b.gossip.stream(topic);
    await Promise.all([ha.joined(), hb.joined()]);
    await broadcastReaches(ha, [hb], "hello");
  });

  it("third_peer_joins_non_bootstrap and hears everyone", async () => {
    cluster = new GossipCluster();
    const [a, b, c] = [await cluster.add(), await cluster.add(), await cluster.add()];
    await cluster.learn(b, a, topic);
    await cluster.learn(c, b, topic);
    const ha = await a.gossip.stream(topic);
    const hb = await b.gossip.stream(topic);
    await hb.joined();
    const hc = await c.gossip.stream(topic);
    await hc.joined();
    await broadcastReaches(ha, [hb, hc], "from a");
    await broadcastReaches(hc, [ha, hb], "from c");
  });

  it("three_peer_gossip_with_rejoin: a peer that leaves and comes back gets new messages", async () => {
    const { nodes, handles } = await star(3);
    const [ha, hb] = handles as [GossipHandle, GossipHandle, GossipHandle];
    await handles[2]?.close();
    await broadcastReaches(ha, [hb], "while c is away");
    const hc = await (nodes[2] as ClusterNode).gossip.stream(topic);
    await hc.joined();
    const seen: string[] = [];
    hc.messages$.subscribe((m) => seen.push(new TextDecoder().decode(m.content)));
    await broadcastReaches(hb, [ha, hc], "c is back");
    expect(seen).toEqual(["c is back"]);
  });

  it("reports a topic's overlay: the neighbour in the active view and on the broadcast tree", async () => {
    const { nodes } = await star(2);
    const [a, b] = nodes as [ClusterNode, ClusterNode];
    const overlay = b.gossip.overlay(topic);
    expect(overlay?.active).toEqual([a.id]);
    expect(overlay?.passive).not.toContain(a.id);
    // PlumTree starts every new neighbour eager; a neighbour is eager or lazy, never both.
    expect([...(overlay?.eager ?? []), ...(overlay?.lazy ?? [])]).toEqual([a.id]);
    expect(b.gossip.overlay(Topic.fromName("never joined"))).toBeUndefined();
  });

  it("topic_drop_guard / leave_overlay_on_drop: the last handle leaves, not the first", async () => {
    const { nodes, handles } = await star(2);
    const [a, b] = nodes as [ClusterNode, ClusterNode];
    const second = await b.gossip.stream(topic);
    await handles[1]?.close();
    expect(b.gossip.neighbours(topic)).toEqual([a.id]);
    await broadcastReaches(handles[0] as GossipHandle, [second], "still here");
    expect(b.book.nodeTopics(b.id).has(topic)).toBe(true);
    const down = next(a.gossip.events$, (e) => e.type === "gossip:neighbour-down");
    await second.close();
    await down;
    expect(b.gossip.neighbours(topic)).toEqual([]);
    expect(b.gossip.topics).toEqual([]);
    expect(b.book.nodeTopics(b.id).has(topic)).toBe(false);
    await expect(second.publish(text("x"))).rejects.toBeInstanceOf(GossipStoppedError);
  });

  it("a topic the app put in our own topics itself stays there when the last handle closes", async () => {
    cluster = new GossipCluster();
    const a = await cluster.add();
    await a.book.addTopic(a.id, topic);
    const handle = await a.gossip.stream(topic);
    await handle.close();
    expect(a.book.nodeTopics(a.id).has(topic)).toBe(true);
  });

  it("large_message_error: above 4,096 bytes is refused with a typed error", async () => {
    const { handles } = await star(2);
    const [a, b] = handles as [GossipHandle, GossipHandle];
    await expect(a.publish(new Uint8Array(4097))).rejects.toBeInstanceOf(
      GossipMessageTooLargeError,
    );
    const max = new Uint8Array(4096).fill(7);
    const got = next(b.messages$, (m) => m.content.length === 4096);
    await a.publish(max);
    expect((await got).content).toEqual(max);
  });

  it("gossip_and_sync_style topics do not interfere: two topics, separate deliveries", async () => {
    const { nodes, handles } = await star(2);
    const other = Topic.fromName("other");
    const [a, b] = nodes as [ClusterNode, ClusterNode];
    await cluster.learn(b, a, other);
    const oa = await a.gossip.stream(other);
    const ob = await b.gossip.stream(other);
    await ob.joined();
    const wrong: string[] = [];
    (handles[1] as GossipHandle).messages$.subscribe((m) =>
      wrong.push(new TextDecoder().decode(m.content)),
    );
    await broadcastReaches(oa, [ob], "on other");
    expect(wrong).toEqual([]);
  });
});

describe("gossip service: overlays of 8 nodes", () => {
  it("a broadcast reaches all; three nodes fail; the next reaches the other five", async () => {
    const { nodes, handles } = await star(8);
    // Everyone also learns about everyone (as discovery would), so the overlay can heal.
    for (const node of nodes) {
      for (const other of nodes) if (other !== node) await cluster.learn(node, other, topic);
    }
    await broadcastReaches(
      handles[3] as GossipHandle,
      handles.filter((_, i) => i !== 3),
      "one",
    );
    const failed = [0, 5, 6];
    const downs = nodes
      .filter((_, i) => !failed.includes(i))
      .filter((n) => n.gossip.neighbours(topic).some((x) => failed.some((f) => nodes[f]?.id === x)))
      .map((n) => next(n.gossip.events$, (e) => e.type === "gossip:neighbour-down"));
    for (const i of failed) cluster.offline(nodes[i] as ClusterNode);
    await Promise.all(downs);
    const survivors = handles.filter((_, i) => !failed.includes(i));
    // Wait for the survivors' overlay to be connected again (healing through the address book).
    await Promise.all(survivors.map((h) => h.joined()));
    await broadcastReaches(survivors[0] as GossipHandle, survivors.slice(1), "two");
  });

  it("healer: a node that lost every neighbour re-enters through a known node that came back", async () => {
    const runtime = new VirtualRuntime();
    cluster = new GossipCluster({ runtime });
    const [a, b, c] = [await cluster.add(), await cluster.add(), await cluster.add()];
    await cluster.learn(b, a, topic);
    await cluster.learn(b, c, topic);
    cluster.offline(c);
    const ha = await a.gossip.stream(topic);
    const hb = await b.gossip.stream(topic);
    await advanceUntil(runtime, () => hb.neighbours().length > 0);
    expect(hb.neighbours()).toEqual([a.id]);
    const down = next(b.gossip.events$, (e) => e.type === "gossip:neighbour-down");
    await ha.close();
    cluster.offline(a);
    await down;
    expect(hb.neighbours()).toEqual([]);
    // c comes back knowing nobody: only b's healing (its retry of c, whose dials failed) can
    // connect the two.
    cluster.network.setOffline(c.id, false);
    const hc = await c.gossip.stream(topic);
    await runtime.advance(0);
    expect(hc.neighbours()).toEqual([]);
    await advanceUntil(runtime, () => hc.neighbours().includes(b.id));
    await broadcastReaches(hc, [hb], "healed");
  });

  it("healer: a node newly learned for the topic is joined at once", async () => {
    cluster = new GossipCluster();
    const a = await cluster.add({ healIntervalMs: 3_600_000 });
    const b = await cluster.add({ healIntervalMs: 3_600_000 });
    const ha = await a.gossip.stream(topic);
    const hb = await b.gossip.stream(topic);
    expect(ha.neighbours()).toEqual([]);
    // Discovery tells a that b shares the topic.
    await cluster.learn(a, b, topic);
    await Promise.all([ha.joined(), hb.joined()]);
    await broadcastReaches(hb, [ha], "found you");
  });
});

describe("gossip service: co-topic peers (issue 18: every tab joins)", () => {
  it("a known co-topic peer whose dial failed is asked again after 0.5 s, not at the next heal", async () => {
    const runtime = new VirtualRuntime();
    cluster = new GossipCluster({ runtime });
    const a = await cluster.add({ healIntervalMs: 3_600_000 });
    const b = await cluster.add({ healIntervalMs: 3_600_000 });
    cluster.offline(b);
    await cluster.learn(a, b, topic);
    const ha = await a.gossip.stream(topic);
    // The first dial fails (b has no way in yet, as a tab before its relay reservation).
    await expect.poll(() => a.gossip.metrics.dialsFailed).toBe(1);
    cluster.network.setOffline(b.id, false);
    // b knows nobody: only a's retry can connect the two, and it is due 500 ms after the first.
    const hb = await b.gossip.stream(topic);
    await runtime.advance(499);
    expect(ha.neighbours()).toEqual([]);
    await runtime.advance(1);
    await Promise.all([ha.joined(), hb.joined()]);
    expect(runtime.now()).toBe(500);
    expect(ha.neighbours()).toEqual([b.id]);
  });

  it("healNow asks a peer whose retries had grown at once, without waiting out its backoff", async () => {
    const runtime = new VirtualRuntime();
    cluster = new GossipCluster({ runtime });
    const a = await cluster.add({ healIntervalMs: 3_600_000 });
    const b = await cluster.add({ healIntervalMs: 3_600_000 });
    cluster.offline(b);
    await cluster.learn(a, b, topic);
    const ha = await a.gossip.stream(topic);
    // Failed dials at 0, 0.5, 1.5, 3.5 and 7.5 s: the next is due at 15.5 s.
    await runtime.advance(7_500);
    await expect.poll(() => a.gossip.metrics.dialsFailed).toBe(5);
    cluster.network.setOffline(b.id, false);
    const hb = await b.gossip.stream(topic);
    await runtime.advance(100);
    expect(ha.neighbours()).toEqual([]);
    // What lifecycle recovery does when the page comes back.
    a.gossip.healNow();
    await Promise.all([ha.joined(), hb.joined()]);
    expect(runtime.now()).toBe(7_600);
    expect(ha.neighbours()).toEqual([b.id]);
  });

  it("a neighbour is learned as a node of the topic, without a discovery session with it", async () => {
    cluster = new GossipCluster();
    const [a, b, c] = [await cluster.add(), await cluster.add(), await cluster.add()];
    // a and c each know only b (as two tabs that each met b in discovery).
    await cluster.learn(a, b, topic);
    await cluster.learn(c, b, topic);
    const hb = await b.gossip.stream(topic);
    const ha = await a.gossip.stream(topic);
    await ha.joined();
    const hc = await c.gossip.stream(topic);
    // b forwards c's join to a, whose only neighbour is b: a and c become neighbours.
    await expect.poll(() => hc.neighbours().includes(a.id)).toBe(true);
    await expect.poll(() => a.book.nodeTopics(c.id).has(topic)).toBe(true);
    await expect.poll(() => c.book.nodeTopics(a.id).has(topic)).toBe(true);
    expect(hb.neighbours()).toHaveLength(2);
  });
});

describe("gossip service: bad input from a link", () => {
  /** Opens a raw gossip stream from a fake node `evil` to `target` and returns its write side. */
  async function rawLink(target: ClusterNode, evil = nodeId(200)) {
    const channel = await cluster.network.endpoint(evil).connect(target.id, ProtocolName.gossip);
    return { channel, evil };
  }

  async function refused(node: ClusterNode, reason: string) {
    const event = await next(node.gossip.events$, (e) => e.type === "gossip:peer-refused");
    expect(event).toMatchObject({ reason });
    return event;
  }

  it("malformed CBOR, a malformed message and an oversized frame each refuse only that peer", async () => {
    const { nodes, handles } = await star(2);
    const a = nodes[0] as ClusterNode;
    // Each attacker is a fresh node id (a refused one is on cool-down).
    const cases: [string, (send: (bytes: Uint8Array) => Promise<void>) => Promise<void>][] = [
      ["malformed-message", (send) => send(encodeFrame(new Uint8Array([0xff, 0xff])))],
      [
        "malformed-message",
        (send) =>
          send(encodeFrame(encodeCbor({ topic: Topic.toBytes(topic), body: { type: "nope" } }))),
      ],
      ["message-too-large", (send) => send(encodeFrame(new Uint8Array(70_000), 1 << 20))],
    ];
    let n = 201;
    for (const [reason, attack] of cases) {
      const evil = nodeId(n++);
      const [ours, theirs] = memoryDuplexPair();
      // Raw bytes, not CBOR values: hand the gossip handler a stream we write bytes into.
      const handlerChannel = framedChannel(evil, theirs, {
        maxFrameSize: 64 * 1024,
        receiveTimeoutMs: 0,
      });
      const accepted = cluster.network.endpoint(a.id).handlerOf(ProtocolName.gossip);
      void accepted?.handler(handlerChannel);
      const gotRefused = refused(a, reason);
      await attack((bytes) => ours.write(bytes));
      await gotRefused;
    }
    expect(a.gossip.metrics.refusedPeers["malformed-message"]).toBe(2);
    expect(a.gossip.metrics.refusedPeers["message-too-large"]).toBe(1);
    // The overlay between the honest nodes is untouched.
    await broadcastReaches(handles[1] as GossipHandle, [handles[0] as GossipHandle], "still fine");
  });

  it("a flooding peer is disconnected and ignored; honest neighbours still deliver", async () => {
    const { a, ha, hb } = await withHonestNeighbour({
      config: { limits: { rateLimit: { burst: 20, perSecond: 10 } } },
    });
    const { channel, evil } = await rawLink(a);
    const gotRefused = refused(a, "rate-limited");
    const prune = { topic: Topic.toBytes(topic), body: { type: "prune" } };
    for (let i = 0; i < 50; i++) await channel.send(prune).catch(() => {});
    const event = await gotRefused;
    expect(event).toMatchObject({ node: evil });
    expect(a.gossip.metrics.refusedPeers["rate-limited"]).toBe(1);
    // The refused peer cannot open a new link while on cool-down.
    const again = await cluster.network.endpoint(evil).connect(a.id, ProtocolName.gossip);
    await expect(again.receive()).rejects.toThrow();
    expect(a.gossip.metrics.linksRefused).toBeGreaterThanOrEqual(1);
    await broadcastReaches(hb, [ha], "after the flood");
  });

  it("a neighbour that stops reading is dropped once its queue is full; the others still deliver", async () => {
    const { a, ha, hb } = await withHonestNeighbour({ maxQueuedPerLink: 16 });
    // The stalled peer joins, then never reads what we send it.
    const { channel, evil } = await rawLink(a);
    const up = next(a.gossip.events$, (e) => e.type === "gossip:neighbour-up" && e.node === evil);
    await channel.send({ topic: Topic.toBytes(topic), body: { type: "join" } });
    await up;
    const down = next(
      a.gossip.events$,
      (e) => e.type === "gossip:neighbour-down" && e.node === evil,
    );
    // 4 KiB messages: the 256 KiB pipe fills after ~64, then 16 wait and the next one overflows.
    // One message per turn of the event loop, so an honest reader keeps up.
    for (let i = 0; i < 120; i++) {
      await ha.publish(new Uint8Array(4000).fill(i));
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await down;
    expect(a.gossip.metrics.slowPeers).toBe(1);
    expect(ha.neighbours()).not.toContain(evil);
    await broadcastReaches(ha, [hb], "after the stall");
  });

  it("deliveredBy is the link's node: a peer cannot attribute a message to someone else", async () => {
    const { nodes } = await star(2);
    const a = nodes[0] as ClusterNode;
    const { channel, evil } = await rawLink(a);
    const handle = await a.gossip.stream(topic);
    const content = text("I am node 1, honest");
    const got = next(handle.messages$, () => true);
    // The overlay only accepts gossip from neighbours; become one first.
    await channel.send({ topic: Topic.toBytes(topic), body: { type: "join" } });
    await channel.send({
      topic: Topic.toBytes(topic),
      body: { type: "gossip", id: hash(content), content, round: 0 },
    });
    expect((await got).deliveredBy).toBe(evil);
    // A message whose id is not its content's hash is refused (nobody can pre-empt an id).
    const gotRefused = refused(a, "malformed-message");
    await channel.send({
      topic: Topic.toBytes(topic),
      body: { type: "gossip", id: hash(text("other")), content, round: 0 },
    });
    await gotRefused;
  });
});

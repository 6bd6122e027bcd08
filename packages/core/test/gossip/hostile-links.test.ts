// Links a hostile or vanished peer could hold: every gossip stream has a deadline, a crowd of
// cheap identities cannot keep honest peers out, and nothing a remote sends escapes the service.
import { afterEach, describe, expect, it } from "vitest";
import { encodeCbor } from "../../src/codec/cbor.ts";
import { encodeFrame } from "../../src/codec/framing.ts";
import { framedChannel, memoryDuplexPair } from "../../src/codec/message-channel.ts";
import type { GossipHandle } from "../../src/gossip/gossip-service.ts";
import { idleLinks, linkToEvict } from "../../src/gossip/link-policy.ts";
import { ProtocolName } from "../../src/ids/network-id.ts";
import { Topic } from "../../src/ids/topic.ts";
import { nodeId } from "./helpers.ts";
import { GossipCluster, next, receivedText, text } from "./service-helpers.ts";

const topic = Topic.fromName("hostile-links");
const join = { topic: Topic.toBytes(topic), body: { type: "join" } };
let cluster: GossipCluster;

afterEach(async () => {
  await cluster?.stop();
});

/** Node `a` (with service options) on the topic, joined by an honest neighbour `b`. */
async function withHonestNeighbour(service: Parameters<GossipCluster["add"]>[0]) {
  cluster = new GossipCluster();
  const a = await cluster.add(service);
  const b = await cluster.add(service);
  await cluster.learn(b, a, topic);
  const ha = await a.gossip.stream(topic);
  const hb = await b.gossip.stream(topic);
  await hb.joined();
  return { a, b, ha, hb };
}

async function stillDelivers(from: GossipHandle, to: GossipHandle, message: string) {
  const arrived = receivedText(to, message);
  await from.publish(text(message));
  await arrived;
}

describe("link policy (pure): who makes room when the link cap is reached", () => {
  const link = (n: number, lastMessageAt: number, neighbour = false) => ({
    peer: nodeId(n),
    lastMessageAt,
    neighbour,
  });

  it("evicts the non-neighbour quiet for the longest, never an overlay neighbour", () => {
    expect(linkToEvict([link(1, 50), link(2, 10), link(3, 0, true)])).toBe(nodeId(2));
    expect(linkToEvict([link(1, 0, true), link(2, 0, true)])).toBeUndefined();
    expect(linkToEvict([])).toBeUndefined();
  });

  it("closes links no overlay needs once they carried nothing for the idle time", () => {
    const links = [link(1, 0), link(2, 500), link(3, 0, true)];
    expect(idleLinks(links, 1_000, 1_000)).toEqual([nodeId(1)]);
    expect(idleLinks(links, 999, 1_000)).toEqual([]);
  });
});

describe("every gossip stream has a deadline", () => {
  it("an accepted stream that brings no first message in time is closed (it holds no slot)", async () => {
    const { a, ha, hb } = await withHonestNeighbour({ service: { firstMessageTimeoutMs: 100 } });
    const evil = nodeId(200);
    const channel = await cluster.network.endpoint(evil).connect(a.id, ProtocolName.gossip);
    await expect(channel.receive({ timeoutMs: 2_000 })).rejects.toThrow();
    expect(a.gossip.metrics.linksTimedOut).toBe(1);
    // Silence is not misbehaviour: the peer is not on cool-down, only its stream was closed.
    expect(a.gossip.metrics.refusedPeers["malformed-message"]).toBe(0);
    await stillDelivers(hb, ha, "after the silent stream");
  });

  it("a neighbour that goes silent (not even a keep-alive) is dropped after keep-alive + grace", async () => {
    const { a, b, ha, hb } = await withHonestNeighbour({
      service: { keepAliveIntervalMs: 60, linkGraceMs: 60 },
    });
    const evil = nodeId(201);
    // A raw stream with no keep-alives: it joins, then says nothing more.
    const channel = await cluster.network.endpoint(evil).connect(a.id, ProtocolName.gossip, {
      receiveTimeoutMs: 0,
    });
    const up = next(a.gossip.events$, (e) => e.type === "gossip:neighbour-up" && e.node === evil);
    await channel.send(join);
    await up;
    const started = Date.now();
    await next(a.gossip.events$, (e) => e.type === "gossip:neighbour-down" && e.node === evil);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(a.gossip.metrics.linksTimedOut).toBeGreaterThanOrEqual(1);
    // The honest neighbour sends keep-alives on the same settings and stays, quiet as it is.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(ha.neighbours()).toContain(b.id);
    await stillDelivers(ha, hb, "the quiet honest neighbour is still there");
  });

  it("a frame that stalls midway refuses its sender (stalled-mid-frame), whatever the idle deadline", async () => {
    const { a, ha, hb } = await withHonestNeighbour({ service: { frameTimeoutMs: 100 } });
    const evil = nodeId(202);
    const [ours, theirs] = memoryDuplexPair();
    const accepted = cluster.network.endpoint(a.id).handlerOf(ProtocolName.gossip);
    const handled = accepted?.handler(framedChannel(evil, theirs, accepted.options));
    const refused = next(a.gossip.events$, (e) => e.type === "gossip:peer-refused");
    await ours.write(encodeFrame(encodeCbor(join)));
    await ours.write(
      encodeFrame(encodeCbor({ ...join, padding: new Uint8Array(500) })).slice(0, 40),
    );
    expect(await refused).toMatchObject({ node: evil, reason: "stalled-mid-frame" });
    await handled;
    expect(a.gossip.metrics.refusedPeers["stalled-mid-frame"]).toBe(1);
    await stillDelivers(hb, ha, "after the stall");
  });
});

describe("slot exhaustion: cheap identities cannot keep honest peers out", () => {
  it("with every link slot held by idle strangers, an honest node still joins within 5 s", async () => {
    cluster = new GossipCluster();
    const maxLinks = 8;
    const a = await cluster.add({ service: { maxLinks } });
    const ha = await a.gossip.stream(topic);
    // Strangers fill every slot: each sends one well-formed message (for a topic `a` is not in,
    // so it is dropped) and then only keep-alives, forever.
    const elsewhere = { topic: Topic.toBytes(Topic.fromName("elsewhere")), body: { type: "join" } };
    const strangers = [];
    for (let i = 0; i < maxLinks + 4; i++) {
      const channel = await cluster.network
        .endpoint(nodeId(300 + i))
        .connect(a.id, ProtocolName.gossip, { keepAliveIntervalMs: 50 });
      await channel.send(elsewhere).catch(() => {});
      strangers.push(channel);
    }
    expect(a.gossip.metrics.linksAccepted).toBeGreaterThanOrEqual(maxLinks);
    const b = await cluster.add();
    await cluster.learn(b, a, topic);
    const started = Date.now();
    const hb = await b.gossip.stream(topic);
    await hb.joined();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(a.gossip.metrics.linksEvicted).toBeGreaterThanOrEqual(1);
    await stillDelivers(ha, hb, "honest despite the crowd");
    for (const channel of strangers) channel.abort(new Error("test over"));
  });

  it("overlay neighbours are never evicted to make room", async () => {
    const { a, b, ha, hb } = await withHonestNeighbour({ service: { maxLinks: 2 } });
    for (let i = 0; i < 6; i++) {
      const channel = await cluster.network
        .endpoint(nodeId(400 + i))
        .connect(a.id, ProtocolName.gossip);
      await channel.send({ ...join, topic: Topic.toBytes(Topic.fromName("x")) }).catch(() => {});
    }
    expect(ha.neighbours()).toContain(b.id);
    await stillDelivers(hb, ha, "neighbour kept");
    expect(a.gossip.metrics.linksRefused + a.gossip.metrics.linksEvicted).toBeGreaterThan(0);
  });
});

import { describe, expect, it } from "vitest";
import {
  decodeGossipMessage,
  GossipProtocolError,
  GossipSimulator,
} from "../../src/gossip/index.ts";
import { hash } from "../../src/hash.ts";
import { Topic } from "../../src/ids/topic.ts";
import { TestNet, TOPIC } from "./helpers.ts";

const topic = Topic.toBytes(TOPIC);
const id32 = new Uint8Array(32);
const content = new Uint8Array([1, 2, 3]);

function reason(value: unknown, limits = {}): string | undefined {
  try {
    decodeGossipMessage(value, limits);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(GossipProtocolError);
    return (error as GossipProtocolError).reason;
  }
}

describe("decoding: every kind is checked before processing", () => {
  const good = [
    { type: "join" },
    { type: "forward-join", node: id32, ttl: 6 },
    { type: "shuffle", origin: id32, nodes: [id32], ttl: 6 },
    { type: "shuffle-reply", nodes: [] },
    { type: "neighbor", priority: "low" },
    { type: "disconnect", alive: true },
    { type: "gossip", id: hash(content), content, round: 0 },
    { type: "ihave", entries: [[id32, 1]] },
    { type: "graft", id: null, round: 0 },
    { type: "prune" },
  ];

  it("well-formed messages of all ten kinds pass", () => {
    for (const body of good) expect(reason({ topic, body })).toBeUndefined();
  });

  it.each([
    ["not a map", 42],
    ["missing topic", { body: { type: "join" } }],
    ["short topic", { topic: new Uint8Array(31), body: { type: "join" } }],
    ["unknown kind", { topic, body: { type: "hello" } }],
    ["extra field", { topic, body: { type: "prune", x: 1 } }],
    [
      "forward-join: short node id",
      { topic, body: { type: "forward-join", node: new Uint8Array(3), ttl: 1 } },
    ],
    ["forward-join: negative ttl", { topic, body: { type: "forward-join", node: id32, ttl: -1 } }],
    [
      "forward-join: ttl too large",
      { topic, body: { type: "forward-join", node: id32, ttl: 1000 } },
    ],
    [
      "shuffle: node not bytes",
      { topic, body: { type: "shuffle", origin: id32, nodes: ["x"], ttl: 1 } },
    ],
    ["shuffle-reply: nodes not a list", { topic, body: { type: "shuffle-reply", nodes: id32 } }],
    ["neighbor: bad priority", { topic, body: { type: "neighbor", priority: "urgent" } }],
    ["disconnect: alive not boolean", { topic, body: { type: "disconnect", alive: 1 } }],
    [
      "gossip: id is not the hash",
      { topic, body: { type: "gossip", id: id32, content, round: 0 } },
    ],
    [
      "gossip: fractional round",
      { topic, body: { type: "gossip", id: hash(content), content, round: 0.5 } },
    ],
    [
      "gossip: content not bytes",
      { topic, body: { type: "gossip", id: hash(content), content: "abc", round: 0 } },
    ],
    ["ihave: entry not a pair", { topic, body: { type: "ihave", entries: [[id32]] } }],
    ["graft: short id", { topic, body: { type: "graft", id: new Uint8Array(2), round: 0 } }],
  ])("%s → malformed-message", (_, value) => {
    expect(reason(value)).toBe("malformed-message");
  });

  it("oversized content, too many node ids and too many ihave entries have their own reasons", () => {
    const big = new Uint8Array(4097);
    expect(reason({ topic, body: { type: "gossip", id: hash(big), content: big, round: 0 } })).toBe(
      "message-too-large",
    );
    const nodes = Array.from({ length: 17 }, () => id32);
    expect(reason({ topic, body: { type: "shuffle-reply", nodes } })).toBe("too-many-node-ids");
    expect(reason({ topic, body: { type: "shuffle", origin: id32, nodes, ttl: 1 } })).toBe(
      "too-many-node-ids",
    );
    const entries = Array.from({ length: 257 }, () => [id32, 0]);
    expect(reason({ topic, body: { type: "ihave", entries } })).toBe("too-many-ihave-entries");
  });
});

describe("misbehaving peers", () => {
  it("a malformed message disconnects its sender, is counted, and never throws", () => {
    const net = new TestNet(2);
    net.join(0, []);
    net.join(1, [0]);
    net.run(100);
    const out = net.nodes[0]!.handleMessage(
      net.nodes[1]!.me,
      { topic, body: { type: "nope" } },
      200,
    );
    expect(out).toContainEqual(
      expect.objectContaining({ type: "disconnect", peer: net.nodes[1]!.me }),
    );
    expect(net.nodes[0]!.metrics.refusedPeers["malformed-message"]).toBe(1);
    expect(net.neighbours(0)).toEqual([]);
    // On cool-down: further input is dropped unread.
    net.nodes[0]!.handleMessage(net.nodes[1]!.me, { topic, body: { type: "join" } }, 300);
    expect(net.nodes[0]!.metrics.droppedFromRefusedPeer).toBe(1);
    expect(net.neighbours(0)).toEqual([]);
  });

  it("a message for a topic we are not in is dropped and counted", () => {
    const net = new TestNet(2);
    net.join(0, []);
    const other = Topic.toBytes(Topic.fromName("unknown"));
    const out = net.nodes[0]!.handleMessage(
      net.nodes[1]!.me,
      { topic: other, body: { type: "gossip", id: hash(content), content, round: 0 } },
      0,
    );
    expect(out).toEqual([]);
    expect(net.nodes[0]!.metrics.droppedUnknownTopic).toBe(1);
  });

  it("a flooder is disconnected by the rate limit while the overlay stays connected", () => {
    const sim = new GossipSimulator({ nodes: 60, seed: 4 });
    sim.runFor(5_000);
    const flooder = sim.nodes[10]!;
    const victims = sim.neighbours(flooder).map((id) => sim.nodes.find((n) => n.id === id)!);
    expect(victims.length).toBeGreaterThan(0);
    for (const v of victims) {
      for (let i = 0; i < 2_000; i++) {
        const junk = new Uint8Array([i & 255, i >> 8]);
        sim.inject(flooder, v, {
          topic: Topic.toBytes(sim.topic),
          body: { type: "gossip", id: hash(junk), content: junk, round: 0 },
        });
      }
    }
    sim.runFor(2_000);
    for (const v of victims) {
      // Honest neighbours that forwarded the first burst may be cut too; the overlay heals.
      expect(v.state.metrics.refusedPeers["rate-limited"]).toBeGreaterThanOrEqual(1);
      expect(sim.neighbours(v)).not.toContain(flooder.id);
    }
    // The flooder's junk reached at most the burst, and the rest of the overlay still works.
    flooder.alive = false;
    sim.runFor(10_000);
    expect(sim.largestComponentCoverage()).toBe(1);
    const key = sim.broadcast(sim.nodes[0]);
    sim.runFor(5_000);
    expect(sim.report(key).reliability).toBe(1);
  });
});

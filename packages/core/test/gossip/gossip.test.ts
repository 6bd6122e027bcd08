import { describe, expect, it } from "vitest";
import { GossipMessageTooLargeError, GossipTopicNotJoinedError } from "../../src/gossip/index.ts";
import { Topic } from "../../src/ids/topic.ts";
import { TestNet, TOPIC } from "./helpers.ts";

// Upstream gossip test inventory (spec §8), on the sans-IO state with a virtual network.
describe("gossip overlay (upstream inventory)", () => {
  it("joined and neighbour-up events are emitted on both sides", () => {
    const net = new TestNet(2);
    net.join(0, []);
    net.join(1, [0]);
    net.run(100);
    for (const i of [0, 1]) {
      expect(net.eventsOf(i, "gossip:joined")).toHaveLength(1);
      expect(net.eventsOf(i, "gossip:neighbour-up")).toHaveLength(1);
    }
    expect(net.neighbours(0)).toEqual([net.nodes[1]!.me]);
    expect(net.neighbours(1)).toEqual([net.nodes[0]!.me]);
  });

  it("join without bootstrap waits without error until someone joins us", () => {
    const net = new TestNet(2);
    net.join(0, []);
    net.run(1000);
    expect(net.eventsOf(0, "gossip:joined")).toHaveLength(0);
    expect(net.nodes[0]!.topic(TOPIC)?.isActive).toBe(true);
    net.join(1, [0]);
    net.run(100);
    expect(net.eventsOf(0, "gossip:joined")).toHaveLength(1);
  });

  it("two peers gossip both ways; deliveredBy is the link's node", () => {
    const net = new TestNet(2);
    net.join(0, []);
    net.join(1, [0]);
    net.run(100);
    net.broadcast(0, "hello");
    net.broadcast(1, "world");
    net.run(100);
    expect(net.received(1)).toEqual(["hello"]);
    expect(net.received(0)).toEqual(["world"]);
    const ev = net.eventsOf(1, "gossip:received")[0] as { deliveredBy: string; hops: number };
    expect(ev.deliveredBy).toBe(net.nodes[0]!.me);
    expect(ev.hops).toBe(1);
  });

  it("a third peer joins via a non-bootstrap peer and gets messages from everyone", () => {
    const net = new TestNet(3);
    net.join(0, []);
    net.join(1, [0]);
    net.run(100);
    net.join(2, [1]);
    net.run(100);
    net.broadcast(0, "from 0");
    net.run(200);
    expect(net.received(2)).toEqual(["from 0"]);
    net.broadcast(2, "from 2");
    net.run(200);
    expect(net.received(0)).toContain("from 2");
    expect(net.received(1)).toEqual(expect.arrayContaining(["from 0", "from 2"]));
  });

  it("three peers: one leaves and rejoins, and gets messages again (only new ones)", () => {
    const net = new TestNet(3);
    net.join(0, []);
    net.join(1, [0]);
    net.join(2, [0]);
    net.run(200);
    net.broadcast(0, "one");
    net.run(200);
    net.quit(2);
    net.run(200);
    expect(net.nodes[2]!.topics).toEqual([]);
    net.broadcast(0, "two");
    net.run(200);
    net.join(2, [1]);
    net.run(200);
    net.broadcast(1, "three");
    net.run(200);
    expect(net.received(2)).toEqual(["one", "three"]);
    expect(net.received(0)).toContain("three");
  });

  it("quit leaves the overlay: neighbours see neighbour-down, we emit left", () => {
    const net = new TestNet(2);
    net.join(0, []);
    net.join(1, [0]);
    net.run(100);
    net.quit(1);
    net.run(100);
    expect(net.eventsOf(1, "gossip:left")).toHaveLength(1);
    expect(net.eventsOf(0, "gossip:neighbour-down")).toHaveLength(1);
    expect(net.neighbours(0)).toEqual([]);
    // Timers of the left topic are ignored; broadcasting there is refused.
    expect(() => net.broadcast(1, "x")).toThrow(GossipTopicNotJoinedError);
  });

  it("broadcasting more than maxMessageSize throws GossipMessageTooLargeError", () => {
    const net = new TestNet(1, { limits: { maxMessageSize: 16 } });
    net.join(0, []);
    expect(() => net.nodes[0]!.broadcast(TOPIC, new Uint8Array(17), 0)).toThrow(
      GossipMessageTooLargeError,
    );
    expect(() => net.nodes[0]!.broadcast(TOPIC, new Uint8Array(16), 0)).not.toThrow();
  });

  it("topics are independent and a link stays open while another topic needs it", () => {
    const other = Topic.fromName("other");
    const net = new TestNet(2);
    for (const t of [TOPIC, other]) {
      net.join(0, [], t);
      net.join(1, [0], t);
    }
    net.run(100);
    const out = net.nodes[1]!.quit(other, net.scheduler.now());
    expect(out.some((o) => o.type === "disconnect")).toBe(false);
    net.apply(1, out);
    net.run(100);
    net.broadcast(0, "still here");
    net.run(100);
    expect(net.received(1)).toEqual(["still here"]);
  });
});

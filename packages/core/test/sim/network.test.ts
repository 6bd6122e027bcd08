import { describe, expect, it } from "vitest";
import { seededRng } from "../../src/random.ts";
import { SimNetwork } from "../../src/sim/network.ts";

describe("sim network: reachability", () => {
  it("a node is reachable once online and not after it went offline; an unknown one never", () => {
    const net = new SimNetwork(seededRng(1));
    expect(net.canReach("a", "b")).toBe(false);
    net.setOnline("a", true);
    net.setOnline("b", true);
    expect(net.canReach("a", "b")).toBe(true);
    expect(net.onlineCount).toBe(2);
    net.setOnline("b", false);
    expect(net.canReach("a", "b")).toBe(false);
    expect(net.isOnline("b")).toBe(false);
  });

  it("a partition keeps its sides apart (unnamed nodes form one more side) until healed", () => {
    const net = new SimNetwork(seededRng(1));
    for (const id of ["a", "b", "c", "d", "e"]) net.setOnline(id, true);
    net.partition(["a", "b"], ["c"]);
    expect(net.canReach("a", "b")).toBe(true);
    expect(net.canReach("a", "c")).toBe(false);
    expect(net.canReach("c", "a")).toBe(false);
    expect(net.canReach("d", "e")).toBe(true);
    expect(net.canReach("d", "a")).toBe(false);
    expect(net.canReach("c", "d")).toBe(false);
    net.heal();
    expect(net.canReach("a", "c")).toBe(true);
    expect(net.canReach("c", "d")).toBe(true);
  });
});

describe("sim network: latency", () => {
  it("a drawn latency is a whole number of ms in the range, and the range's ends occur", () => {
    const net = new SimNetwork(seededRng(3), { latencyMs: { min: 5, max: 7 } });
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const ms = net.drawLatency();
      expect(Number.isInteger(ms)).toBe(true);
      seen.add(ms);
    }
    expect([...seen].sort()).toEqual([5, 6, 7]);
    expect(net.openDelay(6)).toBe(12);
  });

  it("a link's latency is drawn once and is the same both ways", () => {
    const net = new SimNetwork(seededRng(4), { latencyMs: { min: 10, max: 100 } });
    const ab = net.linkLatency("a", "b");
    expect(ab).toBeGreaterThanOrEqual(10);
    expect(ab).toBeLessThan(100);
    expect(net.linkLatency("b", "a")).toBe(ab);
    expect(net.linkLatency("a", "c")).not.toBe(ab);
  });

  it("the same seed gives the same latencies; defaults are 20–80 ms and a 3 s dial failure", () => {
    const draw = (seed: number) => {
      const net = new SimNetwork(seededRng(seed));
      return [net.drawLatency(), net.drawLatency(), net.linkLatency("x", "y")];
    };
    expect(draw(9)).toEqual(draw(9));
    expect(draw(9)).not.toEqual(draw(10));
    const net = new SimNetwork(seededRng(1));
    expect(net.latencyMs).toEqual({ min: 20, max: 80 });
    expect(net.dialFailMs).toBe(3_000);
  });
});

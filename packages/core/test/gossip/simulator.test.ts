import { describe, expect, it } from "vitest";
import { GossipSimulator } from "../../src/gossip/index.ts";

describe("gossip simulator at 1,000 nodes", () => {
  it("a broadcast reaches every node; after 20 % fail, later broadcasts reach all survivors", () => {
    const sim = new GossipSimulator({ nodes: 1000, seed: 2 });
    sim.runFor(20_000);
    expect(sim.largestComponentCoverage()).toBe(1);
    const first = sim.broadcast();
    sim.runFor(5_000);
    const r = sim.report(first);
    expect(r.reliability).toBe(1);
    // Flooding on the same overlay sends more payloads than the tree.
    const flood = sim.flood(sim.live[0]!);
    expect(flood.reliability).toBe(1);
    const second = sim.broadcast();
    sim.runFor(5_000);
    expect(sim.report(second).rmr).toBeLessThan(flood.rmr);

    const failed = sim.fail(0.2);
    expect(failed).toHaveLength(200);
    // Broadcasts right after the failure drive failure detection and tree repair.
    for (let i = 0; i < 3; i++) {
      sim.broadcast();
      sim.runFor(2_000);
    }
    sim.runFor(30_000);
    for (let i = 0; i < 3; i++) {
      const key = sim.broadcast();
      sim.runFor(5_000);
      const healed = sim.report(key);
      expect(healed.live).toBe(800);
      expect(healed.reliability).toBe(1);
    }
  }, 30_000);
});

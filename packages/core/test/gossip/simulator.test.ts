import { describe, expect, it } from "vitest";
import {
  type BroadcastReport,
  GossipSimulator,
  type SimGossipNode,
} from "../../src/gossip/index.ts";

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

/** Mean of one measure over several broadcasts. */
function mean(reports: readonly BroadcastReport[], measure: "rmr" | "ldh"): number {
  return reports.reduce((sum, r) => sum + r[measure], 0) / reports.length;
}

/** Twenty broadcasts, each given 3 s of virtual time to spread. */
function broadcasts(sim: GossipSimulator, origin?: SimGossipNode): BroadcastReport[] {
  const reports: BroadcastReport[] = [];
  for (let i = 0; i < 20; i++) {
    const key = sim.broadcast(origin);
    sim.runFor(3_000);
    reports.push(sim.report(key));
  }
  return reports;
}

// Fixed bars, as iroh-gossip's simulation tests have, so a change that makes the tree worse
// fails even while it still beats flooding. Measured with these seeds (deterministic): on 500
// nodes after 20 s, flooding has RMR 2.93 and LDH 9. One sender, 20 broadcasts: mean RMR 0.142
// (the first broadcast, which builds the tree, 2.81; the last five 0.008), mean LDH 9.0. Random
// senders, 20 broadcasts: mean RMR 0.698, mean LDH 15.9 (17.25 with the tree optimisation off).
// Those were at iroh-gossip's optimisation threshold of 7 hops; at the default 4: one sender mean
// RMR 0.145 (last five 0.021), mean LDH 9.0; random senders mean RMR 0.131, mean LDH 14.2.
describe("gossip simulator at 500 nodes: broadcasts stay within fixed RMR and LDH bars", () => {
  it("one sender: mean RMR < 0.2 (settled tree < 0.05), mean LDH < 10.5; random senders: mean RMR < 0.8, mean LDH < 17; nothing missed", () => {
    const sim = new GossipSimulator({ nodes: 500, seed: 2 });
    sim.runFor(20_000);
    expect(sim.largestComponentCoverage()).toBe(1);

    const single = broadcasts(sim, sim.live[0]);
    expect(single.every((r) => r.reliability === 1)).toBe(true);
    expect(mean(single, "rmr")).toBeLessThan(0.2);
    expect(mean(single.slice(-5), "rmr")).toBeLessThan(0.05);
    expect(mean(single, "ldh")).toBeLessThan(10.5);

    const random = broadcasts(sim);
    expect(random.every((r) => r.reliability === 1)).toBe(true);
    expect(mean(random, "rmr")).toBeLessThan(0.8);
    expect(mean(random, "ldh")).toBeLessThan(17);
  }, 30_000);
});

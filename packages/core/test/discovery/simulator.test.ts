import { describe, expect, it } from "vitest";
import { DiscoverySimulator, type DiscoverySimulatorOptions } from "../../src/discovery/index.ts";
import type { NodeId } from "../../src/ids/node-id.ts";

const run = (options: DiscoverySimulatorOptions, maxVirtualMs = 3_600_000) =>
  new DiscoverySimulator(options).run({ maxVirtualMs, maxWallMs: 20_000 });

describe("simulator: nodes find each other (peer_discovery_in_network)", () => {
  it("10 nodes, each knowing only the next as bootstrap, all learn about all", () => {
    const sim = new DiscoverySimulator({
      nodes: 10,
      topics: 1,
      topicsPerNode: 1,
      bootstrapTopology: "chain",
      seed: 1,
    });
    const report = sim.run({ maxVirtualMs: 600_000 });
    expect(report.converged).toBe(true);
    for (const node of sim.nodes) expect(node.book.infos.size).toBe(10);
  });

  it("with topic-level convergence every node records every co-topic peer's shared topics", () => {
    const sim = new DiscoverySimulator({
      nodes: 30,
      topics: 3,
      topicsPerNode: 1,
      bootstrapNodes: 2,
      seed: 2,
      convergence: "topics",
    });
    const report = sim.run({ maxVirtualMs: 3_600_000 });
    expect(report.converged).toBe(true);
    for (const node of sim.nodes) {
      for (const other of sim.nodes) {
        if (other === node || ![...node.topics].some((t) => other.topics.has(t))) continue;
        const known = node.book.entries.get(other.id)?.topics;
        expect(known && [...known].every((t) => node.topics.has(t) && other.topics.has(t))).toBe(
          true,
        );
      }
    }
  });

  it("never records a topic it does not have for another node", () => {
    const sim = new DiscoverySimulator({
      nodes: 40,
      topics: 8,
      topicsPerNode: 2,
      bootstrapNodes: 2,
      seed: 3,
    });
    sim.run({ maxVirtualMs: 120_000 });
    for (const node of sim.nodes) {
      for (const [id, entry] of node.book.entries) {
        if (id === node.id) continue;
        for (const t of entry.topics ?? []) expect(node.topics.has(t)).toBe(true);
      }
    }
  });
});

describe("simulator: deterministic for a seed", () => {
  it("replays exactly", () => {
    const options = { nodes: 60, topics: 5, topicsPerNode: 2, bootstrapNodes: 2, seed: 9 };
    const { wallMs: _a, ...first } = run(options);
    const { wallMs: _b, ...second } = run(options);
    expect(first).toEqual(second);
    expect(first.converged).toBe(true);
    expect(first.bytesSentPerNode.median).toBeGreaterThan(0);
  });
});

describe("simulator: churn", () => {
  it("nodes leaving and joining: the nodes online at the end still converge", () => {
    const report = run({
      nodes: 150,
      topics: 5,
      topicsPerNode: 1,
      bootstrapNodes: 3,
      seed: 4,
      churn: { everyMs: 5_000, leave: 5, join: 5, untilMs: 30_000 },
    });
    expect(report.converged).toBe(true);
    expect(report.measuredNodes).toBeGreaterThan(140);
    expect(report.failedSessions).toBeGreaterThan(0);
  });
});

describe("simulator: misbehaving nodes", () => {
  it("forgers are caught, counted, cooled down, never stored; honest nodes converge", () => {
    const sim = new DiscoverySimulator({
      nodes: 100,
      topics: 4,
      topicsPerNode: 1,
      bootstrapNodes: 3,
      seed: 5,
      forgers: 5,
    });
    const report = sim.run({ maxVirtualMs: 3_600_000 });
    expect(report.converged).toBe(true);
    expect(report.misbehavingSessions).toBeGreaterThan(0);
    for (const node of sim.nodes) {
      if (node.forger) continue;
      for (const info of node.book.infos.values())
        expect(info.timestamp).toBeLessThan(Number.MAX_SAFE_INTEGER);
      for (const forger of sim.nodes.filter((n) => n.forger)) {
        // Results of forgers were refused as a whole, so nothing of theirs taught topics.
        expect(node.book.entries.get(forger.id)?.topics?.size ?? 0).toBe(0);
      }
    }
  });
});

describe("simulator: the shared network model", () => {
  it("a partition from the bootstrap node holds everyone back until it heals", () => {
    const sim = new DiscoverySimulator({
      nodes: 30,
      topics: 2,
      topicsPerNode: 1,
      bootstrapNodes: 1,
      seed: 6,
    });
    const bootstrap = sim.nodes[0]?.id as NodeId;
    sim.network.partition([bootstrap]);
    sim.scheduler.schedule(60_000, () => sim.network.heal());
    const report = sim.run({ maxVirtualMs: 3_600_000, maxWallMs: 20_000 });
    expect(report.converged).toBe(true);
    expect(report.failedSessions).toBeGreaterThan(0);
    expect(report.convergenceMs.median).toBeGreaterThan(60_000);
  });

  it("churn with returns: nodes that come back restart discovery and the online ones converge", () => {
    const report = run({
      nodes: 80,
      topics: 4,
      topicsPerNode: 1,
      bootstrapNodes: 2,
      seed: 7,
      churn: { everyMs: 5_000, leave: 6, join: 2, rejoin: 4, untilMs: 30_000 },
    });
    expect(report.converged).toBe(true);
    expect(report.measuredNodes).toBeGreaterThan(60);
  });
});

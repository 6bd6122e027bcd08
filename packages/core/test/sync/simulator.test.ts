// The sync simulator drives the production SyncManager and log sync machines on many nodes in
// virtual time, with nodes going offline and coming back while they write.
import { describe, expect, it } from "vitest";
import { seededRng } from "../../src/random.ts";
import { churnSchedule, PairLatency, percentile } from "../../src/sim/churn-network.ts";
import { SyncSimulator, type SyncSimulatorOptions } from "../../src/sync/simulator.ts";

const small: SyncSimulatorOptions = {
  nodes: 60,
  topics: 2,
  writesPerNode: 2,
  writeWindowMs: 20_000,
  churnWindowMs: 20_000,
  churnFraction: 0.4,
  meanOfflineMs: 4_000,
  meanOnlineMs: 6_000,
  seed: 7,
};

describe("sync simulator", () => {
  it("converges under churn: every node holds every operation of its topic", async () => {
    const sim = await SyncSimulator.create(small);
    const report = sim.run();
    expect(report.offlineEvents).toBeGreaterThan(10);
    expect(report.operations).toBe(120);
    expect(report.missing).toBe(0);
    expect(report.convergedAtMs).toBeDefined();
    expect(report.protocolErrors).toBe(0);
    for (const node of sim.nodes) {
      expect(node.written).toBe(2);
      expect(sim.holdsAll(node)).toBe(true);
    }
    // Each node stored each operation of its topic once, except its own.
    const perTopic = new Map<string, number>();
    for (const node of sim.nodes) perTopic.set(node.topic, (perTopic.get(node.topic) ?? 0) + 2);
    const expected = sim.nodes.reduce((sum, node) => sum + (perTopic.get(node.topic) ?? 0) - 2, 0);
    expect(report.operationsDelivered).toBe(expected);
    // Nodes that were away during writes caught up through sessions, not only live mode.
    expect(report.sessionsStarted).toBeGreaterThan(sim.nodes.length);
    expect(report.deliveryMs.max).toBeGreaterThan(report.deliveryMs.p50);
  });

  it("is deterministic per seed: a failing seed replays exactly", async () => {
    const tiny = { ...small, nodes: 30 };
    const [a, b] = [await SyncSimulator.create(tiny), await SyncSimulator.create(tiny)];
    const { wallMs: _a, ...first } = a.run();
    const { wallMs: _b, ...second } = b.run();
    expect(second).toEqual(first);
    const { wallMs: _c, ...other } = (await SyncSimulator.create({ ...tiny, seed: 8 })).run();
    expect(other).not.toEqual(first);
  });

  it("without churn, every operation reaches every node of its topic live within seconds", async () => {
    const report = (await SyncSimulator.create({ ...small, churnFraction: 0 })).run();
    expect(report.offlineEvents).toBe(0);
    expect(report.missing).toBe(0);
    expect(report.sessionsFailed).toBe(0);
    expect(report.deliveryMs.max).toBeLessThan(2_000);
  });
});

describe("the network model", () => {
  it("draws one latency per pair, the same both ways, within its range", () => {
    const latency = new PairLatency(seededRng(1), 10, { min: 20, max: 80 });
    const ab = latency.between(2, 5);
    expect(latency.between(5, 2)).toBe(ab);
    expect(ab).toBeGreaterThanOrEqual(20);
    expect(ab).toBeLessThan(80);
    expect(latency.between(2, 6)).not.toBe(ab);
  });

  it("churns the asked share of nodes inside the window, and brings each one back", () => {
    const events = churnSchedule(seededRng(3), {
      nodes: 1_000,
      fraction: 0.3,
      windowMs: 60_000,
      meanOnlineMs: 20_000,
      meanOfflineMs: 10_000,
    });
    const churned = new Set(events.map((e) => e.node));
    expect(churned.size).toBeGreaterThan(250);
    expect(churned.size).toBeLessThan(350);
    const online = new Map<number, boolean>();
    for (const e of events) {
      expect(e.at).toBeLessThanOrEqual(60_000);
      expect(online.get(e.node) ?? true).toBe(!e.online);
      online.set(e.node, e.online);
    }
    expect([...online.values()].every((o) => o)).toBe(true);
  });

  it("percentile by nearest rank", () => {
    expect(percentile([5, 1, 4, 2, 3], 50)).toBe(3);
    expect(percentile([5, 1, 4, 2, 3], 100)).toBe(5);
    expect(percentile([5, 1, 4, 2, 3], 0)).toBe(1);
    expect(percentile([], 50)).toBeNaN();
  });
});

import { describe, expect, it } from "vitest";
import { DiscoverySimulator } from "../../src/discovery/index.ts";

describe("simulator at scale", () => {
  it("N = 1,000 converges: every node learns every node sharing one of its topics", () => {
    const report = new DiscoverySimulator({
      nodes: 1000,
      topics: 100,
      topicsPerNode: 1,
      bootstrapNodes: 10,
      seed: 3,
      measureBytes: false,
    }).run({ maxVirtualMs: 3_600_000 });
    expect(report.measuredNodes).toBe(1000);
    expect(report.converged).toBe(true);
    expect(report.sessionsToConverge.median).toBeLessThan(100);
  }, 120_000);
});

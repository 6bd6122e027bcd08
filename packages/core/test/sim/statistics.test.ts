import { describe, expect, it } from "vitest";
import { summarize } from "../../src/sim/statistics.ts";

describe("sim statistics: summarize", () => {
  it("is all zeros for no values", () => {
    expect(summarize([])).toEqual({ median: 0, p95: 0, max: 0, mean: 0 });
  });

  it("takes percentiles by rank, without interpolation, whatever the input order", () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(summarize(values)).toEqual({ median: 51, p95: 96, max: 100, mean: 50.5 });
    expect(summarize([3, 1, 2])).toEqual({ median: 2, p95: 3, max: 3, mean: 2 });
  });

  it("leaves its input as it was", () => {
    const values = [3, 1, 2];
    summarize(values);
    expect(values).toEqual([3, 1, 2]);
  });
});

import { describe, expect, it } from "vitest";
import { DelayEstimate } from "../../src/gossip/delay-estimate.ts";

// The estimate behind PlumTree's measured graft timeouts: RFC 6298's smoothed mean and mean
// deviation, a timeout of mean + 4 deviations within bounds, and an expired wait counted as twice
// the wait so the estimate can grow past a timeout that was too short.
describe("DelayEstimate: mean + 4 deviations, within bounds", () => {
  it("unmeasured, the timeout is the lower bound", () => {
    const e = new DelayEstimate();
    expect(e.samples).toBe(0);
    expect(e.timeout(80, 1_000)).toBe(80);
  });

  it("the first sample sets the mean and half of it the deviation: 100 ms gives 300 ms", () => {
    const e = new DelayEstimate();
    e.sample(100);
    expect(e.mean).toBe(100);
    expect(e.timeout(80, 1_000)).toBe(300);
  });

  it("later samples move the mean by 1/8 and the deviation by 1/4 of the difference", () => {
    const e = new DelayEstimate();
    e.sample(100);
    e.sample(200);
    // deviation 50 + (100 − 50) / 4 = 62.5; mean 100 + 100 / 8 = 112.5.
    expect(e.mean).toBe(112.5);
    expect(e.timeout(0, 10_000)).toBe(112.5 + 4 * 62.5);
  });

  it("steady samples bring the timeout down to the delay, not below the lower bound", () => {
    const e = new DelayEstimate();
    for (let i = 0; i < 200; i++) e.sample(50);
    expect(e.timeout(0, 1_000)).toBeCloseTo(50, 3);
    expect(e.timeout(80, 1_000)).toBe(80);
  });

  it("the timeout never exceeds the upper bound", () => {
    const e = new DelayEstimate();
    e.sample(5_000);
    expect(e.timeout(80, 1_000)).toBe(1_000);
  });

  it("an expired wait counts as a sample of twice the wait; negative samples as 0", () => {
    const a = new DelayEstimate();
    a.expired(80);
    expect(a.mean).toBe(160);
    const b = new DelayEstimate();
    b.sample(-5);
    expect(b.mean).toBe(0);
  });
});

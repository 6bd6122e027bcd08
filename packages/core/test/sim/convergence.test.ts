import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.ts";
import { Convergence } from "../../src/sim/convergence.ts";

describe("sim convergence", () => {
  it("a node converges when it learned its last missing peer; its time counts from start", () => {
    const clock = new ManualClock(1_000);
    const converged: string[] = [];
    const c = new Convergence<string>(clock, (n) => converged.push(n));
    c.start();
    c.measure("a", 3, 2);
    c.measure("b", 1, 1);
    expect(c.done).toBe(false);
    clock.advance(500);
    c.learned("a");
    expect(c.isWaiting("a")).toBe(true);
    clock.advance(250);
    c.learned("a");
    expect(c.isWaiting("a")).toBe(false);
    expect(converged).toEqual(["a"]);
    // "a" knew 1 of 3 at the start, so its first peer counts from then; 3 < 5, so knowing all
    // of them is also its 5-peer milestone.
    expect(c.progress("a")).toEqual({
      peers: 3,
      missing: 0,
      convergedAt: 1_750,
      firstAt: 1_000,
      milestoneAt: 1_750,
    });
    // Learning more after convergence changes nothing.
    c.learned("a");
    expect(c.progress("a")?.missing).toBe(0);
    clock.advance(250);
    expect(c.timesToConverge()).toEqual([750, 1_000]);
    expect(c.timesToKnow(1)).toEqual([0, 1_000]);
    expect(c.timesToKnow(5)).toEqual([750, 1_000]);
    c.learned("b");
    expect(c.done).toBe(true);
    expect(c.convergedCount).toBe(2);
    expect(c.measuredCount).toBe(2);
  });

  it("a node missing nobody converges at once; an unmeasured node is ignored", () => {
    const clock = new ManualClock(0);
    const c = new Convergence<string>(clock);
    c.start();
    c.measure("a", 4, 0);
    expect(c.done).toBe(true);
    c.learned("z");
    expect(c.progress("z")).toBeUndefined();
    expect(c.isWaiting("z")).toBe(false);
  });

  it("is not done before it started, even with nothing to measure", () => {
    const c = new Convergence<string>(new ManualClock(0));
    expect(c.done).toBe(false);
    c.start();
    expect(c.done).toBe(true);
  });
});

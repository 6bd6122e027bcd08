import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.ts";
import {
  Backoff,
  DEFAULT_BACKOFF_CONFIG,
  EMPTY_ADDRESS_BOOK_RETRY_MS,
  FREE_UNREACHABLE_STEPS,
  ownTopicsGained,
  ownTransportInfoWarrantsReset,
  RandomWalker,
  successRate,
  WalkerStep,
} from "../../src/discovery/index.ts";
import { type Rng, seededRng } from "../../src/random.ts";
import { nodeId, topic } from "./helpers.ts";

const config = DEFAULT_BACKOFF_CONFIG;

describe("backoff increments by a random 1–5 s up to 30 s (increment)", () => {
  it("starts at the initial value, grows by random steps within range, stops at the ceiling", () => {
    const backoff = new Backoff(seededRng(1), new ManualClock());
    expect(backoff.valueMs).toBe(config.initialMs);
    let last = backoff.valueMs;
    const steps = new Set<number>();
    for (let i = 0; i < 6; i++) {
      backoff.increment();
      const step = backoff.valueMs - last;
      expect(step).toBeGreaterThanOrEqual(config.minIncrementMs);
      expect(step).toBeLessThanOrEqual(config.maxIncrementMs);
      steps.add(step);
      last = backoff.valueMs;
    }
    expect(steps.size).toBeGreaterThan(1);
    for (let i = 0; i < 100; i++) backoff.increment();
    expect(backoff.valueMs).toBe(config.maxMs);
  });
});

describe("backoff resets after a random 60–180 s (reset)", () => {
  it("reset() goes back to the initial value with a new window in range", () => {
    const backoff = new Backoff(seededRng(1), new ManualClock());
    const windows = new Set<number>();
    for (let i = 0; i < 10; i++) {
      backoff.increment();
      backoff.reset();
      expect(backoff.valueMs).toBe(config.initialMs);
      expect(backoff.resetAfterMs).toBeGreaterThanOrEqual(config.minResetAfterMs);
      expect(backoff.resetAfterMs).toBeLessThanOrEqual(config.maxResetAfterMs);
      windows.add(backoff.resetAfterMs);
    }
    expect(windows.size).toBeGreaterThan(5);
  });

  it("an increment resets only once the window has passed", () => {
    const clock = new ManualClock();
    const backoff = new Backoff(seededRng(2), clock);
    const window = backoff.resetAfterMs;
    clock.advance(config.minResetAfterMs - 1_000);
    backoff.increment();
    expect(backoff.valueMs).toBeGreaterThan(0);
    expect(backoff.resetAfterMs).toBe(window);
    clock.advance(config.maxResetAfterMs + 1_000);
    backoff.increment();
    expect(backoff.valueMs).toBe(config.initialMs);
    expect(backoff.resetAfterMs).not.toBe(window);
  });
});

describe("walker step (spec §4.3)", () => {
  const me = nodeId(1);
  const boot = nodeId(2);
  const book = { allNodeIds: [me, boot], bootstrapIds: [boot] };
  const result = (n: number) => ({
    remoteNodeId: boot,
    transportInfos: new Map(Array.from({ length: n }, (_, i) => [nodeId(10 + i), {}] as const)),
    topics: new Set([topic(1)]),
  });
  /** Draws the eager waits at their mean (a draw of 0.5 scales by 1). */
  const middle: Rng = {
    next: () => 0.5,
    int: (n) => Math.floor(n / 2),
    bytes: (n) => new Uint8Array(n),
  };
  const make = (eagerRng: Rng = middle) =>
    new WalkerStep(
      new RandomWalker(me, seededRng(1)),
      new Backoff(seededRng(1), new ManualClock()),
      eagerRng,
    );

  it("success rate: 1 at bootstrap, 0 after a failure, new/received after a session", () => {
    expect(successRate({ kind: "bootstrap" })).toBe(1);
    expect(successRate({ kind: "failed-session" })).toBe(0);
    expect(successRate({ kind: "last-session", result: result(10), newlyLearned: 5 })).toBe(0.5);
    expect(successRate({ kind: "last-session", result: result(0), newlyLearned: 0 })).toBe(0);
  });

  it("Bootstrap: no wait, then a session with the bootstrap node", () => {
    const step = make();
    const wait = step.walkFrom({ kind: "bootstrap" });
    expect(wait).toMatchObject({ type: "wait", ms: 0 });
    expect(step.timerFired((wait as { token: number }).token, book)).toEqual({
      type: "start-session",
      remote: boot,
    });
    expect(step.phase).toBe("in-session");
  });

  it("backs off after unproductive steps and resets after a productive one", () => {
    const step = make();
    step.walkFrom({ kind: "bootstrap" });
    const w1 = step.walkFrom({ kind: "failed-session" });
    const w2 = step.walkFrom({ kind: "last-session", result: result(100), newlyLearned: 1 });
    // Eager at first (0.25 s, then 0.5 s on average), though the upstream backoff grew by 1–5 s
    // each time.
    expect((w1 as { ms: number }).ms).toBe(250);
    expect((w2 as { ms: number }).ms).toBe(500);
    expect(step.backoff.valueMs).toBeGreaterThanOrEqual(2_000);
    expect(
      step.walkFrom({ kind: "last-session", result: result(100), newlyLearned: 2 }),
    ).toMatchObject({ ms: 0 });
  });

  it("a session that found a co-topic peer we did not know as one is productive, whatever it taught", () => {
    const step = make();
    step.walkFrom({ kind: "bootstrap" });
    step.walkFrom({ kind: "failed-session" });
    const found = step.walkFrom({
      kind: "last-session",
      result: result(3),
      newlyLearned: 0,
      newSharedTopics: 1,
    });
    expect(found).toMatchObject({ ms: 0 });
    // A known co-topic peer again, teaching nothing: unproductive as upstream.
    const again = step.walkFrom({
      kind: "last-session",
      result: result(3),
      newlyLearned: 0,
      newSharedTopics: 0,
    });
    expect((again as { ms: number }).ms).toBe(250);
    expect(step.backoff.valueMs).toBeGreaterThanOrEqual(1_000);
  });

  it("eager start: unproductive steps in a row wait 0.25, 0.5, 1, 2 … s on average until upstream's backoff is shorter", () => {
    const step = make();
    step.walkFrom({ kind: "bootstrap" });
    const waits: number[] = [];
    const upstream: number[] = [];
    for (let i = 0; i < 12; i++) {
      waits.push((step.walkFrom({ kind: "failed-session" }) as { ms: number }).ms);
      upstream.push(step.backoff.valueMs);
    }
    expect(waits.slice(0, 4)).toEqual([250, 500, 1_000, 2_000]);
    for (const [i, ms] of waits.entries()) {
      expect(ms).toBe(Math.min(upstream[i] as number, 250 * 2 ** i));
    }
    // By the eighth step upstream's backoff (at most 30 s) rules alone.
    expect(waits.slice(8)).toEqual(upstream.slice(8));
    // A start over (reset signal) begins the eager sequence again.
    step.resetSignal();
    expect(step.walkFrom({ kind: "failed-session" })).toMatchObject({ ms: 250 });
  });

  it("eager start: each wait is drawn uniformly from [0, 2 × its mean), so nodes started together fall out of step", () => {
    const at = (draw: number): Rng => ({ ...middle, next: () => draw });
    const first = (rng: Rng): number => {
      const step = make(rng);
      step.walkFrom({ kind: "bootstrap" });
      return (step.walkFrom({ kind: "failed-session" }) as { ms: number }).ms;
    };
    expect(first(at(0))).toBe(0);
    expect(first(at(0.25))).toBe(125);
    expect(first(at(0.999))).toBe(499);
    // Ten walkers that start together with their own randomness: their first waits differ.
    const waits = Array.from({ length: 10 }, (_, i) => first(seededRng(100 + i)));
    expect(new Set(waits).size).toBeGreaterThan(5);
    for (const ms of waits) expect(ms).toBeLessThan(500);
  });

  it("a node that could not be reached costs no backoff, and keeps the backoff it had", () => {
    const step = make();
    step.walkFrom({ kind: "bootstrap" });
    const before = step.walkFrom({ kind: "failed-session" }) as { ms: number };
    const unreachable = step.walkFrom({ kind: "failed-session", unreachable: true });
    expect(unreachable).toMatchObject({ ms: before.ms });
  });

  it("unreachable nodes in a row are free up to a bound, then each waits as for an empty address book", () => {
    const step = make();
    step.walkFrom({ kind: "bootstrap" });
    const waits: number[] = [];
    for (let i = 0; i < FREE_UNREACHABLE_STEPS + 3; i++) {
      waits.push(
        (step.walkFrom({ kind: "failed-session", unreachable: true }) as { ms: number }).ms,
      );
    }
    expect(waits.slice(0, FREE_UNREACHABLE_STEPS)).toEqual(Array(FREE_UNREACHABLE_STEPS).fill(0));
    expect(waits.slice(FREE_UNREACHABLE_STEPS)).toEqual([
      EMPTY_ADDRESS_BOOK_RETRY_MS,
      EMPTY_ADDRESS_BOOK_RETRY_MS,
      EMPTY_ADDRESS_BOOK_RETRY_MS,
    ]);
    // Any other outcome (here a start over) ends the streak: the next unreachable one is free.
    step.walkFrom({ kind: "bootstrap" });
    expect(step.walkFrom({ kind: "failed-session", unreachable: true })).toMatchObject({ ms: 0 });
  });

  it("an empty address book: retry in 2 s, then start over from Bootstrap", () => {
    const step = make();
    const wait = step.walkFrom({ kind: "bootstrap" }) as { token: number };
    const retry = step.timerFired(wait.token, { allNodeIds: [], bootstrapIds: [] });
    expect(retry).toMatchObject({ type: "retry-later", ms: EMPTY_ADDRESS_BOOK_RETRY_MS });
    const again = step.timerFired((retry as { token: number }).token, book);
    expect(again).toMatchObject({ type: "wait", ms: 0 });
  });

  it("while searching, unproductive steps stay eager (1 s on average) instead of backing off", () => {
    const searching = make();
    const normal = make();
    searching.walkFrom({ kind: "bootstrap" }, true);
    normal.walkFrom({ kind: "bootstrap" });
    const waits = (step: WalkerStep, flag: boolean) =>
      Array.from(
        { length: 10 },
        () => (step.walkFrom({ kind: "failed-session" }, flag) as { ms: number }).ms,
      );
    // 0.25, 0.5, then 1 s at the mean draw, for as long as the node searches …
    expect(waits(searching, true)).toEqual([
      250, 500, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000,
    ]);
    // … where the upstream backoff takes over after a few steps and grows to 30 s.
    const upstream = waits(normal, false);
    expect(upstream.slice(0, 2)).toEqual([250, 500]);
    expect(Math.max(...upstream)).toBeGreaterThan(10_000);
    // A productive step while searching waits nothing, as always.
    expect(
      searching.walkFrom({ kind: "last-session", result: result(10), newlyLearned: 5 }, true),
    ).toMatchObject({ ms: 0 });
  });

  it("a reset signal cuts a backoff wait short; old timers are ignored", () => {
    const step = make();
    step.walkFrom({ kind: "bootstrap" });
    step.walkFrom({ kind: "failed-session" });
    const long = step.walkFrom({ kind: "failed-session" }) as { token: number; ms: number };
    expect(long.ms).toBeGreaterThan(0);
    const reset = step.resetSignal() as { token: number; ms: number };
    expect(reset).toMatchObject({ type: "wait", ms: 0 });
    expect(step.timerFired(long.token, book)).toBeUndefined();
    expect(step.timerFired(reset.token, book)).toEqual({ type: "start-session", remote: boot });
  });

  it("a reset signal during a session applies when the session ends", () => {
    const step = make();
    const w = step.walkFrom({ kind: "bootstrap" }) as { token: number };
    step.timerFired(w.token, book);
    expect(step.resetSignal()).toBeUndefined();
    expect(step.walkFrom({ kind: "failed-session" })).toMatchObject({ type: "wait", ms: 0 });
  });
});

describe("walker reset rule", () => {
  it("resets when our topic set gains a topic, not on removal", () => {
    expect(ownTopicsGained(new Set([topic(1)]), new Set([topic(1), topic(2)]))).toBe(true);
    expect(ownTopicsGained(new Set([topic(1), topic(2)]), new Set([topic(1)]))).toBe(false);
    expect(ownTopicsGained(new Set([topic(1)]), new Set([topic(1)]))).toBe(false);
    expect(ownTopicsGained(new Set([topic(1)]), new Set([topic(2)]))).toBe(true);
  });

  it("resets when our transport info changes to a non-empty value", () => {
    expect(ownTransportInfoWarrantsReset({ addresses: [] })).toBe(true);
    expect(ownTransportInfoWarrantsReset(undefined)).toBe(false);
    expect(ownTransportInfoWarrantsReset(null)).toBe(false);
  });
});

import {
  DecodeError,
  HybridClock,
  HybridTimestamp,
  InvalidInputError,
  ManualClock,
} from "@p2panda-web/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

const ts = (p: number, l: number) => new HybridTimestamp(p, l);

describe("hybrid timestamps are totally ordered: physical, then logical", () => {
  it("compares physical first", () => {
    expect(ts(2, 0).compare(ts(1, 99))).toBeGreaterThan(0);
    expect(ts(1, 99).compare(ts(2, 0))).toBeLessThan(0);
  });
  it("compares logical on equal physical", () => {
    expect(ts(5, 2).isAfter(ts(5, 1))).toBe(true);
    expect(ts(5, 1).isAfter(ts(5, 2))).toBe(false);
    expect(ts(5, 1).isAfter(ts(5, 1))).toBe(false);
    expect(ts(5, 1).equals(ts(5, 1))).toBe(true);
    expect(ts(5, 1).compare(ts(5, 1))).toBe(0);
  });
  it("ZERO is the smallest", () => {
    expect(HybridTimestamp.ZERO.equals(ts(0, 0))).toBe(true);
    expect(ts(0, 1).isAfter(HybridTimestamp.ZERO)).toBe(true);
  });
  it("is a total order (antisymmetric, transitive) on arbitrary values", () => {
    const arb = fc.tuple(fc.nat({ max: 5 }), fc.nat({ max: 5 })).map(([p, l]) => ts(p, l));
    fc.assert(
      fc.property(arb, arb, arb, (a, b, c) => {
        expect(Math.sign(a.compare(b)) + Math.sign(b.compare(a))).toBe(0);
        if (a.compare(b) <= 0 && b.compare(c) <= 0) expect(a.compare(c)).toBeLessThanOrEqual(0);
        expect(a.compare(b) === 0).toBe(a.equals(b));
      }),
      { seed: 1 },
    );
  });
  it("refuses negative, fractional and unsafe parts", () => {
    expect(() => ts(-1, 0)).toThrow(InvalidInputError);
    expect(() => ts(1.5, 0)).toThrow(InvalidInputError);
    expect(() => ts(0, Number.MAX_SAFE_INTEGER + 1)).toThrow(InvalidInputError);
  });
});

describe("wire form [physical, logical]", () => {
  it("round-trips", () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat(), (p, l) => {
        const t = ts(p, l);
        expect(t.toWire()).toEqual([p, l]);
        expect(HybridTimestamp.fromWire(t.toWire()).equals(t)).toBe(true);
      }),
      { seed: 2 },
    );
  });
  it("rejects every other shape with DecodeError", () => {
    for (const bad of [
      undefined,
      null,
      1,
      "1,2",
      [],
      [1],
      [1, 2, 3],
      [-1, 0],
      [1, 0.5],
      [1n, 0],
      { 0: 1, 1: 2 },
      [Number.MAX_SAFE_INTEGER + 1, 0],
    ]) {
      expect(() => HybridTimestamp.fromWire(bad), String(bad)).toThrow(DecodeError);
    }
  });
});

describe("HybridClock.now never goes back", () => {
  it("follows the wall clock when it moves forward", () => {
    const wall = new ManualClock(1000);
    const clock = new HybridClock(wall);
    expect(clock.now().toWire()).toEqual([1000, 0]);
    wall.advance(5);
    expect(clock.now().toWire()).toEqual([1005, 0]);
  });
  it("counts logically within one millisecond", () => {
    const clock = new HybridClock(new ManualClock(1000));
    expect(clock.now().toWire()).toEqual([1000, 0]);
    expect(clock.now().toWire()).toEqual([1000, 1]);
    expect(clock.now().toWire()).toEqual([1000, 2]);
  });
  it("keeps increasing when the wall clock jumps back", () => {
    const wall = new ManualClock(1000);
    const clock = new HybridClock(wall);
    const before = clock.now();
    wall.set(10);
    const after = clock.now();
    expect(after.isAfter(before)).toBe(true);
    expect(after.toWire()).toEqual([1000, 1]);
    wall.set(2000);
    expect(clock.now().toWire()).toEqual([2000, 0]);
  });
  it("is strictly increasing under any sequence of wall-clock moves", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -1000, max: 1000 }), { maxLength: 50 }), (moves) => {
        const wall = new ManualClock(5000);
        const clock = new HybridClock(wall);
        let last = clock.now();
        for (const move of moves) {
          wall.advance(move);
          const next = clock.now();
          expect(next.isAfter(last)).toBe(true);
          last = next;
        }
      }),
      { seed: 3 },
    );
  });
  it("defaults to the system clock", () => {
    const t = new HybridClock().now();
    expect(Math.abs(t.physical - Date.now())).toBeLessThan(5000);
  });
});

describe("HybridClock.increment is strictly greater than what it is given", () => {
  it("moves past a timestamp from the future", () => {
    const clock = new HybridClock(new ManualClock(1000));
    const remote = ts(5000, 7);
    expect(clock.increment(remote).toWire()).toEqual([5000, 8]);
    // and the clock stays past it afterwards
    expect(clock.now().toWire()).toEqual([5000, 9]);
  });
  it("uses the wall clock when it is ahead of the previous value", () => {
    const clock = new HybridClock(new ManualClock(1000));
    expect(clock.increment(ts(10, 3)).toWire()).toEqual([1000, 0]);
  });
  it("increments its own previous value even after the wall clock went back", () => {
    const wall = new ManualClock(1000);
    const clock = new HybridClock(wall);
    const first = clock.now();
    wall.set(0);
    const second = clock.increment(first);
    expect(second.isAfter(first)).toBe(true);
  });
  it("holds for arbitrary previous values and clock moves", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: -500, max: 500 }), fc.nat(10_000), fc.nat(5)), {
          maxLength: 40,
        }),
        (steps) => {
          const wall = new ManualClock(5000);
          const clock = new HybridClock(wall);
          let issued = HybridTimestamp.ZERO;
          for (const [move, p, l] of steps) {
            wall.advance(move);
            const previous = ts(p, l);
            const next = clock.increment(previous);
            expect(next.isAfter(previous)).toBe(true);
            expect(next.isAfter(issued)).toBe(true);
            issued = next;
          }
        },
      ),
      { seed: 4 },
    );
  });
});

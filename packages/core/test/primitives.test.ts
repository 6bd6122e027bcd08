import {
  assertBytes,
  bytesEqual,
  compareBytes,
  concatBytes,
  cryptoRng,
  fromHex,
  InvalidInputError,
  ManualClock,
  P2pandaError,
  pick,
  seededRng,
  shuffle,
  systemClock,
  toHex,
  VirtualScheduler,
} from "@p2panda-web/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

describe("bytes helpers", () => {
  it("hex round-trips any bytes, lower case out, either case in", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const hex = toHex(bytes);
        expect(hex).toMatch(/^[0-9a-f]*$/);
        expect(bytesEqual(fromHex(hex), bytes)).toBe(true);
        expect(bytesEqual(fromHex(hex.toUpperCase()), bytes)).toBe(true);
      }),
      { seed: 1 },
    );
  });
  it("fromHex rejects odd length, non-hex and a wrong expected length", () => {
    expect(() => fromHex("abc")).toThrow(InvalidInputError);
    expect(() => fromHex("zz")).toThrow(InvalidInputError);
    expect(() => fromHex("0x00")).toThrow(InvalidInputError);
    expect(() => fromHex("00", 2)).toThrow(InvalidInputError);
    expect(fromHex("0001", 2)).toEqual(new Uint8Array([0, 1]));
  });
  it("compareBytes is lexicographic, shorter prefix first", () => {
    expect(compareBytes(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBeLessThan(0);
    expect(compareBytes(new Uint8Array([2]), new Uint8Array([1, 9]))).toBeGreaterThan(0);
    expect(compareBytes(new Uint8Array([1]), new Uint8Array([1, 0]))).toBeLessThan(0);
    expect(compareBytes(new Uint8Array([1, 0]), new Uint8Array([1, 0]))).toBe(0);
  });
  it("concatBytes and bytesEqual", () => {
    expect(toHex(concatBytes(new Uint8Array([1]), new Uint8Array(), new Uint8Array([2, 3])))).toBe(
      "010203",
    );
    expect(bytesEqual(new Uint8Array([1]), new Uint8Array([1, 0]))).toBe(false);
  });
  it("assertBytes checks type and length", () => {
    expect(() => assertBytes(new Uint8Array(3), 3, "x")).not.toThrow();
    expect(() => assertBytes(new Uint8Array(2), 3, "x")).toThrow(InvalidInputError);
    expect(() => assertBytes([1, 2, 3], 3, "x")).toThrow(InvalidInputError);
  });
  it("InvalidInputError is a P2pandaError with a stable code", () => {
    const error = new InvalidInputError("nope");
    expect(error).toBeInstanceOf(P2pandaError);
    expect(error.code).toBe("INVALID_INPUT");
    expect(error.name).toBe("InvalidInputError");
  });
});

describe("seededRng replays exactly from a seed", () => {
  it("same seed, same sequence; different seed, different sequence", () => {
    const draw = (seed: number) => {
      const rng = seededRng(seed);
      return [rng.next(), rng.int(1000), toHex(rng.bytes(8))];
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
  });
  it("stays in range", () => {
    const rng = seededRng(7);
    for (let i = 0; i < 1000; i++) {
      const x = rng.next();
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
      const n = rng.int(3);
      expect([0, 1, 2]).toContain(n);
    }
  });
  it("is roughly uniform (every bucket of int(10) within 20% of 1000 in 10000 draws)", () => {
    const rng = seededRng(99);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 10_000; i++) counts[rng.int(10)]++;
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(200);
  });
  it("pick and shuffle are deterministic and complete", () => {
    expect(pick(seededRng(1), [])).toBeUndefined();
    const items = [1, 2, 3, 4, 5, 6, 7, 8];
    const a = shuffle(seededRng(5), [...items]);
    expect(a).toEqual(shuffle(seededRng(5), [...items]));
    expect([...a].sort()).toEqual(items);
    expect(items).toContain(pick(seededRng(5), items));
  });
  it("cryptoRng gives fresh bytes and in-range numbers", () => {
    expect(toHex(cryptoRng.bytes(16))).not.toBe(toHex(cryptoRng.bytes(16)));
    const n = cryptoRng.int(5);
    expect(n).toBeGreaterThanOrEqual(0);
    expect(n).toBeLessThan(5);
  });
});

describe("clocks", () => {
  it("ManualClock moves only when told, both ways", () => {
    const clock = new ManualClock(10);
    expect(clock.now()).toBe(10);
    clock.advance(5);
    expect(clock.now()).toBe(15);
    clock.advance(-20);
    expect(clock.now()).toBe(-5);
    clock.set(100);
    expect(clock.now()).toBe(100);
  });
  it("systemClock is Date.now", () => {
    expect(Math.abs(systemClock.now() - Date.now())).toBeLessThan(1000);
  });
});

describe("VirtualScheduler runs events in time order, ties in insertion order", () => {
  it("orders by time then insertion", () => {
    const s = new VirtualScheduler();
    const log: string[] = [];
    s.schedule(10, () => log.push(`b@${s.now()}`));
    s.schedule(5, () => log.push(`a@${s.now()}`));
    s.schedule(10, () => log.push(`c@${s.now()}`));
    s.schedule(0, () => log.push(`z@${s.now()}`));
    expect(s.pending).toBe(4);
    expect(s.run()).toBe(4);
    expect(log).toEqual(["z@0", "a@5", "b@10", "c@10"]);
  });
  it("events scheduled by events are relative to the current virtual time", () => {
    const s = new VirtualScheduler();
    const log: number[] = [];
    s.schedule(3, () => s.schedule(4, () => log.push(s.now())));
    s.run();
    expect(log).toEqual([7]);
  });
  it("run(until) stops before later events and advances time to `until`", () => {
    const s = new VirtualScheduler();
    const log: number[] = [];
    s.schedule(5, () => log.push(5));
    s.schedule(50, () => log.push(50));
    expect(s.run(20)).toBe(1);
    expect(s.now()).toBe(20);
    expect(s.pending).toBe(1);
    s.run();
    expect(log).toEqual([5, 50]);
  });
  it("run stops when `stop` says so", () => {
    const s = new VirtualScheduler();
    let n = 0;
    for (let i = 0; i < 10; i++) s.schedule(i, () => n++);
    s.run(Number.POSITIVE_INFINITY, () => n === 3);
    expect(n).toBe(3);
    expect(s.pending).toBe(7);
  });
  it("matches a sorted order for arbitrary schedules (heap property)", () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 100 }), { maxLength: 200 }), (delays) => {
        const s = new VirtualScheduler();
        const log: [number, number][] = [];
        for (const [i, d] of delays.entries()) {
          s.schedule(d, () => {
            log.push([s.now(), i]);
          });
        }
        s.run();
        const expected = delays.map((d, i) => [d, i] as [number, number]);
        expected.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
        expect(log).toEqual(expected);
      }),
      { seed: 11 },
    );
  });
  it("negative delays run now, not in the past", () => {
    const s = new VirtualScheduler();
    s.schedule(10, () => s.schedule(-5, () => expect(s.now()).toBe(10)));
    s.run();
    expect(s.now()).toBe(10);
  });
});

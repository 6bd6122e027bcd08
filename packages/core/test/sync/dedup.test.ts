import { describe, expect, it } from "vitest";
import { DEFAULT_DEDUP_CAPACITY, DeduplicationBuffer } from "../../src/sync/dedup.ts";

describe("de-dup buffer (upstream dedup.rs)", () => {
  it("insert_items", () => {
    const d = new DeduplicationBuffer<number>(3);
    expect(d.insert(1)).toBe(true);
    expect(d.insert(2)).toBe(true);
    expect(d.insert(3)).toBe(true);
    expect([1, 2, 3].every((i) => d.contains(i))).toBe(true);
  });

  it("insert_ignores_duplicates", () => {
    const d = new DeduplicationBuffer<number>(3);
    expect(d.insert(42)).toBe(true);
    expect(d.insert(42)).toBe(false);
    expect(d.contains(42)).toBe(true);
    expect(d.size).toBe(1);
  });

  it("insert_evicts_when_capacity_reached", () => {
    const d = new DeduplicationBuffer<number>(3);
    d.insert(1);
    d.insert(2);
    d.insert(3);
    d.insert(4);
    expect(d.contains(1)).toBe(false);
    expect([2, 3, 4].every((i) => d.contains(i))).toBe(true);
    expect(d.size).toBe(3);
    // Eviction keeps going oldest-first around the ring.
    d.insert(5);
    d.insert(6);
    expect(d.contains(2) || d.contains(3)).toBe(false);
    expect([4, 5, 6].every((i) => d.contains(i))).toBe(true);
  });

  it("remembers the last 1,024 ids by default", () => {
    const d = new DeduplicationBuffer<number>();
    expect(DEFAULT_DEDUP_CAPACITY).toBe(1024);
    for (let i = 0; i < 1025; i++) d.insert(i);
    expect(d.contains(0)).toBe(false);
    expect(d.contains(1)).toBe(true);
    expect(d.size).toBe(1024);
  });
});

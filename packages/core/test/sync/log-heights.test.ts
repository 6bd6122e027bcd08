import { describe, expect, it } from "vitest";
import type { NodeId } from "../../src/ids/node-id.ts";
import { compareLogHeights, type LogHeight } from "../../src/sync/log-heights.ts";

const ALICE = "00".repeat(32) as NodeId;
const BOB = "01".repeat(32) as NodeId;
const h = (author: NodeId, logId: number, seqNum: number): LogHeight => ({ author, logId, seqNum });

describe("compare(local, remote) (spec §6.2, upstream logs.rs)", () => {
  it("both empty: nothing", () => {
    expect(compareLogHeights([], [])).toEqual([]);
  });

  it("remote empty: everything of every log", () => {
    expect(compareLogHeights([h(ALICE, 1, 5), h(ALICE, 2, 10)], [])).toEqual([
      { author: ALICE, logId: 1, until: 5 },
      { author: ALICE, logId: 2, until: 10 },
    ]);
  });

  it("remote lacks the author: everything of that author", () => {
    expect(compareLogHeights([h(ALICE, 1, 5), h(BOB, 1, 2)], [h(ALICE, 1, 5)])).toEqual([
      { author: BOB, logId: 1, until: 2 },
    ]);
  });

  it("remote lacks a log: all of it", () => {
    expect(compareLogHeights([h(ALICE, 1, 5), h(ALICE, 2, 3)], [h(ALICE, 1, 5)])).toEqual([
      { author: ALICE, logId: 2, until: 3 },
    ]);
  });

  it("remote behind: (remoteHeight, ourHeight]", () => {
    expect(compareLogHeights([h(ALICE, 1, 9)], [h(ALICE, 1, 4)])).toEqual([
      { author: ALICE, logId: 1, after: 4, until: 9 },
    ]);
  });

  it("equal or remote ahead: nothing", () => {
    expect(compareLogHeights([h(ALICE, 1, 4)], [h(ALICE, 1, 4)])).toEqual([]);
    expect(compareLogHeights([h(ALICE, 1, 4)], [h(ALICE, 1, 8)])).toEqual([]);
  });

  it("sorts by author, then log id", () => {
    const ranges = compareLogHeights([h(BOB, 2, 0), h(ALICE, 7, 0), h(BOB, 1, 0)], []);
    expect(ranges.map((r) => [r.author, r.logId])).toEqual([
      [ALICE, 7],
      [BOB, 1],
      [BOB, 2],
    ]);
  });
});

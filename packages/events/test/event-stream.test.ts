import { EventStream, ofType, type P2pEvent } from "@p2panda-web/events";
import { firstValueFrom, toArray } from "rxjs";
import { describe, expect, it } from "vitest";

type E = (P2pEvent<"a:one"> & { n: number }) | P2pEvent<"b:two">;

describe("EventStream", () => {
  it("is hot: a subscriber sees only what comes after it subscribed", async () => {
    const s = new EventStream<E>(() => 42);
    s.emit({ type: "a:one", n: 1 });
    const all = firstValueFrom(s.events$.pipe(toArray()));
    s.emit({ type: "a:one", n: 2 });
    s.complete();
    expect(await all).toEqual([{ type: "a:one", n: 2, at: 42 }]);
  });

  it("keeps an explicit time and ignores emits after completion", async () => {
    const s = new EventStream<E>();
    const all = firstValueFrom(s.events$.pipe(toArray()));
    s.emit({ type: "b:two", at: 7 });
    s.complete();
    s.emit({ type: "b:two", at: 8 });
    s.complete();
    expect(await all).toEqual([{ type: "b:two", at: 7 }]);
    expect(s.closed).toBe(true);
  });

  it("ofType narrows to the given types", async () => {
    const s = new EventStream<E>(() => 0);
    const ones = firstValueFrom(s.events$.pipe(ofType("a:one"), toArray()));
    s.emit({ type: "b:two" });
    s.emit({ type: "a:one", n: 3 });
    s.complete();
    const got = await ones;
    expect(got.map((e) => e.n)).toEqual([3]);
  });
});

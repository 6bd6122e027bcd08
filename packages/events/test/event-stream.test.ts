import { EventStream, ofType, type P2pEvent, stamp, type Unstamped } from "@p2panda-web/events";
import { firstValueFrom, type Observable, toArray } from "rxjs";
import { describe, expect, expectTypeOf, it } from "vitest";

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

  it("where passes on what the predicate keeps, narrows by a type guard, completes with the stream and unsubscribes", async () => {
    const s = new EventStream<E>(() => 0);
    const ones = s.where((e): e is Extract<E, { type: "a:one" }> => e.type === "a:one");
    expectTypeOf(ones).toEqualTypeOf<Observable<Extract<E, { type: "a:one" }>>>();
    const got = firstValueFrom(ones.pipe(toArray()));
    const seen: E[] = [];
    const left = s.where(() => true).subscribe((e) => seen.push(e));
    s.emit({ type: "b:two" });
    s.emit({ type: "a:one", n: 4 });
    left.unsubscribe();
    s.emit({ type: "a:one", n: 5 });
    s.complete();
    expect((await got).map((e) => e.n)).toEqual([4, 5]);
    expect(seen.map((e) => e.type)).toEqual(["b:two", "a:one"]);
  });
});

describe("Unstamped and stamp: an event without its time, and with it", () => {
  it("stamp puts the time on an event that has none and keeps one it has", () => {
    const bare: Unstamped<E> = { type: "a:one", n: 3 };
    expect(stamp<E>(bare, 5)).toEqual({ type: "a:one", n: 3, at: 5 });
    expect(stamp<E>({ type: "b:two", at: 1 }, 5)).toEqual({ type: "b:two", at: 1 });
  });

  it("Unstamped keeps each variant's own fields", () => {
    expectTypeOf<Unstamped<E>>().toEqualTypeOf<
      | (Omit<P2pEvent<"a:one"> & { n: number }, "at"> & { at?: number })
      | (Omit<P2pEvent<"b:two">, "at"> & { at?: number })
    >();
    // @ts-expect-error: a variant's fields do not mix with another's type.
    const wrong: Unstamped<E> = { type: "b:two", n: 1 };
    expect(wrong.type).toBe("b:two");
  });
});

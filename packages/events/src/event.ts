import { filter, type Observable, type OperatorFunction } from "rxjs";

/**
 * Shape shared by every event p2panda-web emits: a `type` discriminant in `namespace:verb` form
 * (e.g. `"discovery:session-ended"`) and the time it happened in milliseconds since the epoch.
 */
export interface P2pEvent<T extends string = string> {
  readonly type: T;
  readonly at: number;
}

/**
 * An event without its time: what a protocol core or a service builds before the time is put
 * on (`at` may be given, e.g. when replaying). Distributes over unions, so each variant keeps
 * its own fields. The one name for this in every package.
 */
export type Unstamped<E extends P2pEvent> = E extends P2pEvent
  ? Omit<E, "at"> & { at?: number }
  : never;

/** `event` with its time: the `at` it carries, or `now` when it has none. */
export function stamp<E extends P2pEvent>(event: Unstamped<E>, now: number): E {
  return { ...event, at: event.at ?? now } as E;
}

/** Narrows a stream of events to the given `type`s. */
export function ofType<E extends P2pEvent, T extends E["type"]>(
  ...types: T[]
): OperatorFunction<E, Extract<E, { type: T }>> {
  const wanted = new Set<string>(types);
  return (source: Observable<E>) =>
    source.pipe(filter((e): e is Extract<E, { type: T }> => wanted.has(e.type)));
}

import { filter, type Observable, type OperatorFunction } from "rxjs";

/**
 * Shape shared by every event p2panda-web emits: a `type` discriminant in `namespace:verb` form
 * (e.g. `"discovery:session-ended"`) and the time it happened in milliseconds since the epoch.
 */
export interface P2pEvent<T extends string = string> {
  readonly type: T;
  readonly at: number;
}

/** Narrows a stream of events to the given `type`s. */
export function ofType<E extends P2pEvent, T extends E["type"]>(
  ...types: T[]
): OperatorFunction<E, Extract<E, { type: T }>> {
  const wanted = new Set<string>(types);
  return (source: Observable<E>) =>
    source.pipe(filter((e): e is Extract<E, { type: T }> => wanted.has(e.type)));
}

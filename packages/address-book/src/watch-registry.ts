import { Observable, type Subscriber } from "rxjs";

/**
 * Subscribers grouped by key (a node id or a topic), so a change only wakes the watchers of what
 * changed. Emissions are synchronous, right after the in-memory state changed.
 */
export class WatchRegistry<K, T> {
  readonly #subscribers = new Map<K, Set<Subscriber<T>>>();
  #completed = false;

  /**
   * An Observable of the changes of `key`. If `current` is given, every new subscriber first
   * receives what it returns.
   */
  observe(key: K, current?: () => T): Observable<T> {
    return new Observable<T>((subscriber) => {
      if (this.#completed) {
        subscriber.complete();
        return;
      }
      let set = this.#subscribers.get(key);
      if (set === undefined) {
        set = new Set();
        this.#subscribers.set(key, set);
      }
      set.add(subscriber);
      if (current !== undefined) subscriber.next(current());
      return () => {
        const subscribers = this.#subscribers.get(key);
        if (subscribers === undefined) return;
        subscribers.delete(subscriber);
        if (subscribers.size === 0) this.#subscribers.delete(key);
      };
    });
  }

  /** Whether anyone watches `key` (lets callers skip building a change nobody will see). */
  watched(key: K): boolean {
    return this.#subscribers.has(key);
  }

  /** Sends `change` to the watchers of `key`. */
  emit(key: K, change: T): void {
    const set = this.#subscribers.get(key);
    if (set === undefined) return;
    for (const subscriber of [...set]) subscriber.next(change);
  }

  /** Completes every watcher, now and for later subscriptions. */
  complete(): void {
    this.#completed = true;
    const all = [...this.#subscribers.values()];
    this.#subscribers.clear();
    for (const set of all) for (const subscriber of set) subscriber.complete();
  }
}

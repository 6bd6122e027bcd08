import { Observable, Subject } from "rxjs";
import { type P2pEvent, stamp, type Unstamped } from "./event.ts";

/**
 * A hot stream of events owned by one service. Subscribers see only what is emitted after they
 * subscribe (state that must not be missed is also readable synchronously from the service).
 * `complete()` ends the stream for every subscriber; emitting after that is a no-op, so a
 * late callback of a stopped service cannot throw.
 */
export class EventStream<E extends P2pEvent> {
  readonly #subject = new Subject<E>();
  readonly #clock: () => number;

  /** @param clock - time source for {@link EventStream.emit}'s `at` field. */
  constructor(clock: () => number = Date.now) {
    this.#clock = clock;
  }

  /** The events, as a hot Observable that completes when the owner stops. */
  get events$(): Observable<E> {
    return this.#subject.asObservable();
  }

  /**
   * The events `keep` accepts (one topic's, say), completing with the stream: `events$` with
   * rxjs' `filter`, without the operator machinery in every browser bundle.
   */
  where<K extends E>(keep: (event: E) => event is K): Observable<K>;
  where(keep: (event: E) => boolean): Observable<E>;
  where(keep: (event: E) => boolean): Observable<E> {
    return new Observable<E>((subscriber) =>
      this.#subject.subscribe({
        next: (event) => {
          if (keep(event)) subscriber.next(event);
        },
        complete: () => subscriber.complete(),
      }),
    );
  }

  /** Whether {@link EventStream.complete} was called. */
  get closed(): boolean {
    return this.#subject.closed || this.#subject.isStopped;
  }

  /** Emits an event, stamping `at` with the current time unless the caller gave one. */
  emit(event: Unstamped<E>): void {
    if (this.closed) return;
    this.#subject.next(stamp<E>(event, event.at ?? this.#clock()));
  }

  /** Completes the stream. Idempotent. */
  complete(): void {
    if (!this.closed) this.#subject.complete();
  }
}

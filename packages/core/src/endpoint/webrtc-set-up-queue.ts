// The browser endpoint's WebRTC set-ups, run one at a time.

/**
 * Runs an endpoint's tab-to-tab WebRTC set-ups one at a time. In the soak, two set-ups running
 * at once in one tab (its two walkers, or a walker and gossip) both stalled in libp2p's "wait
 * for init channel to open" until the address timeout, while one alone takes 0.1–0.7 s.
 *
 * A set-up runs once every set-up queued before it has settled, whether that one connected or
 * failed.
 */
export class WebRtcSetUpQueue {
  #tail: Promise<void> = Promise.resolve();
  #size = 0;
  readonly #onAbandoned: () => void;

  /** @param onAbandoned called for each set-up whose turn came after it was abandoned. */
  constructor(onAbandoned: () => void = () => {}) {
    this.#onAbandoned = onAbandoned;
  }

  /** Set-ups queued or running. */
  get size(): number {
    return this.#size;
  }

  /**
   * Runs `setUp` after every set-up queued before it has settled; settles as it does.
   *
   * `meanwhile`, when given, watches for the connection arriving another way while this set-up
   * waits (the remote dialled us: its own session with us, or a request of ours to dial us that
   * it served late). It gets a signal that aborts when the turn comes, and resolves to that
   * connection or `undefined`. A connection it found is the result at once, and the turn, when
   * it comes, runs nothing: in the 8-tab crowd, sessions failed at their 10 s deadline while
   * waiting here with the remote's own connection open for 3 s. `setUp` still checks for an
   * open connection first (one may arrive in the moment its turn comes). Once `setUp` runs it
   * runs to its end.
   *
   * `abandoned`, when given, aborts once nobody waits for this set-up any more (every session
   * that wanted the connection gave up at its deadline). A set-up abandoned before its turn
   * rejects with the signal's reason when the turn comes, and runs nothing: in 16 tabs on two
   * cores, a tab's queue held set-ups whose sessions had ended long before, and the sessions
   * queued behind them failed at their own deadlines in turn.
   */
  run<T>(
    setUp: () => Promise<T>,
    meanwhile?: (turnCame: AbortSignal) => Promise<T | undefined>,
    abandoned?: AbortSignal,
  ): Promise<T> {
    this.#size++;
    const turnCame = new AbortController();
    let found: { readonly connection: T } | undefined;
    const turn = this.#tail.then(() => {
      turnCame.abort();
      if (found !== undefined) return found.connection;
      if (abandoned?.aborted === true) {
        this.#onAbandoned();
        throw abandoned.reason;
      }
      return setUp();
    });
    const settled = (): void => {
      this.#size--;
    };
    this.#tail = turn.then(settled, settled);
    if (meanwhile === undefined) return turn;
    return meanwhile(turnCame.signal).then(
      (connection) => {
        if (connection === undefined || turnCame.signal.aborted) return turn;
        found = { connection };
        return connection;
      },
      () => turn,
    );
  }
}

/**
 * A set-up of one node's connection, shared by every caller that wants it meanwhile: one caller
 * giving up does not end it for the others. When the last caller that waits with a signal gives
 * up and none waits without one, {@link abandoned} aborts (hand it to
 * {@link WebRtcSetUpQueue.run}) and {@link onAbandoned} runs, so the next caller starts afresh.
 */
export class SharedSetUp<T> {
  /** Aborts once every caller gave up. */
  readonly abandoned = new AbortController();
  #waiters = 0;
  #forever = false;
  #result: Promise<T> | undefined;
  readonly #reason: () => Error;
  readonly #onAbandoned: () => void;

  /**
   * @param reason the error the abandoned set-up rejects with.
   * @param onAbandoned called once, when it is abandoned.
   */
  constructor(reason: () => Error, onAbandoned: () => void = () => {}) {
    this.#reason = reason;
    this.#onAbandoned = onAbandoned;
  }

  /** Sets the set-up's result, once, before the first {@link wait}. */
  start(result: Promise<T>): this {
    this.#result = result;
    return this;
  }

  /** Waits for the result as one of the callers, until `signal` (if any) aborts. */
  async wait(signal?: AbortSignal): Promise<T> {
    const result = this.#result;
    if (result === undefined) throw new Error("SharedSetUp.wait before start");
    if (signal === undefined) {
      this.#forever = true;
      return result;
    }
    this.#waiters++;
    try {
      return await untilAborted(result, signal);
    } finally {
      this.#waiters--;
      if (
        this.#waiters === 0 &&
        !this.#forever &&
        signal.aborted &&
        !this.abandoned.signal.aborted
      ) {
        this.abandoned.abort(this.#reason());
        this.#onAbandoned();
      }
    }
  }
}

/** `promise`, or the signal's reason once it aborts first. */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

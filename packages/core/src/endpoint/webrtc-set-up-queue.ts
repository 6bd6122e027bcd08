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
   */
  run<T>(
    setUp: () => Promise<T>,
    meanwhile?: (turnCame: AbortSignal) => Promise<T | undefined>,
  ): Promise<T> {
    this.#size++;
    const turnCame = new AbortController();
    let found: { readonly connection: T } | undefined;
    const turn = this.#tail.then(() => {
      turnCame.abort();
      return found === undefined ? setUp() : found.connection;
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

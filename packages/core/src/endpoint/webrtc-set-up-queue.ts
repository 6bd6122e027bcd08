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
   * Runs `setUp` after every set-up queued before it has settled; settles as it does. `setUp`
   * checks for an open connection first: the remote may have dialled us while we waited.
   *
   * `skip`, when given, is asked when the turn comes: an error it returns is the result, and
   * nothing runs. The endpoint skips a set-up that waited longer than its dial timeout: every
   * session that wanted it has given up by then. In 16 tabs on two cores, queues held set-ups
   * whose sessions had ended long before, and the sessions queued behind them failed at their
   * own deadlines in turn. Once `setUp` runs it runs to its end.
   */
  run<T>(setUp: () => Promise<T>, skip?: () => Error | undefined): Promise<T> {
    this.#size++;
    const turn = this.#tail.then(() => {
      const skipped = skip?.();
      if (skipped !== undefined) throw skipped;
      return setUp();
    });
    const settled = (): void => {
      this.#size--;
    };
    this.#tail = turn.then(settled, settled);
    return turn;
  }
}

// Liveness pings of every open connection: a peer that stops answering is dropped, one that was
// only slow is not. Used instead of libp2p's connection monitor, which aborts a connection on the
// first ping that times out. On a loaded machine that is often a false alarm: in the soak's run
// of 16 tabs on two cores (load 24) the bootstrap closed 7–12 tab connections in the same second,
// over and over (215 connections opened and closed in 5 minutes), every tab re-dialled, re-reserved
// and lost its sessions each time, and one tab never got a discovery session through at all.
import type { Connection } from "@libp2p/interface";
import { byteStream } from "@libp2p/utils";
import { lateTimerGrace, type ScheduledTimer, type Timers } from "../runtime/timers.ts";

/** libp2p's ping protocol, answered by every libp2p node with the ping service (ours have it). */
export const PING_PROTOCOL = "/ipfs/ping/1.0.0";

/** Bytes of one ping; the remote echoes them. */
const PING_BYTES = 32;

/** How long an answered ping's stream may take to close before it is reset. */
const PING_CLOSE_TIMEOUT_MS = 5_000;

/** What liveness needs of one connection. */
export interface LivenessConnection {
  /** Stable while the connection is open (libp2p's connection id). */
  readonly id: string;
  readonly status: string;
}

/** How often and how patiently connections are pinged. */
export interface LivenessTiming {
  /** Time between the pings of one connection. */
  readonly intervalMs: number;
  /** How long a ping may take before a second one is sent to confirm the peer is gone. */
  readonly timeoutMs: number;
  /** How long the confirming ping may take; a peer that misses it too is dropped. */
  readonly confirmMs: number;
}

/**
 * One ping round trip over a connection, rejecting when it fails or `signal` aborts. A remote
 * that does not speak the ping protocol but answered the negotiation counts as alive.
 */
export type PingOnce<C> = (connection: C, signal: AbortSignal) => Promise<void>;

/**
 * Pings every open connection each `intervalMs`. A ping that times out is not a verdict: first
 * the event loop gets one more turn (a process starved for seconds runs its expired timers before
 * it reads the answers that arrived meanwhile), then, on a connection whose peer has answered
 * before, a second ping is sent; only a peer that misses both is dropped. A vanished peer is thus
 * dropped within interval + timeout + confirm; a connection that never answered and may never have
 * worked, within interval + timeout (as a WebRTC connection whose data channels never open, seen
 * in Node).
 */
export class ConnectionLiveness<C extends LivenessConnection> {
  readonly #timing: LivenessTiming;
  readonly #timers: Timers;
  readonly #connections: () => Iterable<C>;
  readonly #ping: PingOnce<C>;
  readonly #drop: (connection: C, error: Error) => void;
  readonly #missed: () => void;
  readonly #now: () => number;
  readonly #mayNeverHaveWorked: (connection: C) => boolean;
  /** Connections with a ping (or its confirmation) under way: never two at once. */
  readonly #pinging = new Set<string>();
  /** Connections whose peer answered a ping once: only those get a confirming ping. */
  #answered = new Set<string>();
  #heartbeat: ScheduledTimer | undefined;
  #stop = new AbortController();

  /**
   * @param connections the open connections, read at every heartbeat.
   * @param ping one ping round trip.
   * @param drop closes a connection whose peer missed a ping and its confirmation.
   * @param missed called for a ping that missed its deadline but whose confirmation was answered.
   * @param now the clock deadlines are checked against (default `Date.now`).
   * @param mayNeverHaveWorked whether a connection that has not answered yet may be one that
   *   never worked (a WebRTC connection whose data channels never open): such a connection is
   *   dropped at its first missed ping. Any other gets the confirming ping like one that
   *   answered before. Default: every connection.
   */
  constructor(options: {
    timing: LivenessTiming;
    timers: Timers;
    connections: () => Iterable<C>;
    ping: PingOnce<C>;
    drop: (connection: C, error: Error) => void;
    missed?: () => void;
    now?: () => number;
    mayNeverHaveWorked?: (connection: C) => boolean;
  }) {
    this.#timing = options.timing;
    this.#timers = options.timers;
    this.#connections = options.connections;
    this.#ping = options.ping;
    this.#drop = options.drop;
    this.#missed = options.missed ?? (() => {});
    this.#now = options.now ?? Date.now;
    this.#mayNeverHaveWorked = options.mayNeverHaveWorked ?? (() => true);
  }

  start(): void {
    if (this.#heartbeat !== undefined) return;
    this.#stop = new AbortController();
    this.#heartbeat = this.#timers.every(this.#timing.intervalMs, () => {
      const open = new Set<string>();
      for (const connection of this.#connections()) {
        if (connection.status !== "open") continue;
        open.add(connection.id);
        if (this.#pinging.has(connection.id)) continue;
        this.#pinging.add(connection.id);
        this.#check(connection)
          .catch(() => {})
          .finally(() => this.#pinging.delete(connection.id));
      }
      // Forget the connections that closed.
      for (const id of this.#answered) if (!open.has(id)) this.#answered.delete(id);
    });
  }

  stop(): void {
    this.#heartbeat?.cancel();
    this.#heartbeat = undefined;
    this.#stop.abort();
    this.#pinging.clear();
    this.#answered = new Set();
  }

  async #check(connection: C): Promise<void> {
    if (await this.#answers(connection, this.#timing.timeoutMs)) {
      this.#answered.add(connection.id);
      return;
    }
    if (!this.#live(connection)) return;
    // A connection that never answered and may never have worked is dropped at once: it is far
    // more likely one whose data channels do not open than a peer slow the first time.
    const confirm = this.#answered.has(connection.id) || !this.#mayNeverHaveWorked(connection);
    if (confirm && (await this.#answers(connection, this.#timing.confirmMs))) {
      this.#missed();
      return;
    }
    if (!this.#live(connection)) return;
    this.#drop(
      connection,
      new Error(
        confirm
          ? `no answer to two pings (${this.#timing.timeoutMs} ms, then ${this.#timing.confirmMs} ms)`
          : `no answer to its first ping (${this.#timing.timeoutMs} ms)`,
      ),
    );
    this.#answered.delete(connection.id);
  }

  #live(connection: C): boolean {
    return connection.status === "open" && !this.#stop.signal.aborted;
  }

  /**
   * Whether one ping was answered within `ms` (and one more turn of the event loop). A deadline
   * that fires late says our process did not run meanwhile, and the peer's answer may need it
   * to (in a process that holds both ends, the echo too): it is armed again for as long as it
   * was late, at most `ms` more in all. In the 20-node cluster in one process, paused for 3 s of
   * every 3.5 s, connections were dropped 298 times in 116 s, each costing the sessions on it
   * and a new connection.
   */
  #answers(connection: C, ms: number): Promise<boolean> {
    const deadline = new AbortController();
    const signal = AbortSignal.any([deadline.signal, this.#stop.signal]);
    return new Promise<boolean>((resolve) => {
      let settled = false;
      let due = this.#now() + ms;
      let granted = 0;
      const settle = (answered: boolean): void => {
        if (settled) return;
        settled = true;
        timer.cancel();
        resolve(answered);
      };
      const expire = (): void => {
        const more = lateTimerGrace(this.#now() - due, ms, granted);
        if (more > 0) {
          granted += more;
          due = this.#now() + more;
          timer = this.#timers.after(more, expire);
          return;
        }
        // The deadline gives the event loop one more turn before it aborts: what arrived while
        // the process could not run is read first.
        this.#timers.after(0, () => {
          if (settled) return;
          deadline.abort(new Error(`ping not answered within ${ms} ms`));
          settle(false);
        });
      };
      let timer = this.#timers.after(ms, expire);
      this.#ping(connection, signal).then(
        () => settle(true),
        () => settle(false),
      );
    });
  }
}

/**
 * One ping round trip over `connection` (not over whatever connection libp2p would pick for the
 * peer): 32 random bytes out, the same 32 back. A remote without the ping protocol answered the
 * negotiation, so it is there.
 */
export async function pingOverConnection(
  connection: Connection,
  signal: AbortSignal,
): Promise<void> {
  let stream: Awaited<ReturnType<Connection["newStream"]>>;
  try {
    stream = await connection.newStream(PING_PROTOCOL, { signal, runOnLimitedConnection: true });
  } catch (error) {
    if (error instanceof Error && error.name === "UnsupportedProtocolError") return;
    throw error;
  }
  try {
    const bytes = byteStream(stream);
    const sent = crypto.getRandomValues(new Uint8Array(PING_BYTES));
    const [, echo] = await Promise.all([
      bytes.write(sent, { signal }),
      bytes.read({ bytes: PING_BYTES, signal }),
    ]);
    const got = echo.subarray();
    if (got.length !== PING_BYTES || got.some((b, i) => b !== sent[i])) {
      throw new Error("ping answered with other bytes");
    }
  } catch (error) {
    stream.abort(error instanceof Error ? error : new Error(String(error)));
    throw error;
  }
  // The echo was the answer. Closing waits for the remote to close its end too: bounded, so a
  // remote that never does cannot keep our ping streams open.
  stream
    .close({ signal: AbortSignal.timeout(PING_CLOSE_TIMEOUT_MS) })
    .catch((error: unknown) =>
      stream.abort(error instanceof Error ? error : new Error(String(error))),
    );
}

// The decisions of lifecycle recovery, with no DOM, timer or libp2p inside: what a node does when
// its page goes offline, is frozen, hidden or put into the back/forward cache, when it comes
// back, and when its bootstrap connection drops. `LifecycleRecovery` feeds it the page's signals
// and the endpoint's connection events and carries out what it returns.
import type { Unstamped } from "@p2panda-web/events";
import type { NodeId } from "../ids/node-id.ts";
import type { Rng } from "../random.ts";
import type { NodeLifecycleEvent, PauseReason } from "./events.ts";

/** What the page tells us: the browser events of the Page Lifecycle API and the network. */
export type PageSignal =
  /** `offline` / `online` on window (navigator.onLine changed). */
  | { readonly type: "offline" }
  | { readonly type: "online" }
  /** `visibilitychange` on document. */
  | { readonly type: "hidden" }
  | { readonly type: "visible" }
  /** `freeze` / `resume` on document: the page's tasks stop running, then run again. */
  | { readonly type: "frozen" }
  | { readonly type: "resumed" }
  /** `pagehide` / `pageshow` on window; `persisted`: the page goes into / comes from bfcache. */
  | { readonly type: "pagehide"; readonly persisted: boolean }
  | { readonly type: "pageshow"; readonly persisted: boolean };

/** Backoff of the reconnects to a lost bootstrap node. */
export interface ReconnectConfig {
  /** Wait before the first reconnect: short, as a restarting bootstrap is often back at once. */
  readonly firstRetryMs: number;
  /** Each further wait is this many times the last one. */
  readonly factor: number;
  /** Longest wait between two reconnects. */
  readonly maxRetryMs: number;
  /**
   * Each wait is made up to this share longer or shorter at random (with the rng given), so
   * that the tabs of a restarting bootstrap, which all lost it in the same moment, do not all
   * come back in the same moment.
   */
  readonly jitter: number;
  /**
   * A pause (offline, frozen, in the bfcache) at least this long leaves the page's connections
   * presumed dead: the page answered none of the remote's pings meanwhile, and the remote has
   * dropped it while the page may still count the connection open (a frozen tab's WebRTC-direct
   * bootstrap connection was seen to sit "open" for 3.3 s after the resume, the redial handing
   * it back). The resume then replaces its bootstrap connections instead of dialling them.
   */
  readonly staleAfterMs: number;
}

/**
 * Defaults of {@link ReconnectConfig}: 250 ms, growing by half each time (a bootstrap that
 * restarts is back within seconds, and doubling left gaps of 2–4 s right then), at most 30 s,
 * ±20 % at random; connections are presumed dead after a pause of 10 s (libp2p's connection
 * monitor pings every 10 s by default, and gives up on one unanswered).
 */
export const DEFAULT_RECONNECT_CONFIG: ReconnectConfig = Object.freeze({
  firstRetryMs: 250,
  factor: 1.5,
  maxRetryMs: 30_000,
  jitter: 0.2,
  staleAfterMs: 10_000,
});

/** What the state machine is told. */
export type PageLifecycleInput =
  | { readonly type: "signal"; readonly signal: PageSignal }
  /** A direct connection to a bootstrap node opened. */
  | { readonly type: "bootstrap-connected"; readonly node: NodeId }
  /** The last direct connection to a bootstrap node closed. */
  | { readonly type: "bootstrap-lost"; readonly node: NodeId }
  /** A reconnect asked for by `dial-bootstrap` failed. */
  | { readonly type: "bootstrap-dial-failed"; readonly node: NodeId }
  /** The timer set by `set-timer` fired. */
  | { readonly type: "reconnect-due"; readonly node: NodeId };

/** What the state machine asks for. */
export type PageLifecycleOutput =
  /** Stop what cannot run now (walkers and their timers). */
  | { readonly type: "pause" }
  /**
   * Close every connection and refuse new ones, now and synchronously (the page is stored as
   * soon as `pagehide` returns): the page goes into the back/forward cache. Chromium does not
   * cache a page with an open RTCPeerConnection (its reason `rtc`; scripts/bfcache-probe.ts),
   * and it closes the WebSockets of a cached page itself, the close arriving only on return,
   * after the page had already written to the dead socket.
   */
  | { readonly type: "suspend-connections" }
  /** Back from the back/forward cache: let connections through again (before any `recover`). */
  | { readonly type: "resume-connections" }
  /**
   * Run again and catch up: reset the walkers, heal the overlays now (sync follows its
   * neighbours), dial every bootstrap node. `replaceConnections`: the pause lasted
   * {@link ReconnectConfig.staleAfterMs} or longer, so the bootstrap connections that still
   * count as open are closed and dialled anew (a dial would hand the dead one back).
   */
  | { readonly type: "recover"; readonly replaceConnections: boolean }
  /** Dial this bootstrap node now (a reconnect); report a failure as `bootstrap-dial-failed`. */
  | { readonly type: "dial-bootstrap"; readonly node: NodeId }
  /** Feed `reconnect-due` for `node` after `delayMs`, replacing its earlier timer. */
  | { readonly type: "set-timer"; readonly node: NodeId; readonly delayMs: number }
  | { readonly type: "cancel-timer"; readonly node: NodeId }
  | { readonly type: "event"; readonly event: Unstamped<NodeLifecycleEvent> };

interface Reconnect {
  /** Reconnects tried so far (0 until the first fires). */
  attempts: number;
  /** When the bootstrap was lost (or the node resumed without it). */
  since: number;
  /** A timer is set or a dial runs: a second loss report must not start another one. */
  pending: boolean;
}

/**
 * The lifecycle of a node in a page, sans-IO: `handle(input, now)` returns what to do. While
 * paused (offline, frozen, in the bfcache) it asks for no dial; it resumes once every reason is
 * gone, and when the page becomes visible again after being hidden it catches up as well
 * (a hidden tab's timers are throttled for minutes, its connections may have died meanwhile).
 * A lost bootstrap is redialled with backoff while the node runs: first after
 * {@link ReconnectConfig.firstRetryMs}, then longer each time.
 */
export class PageLifecycle {
  readonly config: ReconnectConfig;
  readonly #reasons = new Set<PauseReason>();
  #pausedAt: number | undefined;
  #hiddenAt: number | undefined;
  readonly #lost = new Map<NodeId, Reconnect>();
  readonly #rng: Rng | undefined;

  /**
   * @param initial.online - `false`: the page is offline already (the node starts paused).
   * @param initial.rng - draws the jitter of the waits; without it they are exact.
   */
  constructor(
    config: Partial<ReconnectConfig> = {},
    initial: { online?: boolean; rng?: Rng } = {},
  ) {
    this.config = { ...DEFAULT_RECONNECT_CONFIG, ...config };
    this.#rng = initial.rng;
    if (initial.online === false) this.#reasons.add("offline");
  }

  /** Whether background work is paused now. */
  get paused(): boolean {
    return this.#reasons.size > 0;
  }

  /** Why it is paused (empty while it runs). */
  get pauseReasons(): readonly PauseReason[] {
    return [...this.#reasons];
  }

  /** Bootstrap nodes lost and not connected again yet. */
  get lostBootstraps(): readonly NodeId[] {
    return [...this.#lost.keys()];
  }

  /** The outputs to start with: a node created offline pauses at once. */
  start(now: number): PageLifecycleOutput[] {
    if (!this.paused) return [];
    this.#pausedAt = now;
    return [
      { type: "pause" },
      ...this.pauseReasons.map(
        (reason): PageLifecycleOutput => ({
          type: "event",
          event: { type: "node:paused", reason },
        }),
      ),
    ];
  }

  /** Feeds one page signal or timer at `now`; returns what the driver must do. */
  handle(input: PageLifecycleInput, now: number): PageLifecycleOutput[] {
    switch (input.type) {
      case "signal":
        return this.#signal(input.signal, now);
      case "bootstrap-connected": {
        const lost = this.#lost.get(input.node);
        if (lost === undefined) return [];
        this.#lost.delete(input.node);
        return [
          { type: "cancel-timer", node: input.node },
          {
            type: "event",
            event: {
              type: "node:bootstrap-reconnected",
              node: input.node,
              afterMs: now - lost.since,
            },
          },
        ];
      }
      case "bootstrap-lost": {
        const known = this.#lost.get(input.node);
        if (known?.pending === true) return [];
        const lost = known ?? { attempts: 0, since: now, pending: false };
        this.#lost.set(input.node, lost);
        // While paused nothing is dialled: the resume dials every bootstrap.
        return this.paused ? [] : this.#schedule(input.node, lost);
      }
      case "bootstrap-dial-failed": {
        // Also a dial of the resume to a bootstrap we did not know was gone.
        const lost = this.#lost.get(input.node) ?? { attempts: 0, since: now, pending: false };
        this.#lost.set(input.node, lost);
        lost.pending = false;
        return this.paused ? [] : this.#schedule(input.node, lost);
      }
      case "reconnect-due": {
        const lost = this.#lost.get(input.node);
        if (lost === undefined || this.paused) {
          if (lost !== undefined) lost.pending = false;
          return [];
        }
        lost.attempts++;
        return [{ type: "dial-bootstrap", node: input.node }];
      }
    }
  }

  #schedule(node: NodeId, lost: Reconnect): PageLifecycleOutput[] {
    const { firstRetryMs, factor, maxRetryMs, jitter } = this.config;
    const base = Math.min(maxRetryMs, firstRetryMs * factor ** lost.attempts);
    const spread = this.#rng === undefined ? 0 : (this.#rng.next() * 2 - 1) * jitter;
    const delayMs = Math.round(base * (1 + spread));
    lost.pending = true;
    return [
      { type: "set-timer", node, delayMs },
      {
        type: "event",
        event: {
          type: "node:bootstrap-reconnect-scheduled",
          node,
          attempt: lost.attempts + 1,
          delayMs,
        },
      },
    ];
  }

  #signal(signal: PageSignal, now: number): PageLifecycleOutput[] {
    const wasPaused = this.paused;
    let visibleAgain = false;
    switch (signal.type) {
      case "offline":
        this.#reasons.add("offline");
        break;
      case "online":
        this.#reasons.delete("offline");
        break;
      case "frozen":
        this.#reasons.add("frozen");
        break;
      case "resumed":
        this.#reasons.delete("frozen");
        break;
      case "pagehide":
        if (signal.persisted) this.#reasons.add("bfcache");
        break;
      case "pageshow":
        if (signal.persisted) this.#reasons.delete("bfcache");
        break;
      case "hidden":
        this.#hiddenAt ??= now;
        break;
      case "visible":
        visibleAgain = this.#hiddenAt !== undefined;
        break;
    }
    const out: PageLifecycleOutput[] = [
      {
        type: "event",
        event: { type: "node:page-signal", signal: signal.type, paused: this.paused },
      },
    ];
    if (signal.type === "pagehide" && signal.persisted) {
      out.push({ type: "suspend-connections" });
    }
    if (signal.type === "pageshow" && signal.persisted) {
      out.push({ type: "resume-connections" });
    }
    if (!wasPaused && this.paused) {
      this.#pausedAt = now;
      const reason = this.pauseReasons[0] as PauseReason;
      out.push({ type: "pause" }, { type: "event", event: { type: "node:paused", reason } });
      for (const node of this.#lost.keys()) out.push({ type: "cancel-timer", node });
      for (const lost of this.#lost.values()) lost.pending = false;
    } else if (wasPaused && !this.paused) {
      const reason = pauseReasonOf(signal);
      const pausedMs = now - (this.#pausedAt ?? now);
      this.#pausedAt = undefined;
      this.#hiddenAt = undefined;
      out.push(...this.#recover(reason, pausedMs, now));
    } else if (visibleAgain && !this.paused) {
      const hiddenMs = now - (this.#hiddenAt ?? now);
      this.#hiddenAt = undefined;
      out.push(...this.#recover("visible", hiddenMs, now));
    }
    if (signal.type === "visible") this.#hiddenAt = undefined;
    return out;
  }

  /**
   * Back from a pause: every bootstrap is dialled now (the connections of a frozen or offline
   * page are mostly dead, the remote side having given up on its pings), and those still
   * missing after that dial are redialled with backoff, starting short again.
   */
  #recover(reason: PauseReason | "visible", pausedMs: number, now: number): PageLifecycleOutput[] {
    for (const lost of this.#lost.values()) {
      lost.attempts = 0;
      lost.since = now;
      lost.pending = false;
    }
    // Hidden, the page still ran (throttled) and answered pings: its connections are alive.
    const replaceConnections = reason !== "visible" && pausedMs >= this.config.staleAfterMs;
    return [
      { type: "event", event: { type: "node:resumed", reason, pausedMs } },
      { type: "recover", replaceConnections },
    ];
  }
}

function pauseReasonOf(signal: PageSignal): PauseReason {
  switch (signal.type) {
    case "online":
      return "offline";
    case "resumed":
      return "frozen";
    default:
      return "bfcache";
  }
}

import type { P2pEvent, Unstamped } from "@p2panda-web/events";
import type { Clock } from "../clock.ts";
import { P2pandaError } from "../errors.ts";
import type { NodeId } from "../ids/node-id.ts";
import type { Topic } from "../ids/topic.ts";
import { PeerCoolDown } from "../peer-cool-down.ts";
import type { Rng } from "../random.ts";
import { lateTimerGrace } from "../runtime/timers.ts";
import { Backoff, type BackoffConfig } from "./backoff.ts";
import {
  asDiscoveryError,
  DiscoveryCoolingDownError,
  type DiscoveryFailureReason,
  DiscoveryProtocolError,
  DiscoverySessionLimitError,
  isRemoteFault,
  isUnreachable,
} from "./errors.ts";
import type { DiscoveryResult } from "./psi-handshake.ts";
import { DEFAULT_RESET_PROBABILITY, RandomWalker } from "./random-walker.ts";
import {
  type AddressBookView,
  ownTopicsGained,
  ownTransportInfoWarrantsReset,
  WalkerStep,
  type WalkerStepOutput,
  type WalkFromHere,
} from "./walker-step.ts";

/** Configuration of a {@link DiscoveryManager}. */
export interface DiscoveryManagerConfig {
  /** Number of random walkers. Default 2. */
  walkers: number;
  /** Reset probability of each walker. Default 0.02. */
  resetProbability: number;
  /** A session running longer than this fails with reason `timeout`. Default 10,000 ms. */
  sessionTimeoutMs: number;
  /**
   * Incoming sessions beyond this many at once are refused, unless one of them can be evicted
   * (see `evictIdleAfterMs`). Default 16.
   */
  maxAcceptedSessions: number;
  /**
   * Accepted sessions one remote may run at once; its next one supersedes its oldest (reason
   * `superseded`, not blamed). As many as an honest node has walkers, which may all be at us.
   * Default 2.
   */
  maxAcceptedSessionsPerRemote: number;
  /**
   * Accepted slots that only known peers (those that finished a session with us before, in
   * either role) may take: strangers, however many identities they make, hold at most
   * `maxAcceptedSessions - reservedForKnownPeers` (at least 1) and make room among themselves
   * only. Default 4.
   */
  reservedForKnownPeers: number;
  /**
   * A remote that opened a session must send its first message within this long, or the
   * session fails with `timeout` (its fault: an honest initiator sends at once). `0` turns the
   * check off. Default 2,000 ms.
   */
  firstMessageTimeoutMs: number;
  /**
   * When every accepted slot is taken, a newcomer evicts the accepted session that has waited
   * longest for its remote, provided it waited at least this long; that session fails with
   * `evicted` (the remote's fault: an honest initiator answers each message at once). `0`
   * turns eviction off. Default 1,000 ms.
   */
  evictIdleAfterMs: number;
  /** How long walkers skip a node that misbehaved in a session. Default 300,000 ms (5 min). */
  misbehaviourCooldownMs: number;
  /**
   * How long walkers skip a node whose session failed only by being slow (`timeout`, or
   * `evicted` from a full accept queue). Default 30,000 ms. A browser tab that is busy, in the
   * background or on a slow phone is slow without being hostile: in the 16-tab soak on a loaded
   * machine, tabs put 7–12 honest co-topic peers each on the 5-minute cool-down this way and
   * never met them. Bootstrap nodes: `slowBootstrapCooldownMs`.
   */
  slowPeerCooldownMs: number;
  /**
   * The same for a bootstrap node (the shorter of the two applies). A bootstrap is the one way
   * in, and slow there mostly means busy (a crowd starting at once), not hostile; while it cools
   * down, every walker reset skips it. In the 20-node libp2p cluster on a loaded machine, with
   * 30 s, walkers skipped the bootstrap about 900 times in 150 s while nobody converged.
   * Default 5,000 ms.
   */
  slowBootstrapCooldownMs: number;
  /** Backoff of every walker. Defaults: spec §4.2. */
  backoff: Partial<BackoffConfig>;
  /**
   * Sessions at once, besides the walkers', with nodes a co-topic peer referred to us as members
   * of a topic we share (p2panda-web's addition; `0` ignores referrals). A referral is a hint:
   * the session with the node itself decides, as any other, whether it shares a topic. Each
   * starts at once, without the walkers' backoff, so a node that met one member of a topic meets
   * the others in a few session times instead of the many random steps that finding each of k
   * members by uniform sampling takes (about k·H_k). Default 2.
   */
  referralSessions: number;
  /** Referred nodes waiting for a session; more are dropped (a lying member costs at most this). Default 256. */
  maxPendingReferrals: number;
  /**
   * How long after a start, or after our topics or transport info changed, walkers stay eager
   * while the driver says we are searching ({@link DiscoveryManager.setSearching}: a topic of
   * ours has no other member we know). After it, upstream's backoff rules again, so a node
   * alone in its topic does not keep stepping every second. `0` = never eager for that.
   * Default 60,000 ms.
   */
  searchWindowMs: number;
  /**
   * At a start, only the first walker steps to a bootstrap node; the others wait for its first
   * session and take their first step from its result (p2panda-web's addition). Every walker
   * starting at a bootstrap asks it the same question at the same moment: a node learns nothing
   * from the second answer, and a bootstrap that many nodes start against at once (20 nodes of
   * a test cluster, the tabs of a class) refuses or evicts the surplus and cools the evicted
   * down for `slowPeerCooldownMs`. If the first session fails, the others start from a
   * bootstrap node as usual. Default true.
   */
  sharedFirstStep: boolean;
}

/** Defaults of {@link DiscoveryManagerConfig}. */
export const DEFAULT_DISCOVERY_MANAGER_CONFIG: Readonly<DiscoveryManagerConfig> = {
  walkers: 2,
  resetProbability: DEFAULT_RESET_PROBABILITY,
  sessionTimeoutMs: 10_000,
  maxAcceptedSessions: 16,
  maxAcceptedSessionsPerRemote: 2,
  reservedForKnownPeers: 4,
  firstMessageTimeoutMs: 2_000,
  evictIdleAfterMs: 1_000,
  misbehaviourCooldownMs: 300_000,
  slowPeerCooldownMs: 30_000,
  slowBootstrapCooldownMs: 5_000,
  backoff: {},
  referralSessions: 2,
  maxPendingReferrals: 256,
  searchWindowMs: 60_000,
  sharedFirstStep: true,
};

/** The tolerance of the late-timer rule session timers follow (`lateTimerGrace` in runtime/timers.ts). */
export { LATE_TIMER_TOLERANCE_MS } from "../runtime/timers.ts";

/** How many known peers (see `reservedForKnownPeers`) are remembered; the oldest go first. */
export const KNOWN_PEERS_REMEMBERED = 1_024;

/** Who started a session. */
export type SessionRole = "initiated" | "accepted";

/** Events of the discovery service (spec §4.4), plain values stamped with the manager's clock. */
export type DiscoveryEvent =
  | (P2pEvent<"discovery:session-started"> & {
      readonly role: SessionRole;
      readonly remoteNodeId: NodeId;
    })
  | (P2pEvent<"discovery:session-ended"> & {
      readonly role: SessionRole;
      readonly remoteNodeId: NodeId;
      readonly result: DiscoveryResult;
      readonly newlyLearned: number;
      readonly durationMs: number;
    })
  | (P2pEvent<"discovery:session-failed"> & {
      readonly role: SessionRole;
      readonly remoteNodeId: NodeId;
      readonly durationMs: number;
      readonly reason: DiscoveryFailureReason;
      /** The failure named with its reason; the original error is its `cause`. */
      readonly error: DiscoveryProtocolError;
      /**
       * Whether the remote was blamed: counted as misbehaving and put on cool-down (a bootstrap
       * node that was only slow for a shorter time, see `slowBootstrapCooldownMs`).
       */
      readonly misbehaving: boolean;
    })
  | (P2pEvent<"discovery:session-refused"> & {
      readonly remoteNodeId: NodeId;
      /** `limit`: every slot taken and none could be evicted; `cooling-down`: it misbehaved. */
      readonly why: "limit" | "cooling-down";
      readonly error: DiscoveryRefusalError;
    })
  | (P2pEvent<"discovery:node-skipped"> & {
      readonly remoteNodeId: NodeId;
      readonly why: "stale" | "cooling-down";
    });

/** Why an incoming session was refused. */
export type DiscoveryRefusalError = DiscoverySessionLimitError | DiscoveryCoolingDownError;

/** Counters of a {@link DiscoveryManager}. */
export interface DiscoveryMetrics {
  successfulSessions: number;
  failedSessions: number;
  newlyLearnedTransportInfos: number;
  /** Sessions that failed through the remote's fault. */
  misbehavingSessions: number;
  /** Incoming sessions refused: the cap was reached, or the remote is cooling down. */
  refusedSessions: number;
  /** Failed sessions by reason (`timeout`, `malformed-frame`, `evicted`, …). */
  failuresByReason: Partial<Record<DiscoveryFailureReason, number>>;
  /** Walk steps that skipped a stale or cooling-down node. */
  skippedNodes: number;
  /**
   * Session timeouts that fired late (our process was held up) and were given more time
   * instead of failing the session (see {@link LATE_TIMER_TOLERANCE_MS}).
   */
  deferredTimeouts: number;
}

/** A timer the driver arms for the manager and hands back through `timerFired`. */
export type DiscoveryTimer =
  | { readonly kind: "walker"; readonly walker: number; readonly token: number }
  | { readonly kind: "session"; readonly sessionId: number }
  /** The accepted session's remote must have sent its first message by now. */
  | { readonly kind: "first-message"; readonly sessionId: number };

/** What a {@link DiscoveryManager} asks its driver (the I/O service or the simulator) to do. */
export type DiscoveryOutput =
  /** Call `timerFired(timer, …)` after `delayMs` (walker timers replace earlier ones). */
  | { readonly type: "set-timer"; readonly timer: DiscoveryTimer; readonly delayMs: number }
  /** Open a discovery stream to `remote` and run Alice; report with `sessionEnded`/`sessionFailed`. */
  | {
      readonly type: "initiate-session";
      readonly sessionId: number;
      readonly remote: NodeId;
      /**
       * The walker that took this step (0-based), for UIs that draw walkers; undefined for a
       * session with a referred member (see `referralSessions`).
       */
      readonly walker: number | undefined;
    }
  /** Abort the running session (timed out, evicted, superseded); no report is expected any more. */
  | {
      readonly type: "abort-session";
      readonly sessionId: number;
      readonly error: DiscoveryProtocolError;
    }
  /** Publish this event. */
  | { readonly type: "event"; readonly event: DiscoveryEvent };

/** What the manager reads from the address book when a walker takes a step. */
export interface DiscoveryAddressBookView extends AddressBookView {
  /** Spec §2: last connection attempt failed (bootstrap nodes never are). */
  isStale(id: NodeId): boolean;
}

/** Outcome of {@link DiscoveryManager.acceptSession}. */
export type AcceptDecision =
  | { readonly accepted: true; readonly sessionId: number; readonly outputs: DiscoveryOutput[] }
  | {
      readonly accepted: false;
      readonly error: DiscoveryRefusalError;
      readonly outputs: DiscoveryOutput[];
    };

interface SessionInfo {
  readonly role: SessionRole;
  readonly remote: NodeId;
  readonly startedAt: number;
  readonly walker?: number;
  /** A session with a referred member (see `referralSessions`). */
  readonly referral?: boolean;
  /** When the remote last sent something (a message or its close); `startedAt` before that. */
  lastHeardAt: number;
  /** When the `session` timer is due. */
  sessionDueAt: number;
  /** When the `first-message` timer is due (accepted sessions). */
  firstMessageDueAt: number;
  /** Time granted so far to late timeouts, per timer (see `#deferIfLate`). */
  graceMs: { session: number; "first-message": number };
  heard: boolean;
  /** The handshake is over and we are storing its result: nothing is awaited from the remote. */
  handshakeDone: boolean;
  /**
   * The channel to the remote is open (always, for an accepted session). Until then an
   * initiated session is still dialling: a timeout then is our dial's, not the remote's doing.
   */
  opened: boolean;
}

/**
 * The policy core of discovery (spec §4.4 with the p2panda-web fixes), pure: it runs the
 * walkers, decides which sessions to start and accept, times them out, puts misbehaving nodes
 * on cool-down and counts everything. The driver runs the sessions (PSI over a stream),
 * verifies and stores results, arms timers and publishes events.
 */
export class DiscoveryManager {
  readonly config: Readonly<DiscoveryManagerConfig>;
  readonly myNodeId: NodeId;
  readonly #clock: Clock;
  readonly #steps: WalkerStep[] = [];
  readonly #lastSuccessful: (DiscoveryResult | undefined)[] = [];
  readonly #sessions = new Map<number, SessionInfo>();
  readonly #coolDown: PeerCoolDown;
  /** The bootstrap nodes of the address book, as the walkers last read them. */
  #bootstraps: ReadonlySet<NodeId> = new Set();
  /** Remotes that finished a session with us (either role), for the reserved accepted slots. */
  readonly #knownPeers = new Set<NodeId>();
  /** Referred members waiting for a session, oldest first. */
  readonly #referrals = new Set<NodeId>();
  #referralSessions = 0;
  #searching = false;
  #searchUntil = Number.NEGATIVE_INFINITY;
  /** Walker 0's first session since the start has not ended yet (see `sharedFirstStep`). */
  #leading = false;
  /** Walkers whose first step waits for walker 0's first session. */
  readonly #following = new Set<number>();
  #accepted = 0;
  #nextSessionId = 1;
  #started = false;
  readonly #metrics: DiscoveryMetrics = {
    successfulSessions: 0,
    failedSessions: 0,
    newlyLearnedTransportInfos: 0,
    misbehavingSessions: 0,
    refusedSessions: 0,
    failuresByReason: {},
    skippedNodes: 0,
    deferredTimeouts: 0,
  };

  constructor(options: {
    myNodeId: NodeId;
    rng: Rng;
    clock: Clock;
    config?: Partial<DiscoveryManagerConfig>;
  }) {
    this.config = { ...DEFAULT_DISCOVERY_MANAGER_CONFIG, ...options.config };
    this.myNodeId = options.myNodeId;
    this.#clock = options.clock;
    this.#coolDown = new PeerCoolDown(this.config.misbehaviourCooldownMs);
    for (let i = 0; i < this.config.walkers; i++) {
      const walker = new RandomWalker(options.myNodeId, options.rng, {
        resetProbability: this.config.resetProbability,
      });
      this.#steps.push(
        new WalkerStep(
          walker,
          new Backoff(options.rng, options.clock, this.config.backoff),
          options.rng,
        ),
      );
      this.#lastSuccessful.push(undefined);
    }
  }

  /** A copy of the counters. */
  get metrics(): Readonly<DiscoveryMetrics> {
    return { ...this.#metrics, failuresByReason: { ...this.#metrics.failuresByReason } };
  }

  /** Sessions running now. */
  get runningSessions(): number {
    return this.#sessions.size;
  }

  /** Whether walkers skip `id` now because it misbehaved recently. */
  isCoolingDown(id: NodeId): boolean {
    return this.#coolDown.has(id, this.#clock.now());
  }

  /**
   * The driver tells whether a topic of ours has no other member it knows (address book). While
   * so, within `searchWindowMs` of the start or of the last walker reset, walkers stay eager.
   */
  setSearching(searching: boolean): void {
    this.#searching = searching;
  }

  /** Whether walkers step eagerly now (see {@link setSearching}). */
  get searching(): boolean {
    return this.#searching && this.#clock.now() < this.#searchUntil;
  }

  /** Starts every walker from the bootstrap nodes. Idempotent. */
  start(): DiscoveryOutput[] {
    if (this.#started) return [];
    this.#started = true;
    this.#searchUntil = this.#clock.now() + this.config.searchWindowMs;
    this.#leading = this.config.sharedFirstStep && this.#steps.length > 1;
    return this.#steps.flatMap((step, i) =>
      this.#walkerOutputs(i, step.walkFrom({ kind: "bootstrap" })),
    );
  }

  /** A timer armed through a `set-timer` output fired. Stale timers are ignored. */
  timerFired(timer: DiscoveryTimer, book: DiscoveryAddressBookView): DiscoveryOutput[] {
    if (timer.kind === "session") return this.#timeout(timer.sessionId);
    if (timer.kind === "first-message") return this.#firstMessageTimeout(timer.sessionId);
    const step = this.#steps[timer.walker];
    if (step === undefined) return [];
    if (this.#leading && timer.walker > 0 && step.phase === "waiting") {
      // Its first step comes from walker 0's first result (see `sharedFirstStep`).
      this.#following.add(timer.walker);
      return [];
    }
    const knownPeers = this.#knownPeers;
    this.#bootstraps = new Set(book.bootstrapIds);
    const out = step.timerFired(timer.token, {
      get allNodeIds() {
        return book.allNodeIds;
      },
      get bootstrapIds() {
        return book.bootstrapIds;
      },
      met: (id) => knownPeers.has(id),
    });
    if (out === undefined) return [];
    if (out.type !== "start-session") return this.#walkerOutputs(timer.walker, out);
    const remote = out.remote;
    const why = this.isCoolingDown(remote)
      ? "cooling-down"
      : book.isStale(remote)
        ? "stale"
        : undefined;
    if (why !== undefined) {
      // Upstream: repeat the last step as if this one failed (which also backs off).
      this.#metrics.skippedNodes++;
      const next = step.walkFrom(
        { kind: "failed-session", lastSuccessful: this.#lastSuccessful[timer.walker] },
        this.searching,
      );
      return [
        this.#event({ type: "discovery:node-skipped", remoteNodeId: remote, why }),
        ...this.#walkerOutputs(timer.walker, next),
      ];
    }
    const sessionId = this.#nextSessionId++;
    const now = this.#clock.now();
    this.#sessions.set(sessionId, {
      role: "initiated",
      remote,
      startedAt: now,
      walker: timer.walker,
      lastHeardAt: now,
      ...this.#deadlines(now),
      heard: false,
      handshakeDone: false,
      opened: false,
    });
    return [
      { type: "initiate-session", sessionId, remote, walker: timer.walker },
      {
        type: "set-timer",
        timer: { kind: "session", sessionId },
        delayMs: this.config.sessionTimeoutMs,
      },
      this.#event({ type: "discovery:session-started", role: "initiated", remoteNodeId: remote }),
    ];
  }

  /**
   * A remote opened a discovery stream to us. Refused (with a typed error and an event) when the
   * remote is cooling down, or when its slots are taken (all `maxAcceptedSessions`, or for a
   * stranger its share without `reservedForKnownPeers`) and none of the sessions it may evict has
   * waited `evictIdleAfterMs` for its remote (else the longest-waiting one is evicted). A remote
   * runs at most `maxAcceptedSessionsPerRemote` accepted sessions: its next one supersedes its
   * oldest. Accepted sessions run Bob and report as our own do; the driver reports each message
   * from the remote with {@link messageReceived}.
   */
  acceptSession(remote: NodeId): AcceptDecision {
    const now = this.#clock.now();
    const until = this.#coolDown.until(remote);
    if (until !== undefined && this.isCoolingDown(remote)) {
      return this.#refuse(remote, "cooling-down", new DiscoveryCoolingDownError(until));
    }
    const outputs: DiscoveryOutput[] = [];
    const older = this.#oldestBeyondPerRemoteCap(remote);
    if (older !== undefined) {
      const error = new DiscoveryProtocolError("superseded", "the remote opened a newer session");
      outputs.push(...this.#abort(older, error));
    }
    const known = this.#knownPeers.has(remote);
    const strangersCap = Math.max(
      1,
      this.config.maxAcceptedSessions - this.config.reservedForKnownPeers,
    );
    const cap = known ? this.config.maxAcceptedSessions : strangersCap;
    if (
      this.#accepted >= this.config.maxAcceptedSessions ||
      (!known && this.#acceptedStrangers() >= strangersCap)
    ) {
      // A stranger makes room among strangers only: the reserved share stays with known peers.
      const idle = this.#longestWaiting(now, known);
      if (idle === undefined) {
        return this.#refuse(remote, "limit", new DiscoverySessionLimitError(cap), outputs);
      }
      const error = new DiscoveryProtocolError(
        "evicted",
        `waited ${now - (this.#sessions.get(idle) as SessionInfo).lastHeardAt} ms on the remote while the slots were taken`,
      );
      outputs.push(...this.#abort(idle, error));
    }
    this.#accepted++;
    const sessionId = this.#nextSessionId++;
    this.#sessions.set(sessionId, {
      role: "accepted",
      remote,
      startedAt: now,
      lastHeardAt: now,
      ...this.#deadlines(now),
      heard: false,
      handshakeDone: false,
      opened: true,
    });
    outputs.push({
      type: "set-timer",
      timer: { kind: "session", sessionId },
      delayMs: this.config.sessionTimeoutMs,
    });
    if (this.config.firstMessageTimeoutMs > 0) {
      outputs.push({
        type: "set-timer",
        timer: { kind: "first-message", sessionId },
        delayMs: this.config.firstMessageTimeoutMs,
      });
    }
    outputs.push(
      this.#event({ type: "discovery:session-started", role: "accepted", remoteNodeId: remote }),
    );
    return { accepted: true, sessionId, outputs };
  }

  /** The remote of a running session sent a message (or closed its side). */
  messageReceived(sessionId: number): void {
    const session = this.#sessions.get(sessionId);
    if (session === undefined) return;
    session.heard = true;
    session.lastHeardAt = this.#clock.now();
  }

  /**
   * The handshake of a running session is over; its result is being verified and stored.
   * Nothing is awaited from the remote any more, so the session is no longer evictable.
   */
  handshakeFinished(sessionId: number): void {
    const session = this.#sessions.get(sessionId);
    if (session !== undefined) session.handshakeDone = true;
  }

  /**
   * The session finished and its verified infos were stored; `newlyLearned` of them were new,
   * and `newSharedTopics` of the shared topics were new for the remote (it is a co-topic peer
   * we did not know as one). Unknown (timed-out) sessions are ignored.
   */
  sessionEnded(
    sessionId: number,
    result: DiscoveryResult,
    newlyLearned: number,
    newSharedTopics = 0,
  ): DiscoveryOutput[] {
    const session = this.#finish(sessionId);
    if (session === undefined) return [];
    this.#metrics.successfulSessions++;
    // Most recent last, so that the oldest is forgotten first.
    this.#knownPeers.delete(session.remote);
    this.#knownPeers.add(session.remote);
    if (this.#knownPeers.size > KNOWN_PEERS_REMEMBERED) {
      this.#knownPeers.delete(this.#knownPeers.values().next().value as NodeId);
    }
    this.#metrics.newlyLearnedTransportInfos += newlyLearned;
    const out: DiscoveryOutput[] = [
      this.#event({
        type: "discovery:session-ended",
        role: session.role,
        remoteNodeId: session.remote,
        result,
        newlyLearned,
        durationMs: this.#clock.now() - session.startedAt,
      }),
    ];
    this.#referrals.delete(session.remote);
    if (result.topics.size > 0 && result.members !== undefined) {
      for (const id of result.members) this.#refer(id, session.remote);
    }
    out.push(...this.#startReferrals());
    if (session.walker !== undefined) {
      this.#lastSuccessful[session.walker] = result;
      const from = { kind: "last-session", result, newlyLearned, newSharedTopics } as const;
      const step = this.#steps[session.walker] as WalkerStep;
      out.push(...this.#walkerOutputs(session.walker, step.walkFrom(from, this.searching)));
      if (session.walker === 0) out.push(...this.#releaseFollowers(from));
    }
    return out;
  }

  /**
   * The session failed (connection, protocol error, invalid infos). A remote-fault error
   * ({@link isRemoteFault}) counts as misbehaviour and puts the remote on cool-down.
   */
  sessionFailed(sessionId: number, error: Error): DiscoveryOutput[] {
    const session = this.#finish(sessionId);
    if (session === undefined) return [];
    return this.#failed(session, error);
  }

  /** Sends the reset signal to every walker. */
  resetWalkers(): DiscoveryOutput[] {
    this.#searchUntil = this.#clock.now() + this.config.searchWindowMs;
    return this.#steps.flatMap((step, i) => {
      const out = step.resetSignal();
      return out === undefined ? [] : this.#walkerOutputs(i, out);
    });
  }

  /** Our own topic set changed: walkers reset if it gained a topic. */
  ownTopicsChanged(previous: ReadonlySet<Topic>, next: ReadonlySet<Topic>): DiscoveryOutput[] {
    return ownTopicsGained(previous, next) ? this.resetWalkers() : [];
  }

  /** Our own transport info changed: walkers reset if it is non-empty. */
  ownTransportInfoChanged(info: unknown): DiscoveryOutput[] {
    return ownTransportInfoWarrantsReset(info) ? this.resetWalkers() : [];
  }

  /**
   * The channel of an initiated session is open (the dial is done): the session timer starts
   * over, so the handshake gets the whole `sessionTimeoutMs` however long the dial took. A tab
   * that dials through a relay on a busy machine may spend seconds on the WebRTC set-up; counted
   * against the handshake, that timed the session out and put an honest peer on cool-down.
   */
  sessionOpened(sessionId: number): DiscoveryOutput[] {
    const session = this.#sessions.get(sessionId);
    if (session === undefined || session.opened) return [];
    session.opened = true;
    session.sessionDueAt = this.#clock.now() + this.config.sessionTimeoutMs;
    return [
      {
        type: "set-timer",
        timer: { kind: "session", sessionId },
        delayMs: this.config.sessionTimeoutMs,
      },
    ];
  }

  #timeout(sessionId: number): DiscoveryOutput[] {
    const session = this.#sessions.get(sessionId);
    if (session === undefined) return [];
    const deferred = this.#deferIfLate(sessionId, session, "session");
    if (deferred !== undefined) return deferred;
    if (!session.opened) {
      // Still dialling: the remote has not had its turn. Not its fault, and like a failed
      // dial the walk moves on without backing off (see `isUnreachable`).
      const dial = new P2pandaError(
        "DIAL_FAILED",
        `dialling ${session.remote} did not finish within ${this.config.sessionTimeoutMs} ms`,
      );
      return this.#abort(
        sessionId,
        new DiscoveryProtocolError("channel-error", `DIAL_FAILED: ${dial.message}`, {
          cause: dial,
        }),
      );
    }
    const error = new DiscoveryProtocolError(
      "timeout",
      `session did not finish within ${this.config.sessionTimeoutMs} ms`,
    );
    return this.#abort(sessionId, error);
  }

  #firstMessageTimeout(sessionId: number): DiscoveryOutput[] {
    const session = this.#sessions.get(sessionId);
    if (session?.heard !== false) return [];
    const deferred = this.#deferIfLate(sessionId, session, "first-message");
    if (deferred !== undefined) return deferred;
    const error = new DiscoveryProtocolError(
      "timeout",
      `no first message within ${this.config.firstMessageTimeoutMs} ms`,
    );
    return this.#abort(sessionId, error);
  }

  /** The due times of a new session's timers. */
  #deadlines(now: number): Pick<SessionInfo, "sessionDueAt" | "firstMessageDueAt" | "graceMs"> {
    return {
      sessionDueAt: now + this.config.sessionTimeoutMs,
      firstMessageDueAt: now + this.config.firstMessageTimeoutMs,
      graceMs: { session: 0, "first-message": 0 },
    };
  }

  /**
   * A timeout that fires more than {@link LATE_TIMER_TOLERANCE_MS} after it was due says that
   * our process did not run for that long, not that the remote was slow: what the remote sent
   * meanwhile may be waiting, unread, behind this very timer (an event loop runs its due timers
   * before it reads its sockets). So the timer is armed again for as long as it was late, and
   * the remote is judged when it fires on time; at most the timeout once more in all, so a
   * process that is starved for ever still ends its sessions. In the 20-node libp2p cluster at
   * load 10–20, sessions failed by the hundred this way, each blaming an honest peer (cool-down,
   * refused for 30 s) for our own stall.
   */
  #deferIfLate(
    sessionId: number,
    session: SessionInfo,
    kind: "session" | "first-message",
  ): DiscoveryOutput[] | undefined {
    const now = this.#clock.now();
    const due = kind === "session" ? session.sessionDueAt : session.firstMessageDueAt;
    const timeoutMs =
      kind === "session" ? this.config.sessionTimeoutMs : this.config.firstMessageTimeoutMs;
    const grace = lateTimerGrace(now - due, timeoutMs, session.graceMs[kind]);
    if (grace === 0) return undefined;
    session.graceMs[kind] += grace;
    if (kind === "session") session.sessionDueAt = now + grace;
    else session.firstMessageDueAt = now + grace;
    this.#metrics.deferredTimeouts++;
    return [
      {
        type: "set-timer",
        timer: { kind, sessionId },
        delayMs: grace,
      },
    ];
  }

  #abort(sessionId: number, error: DiscoveryProtocolError): DiscoveryOutput[] {
    const session = this.#finish(sessionId);
    if (session === undefined) return [];
    return [{ type: "abort-session", sessionId, error }, ...this.#failed(session, error)];
  }

  #refuse(
    remote: NodeId,
    why: "limit" | "cooling-down",
    error: DiscoveryRefusalError,
    outputs: DiscoveryOutput[] = [],
  ): AcceptDecision {
    this.#metrics.refusedSessions++;
    outputs.push(
      this.#event({ type: "discovery:session-refused", remoteNodeId: remote, why, error }),
    );
    return { accepted: false, error, outputs };
  }

  #acceptedStrangers(): number {
    let count = 0;
    for (const session of this.#sessions.values()) {
      if (session.role === "accepted" && !this.#knownPeers.has(session.remote)) count++;
    }
    return count;
  }

  /** The remote's oldest accepted session if it already runs as many as it may. */
  #oldestBeyondPerRemoteCap(remote: NodeId): number | undefined {
    let oldest: number | undefined;
    let count = 0;
    // Map order is insertion order, so the first one found is the oldest.
    for (const [id, session] of this.#sessions) {
      if (session.role !== "accepted" || session.remote !== remote) continue;
      oldest ??= id;
      count++;
    }
    return count >= this.config.maxAcceptedSessionsPerRemote ? oldest : undefined;
  }

  /**
   * The accepted session that has waited longest on its remote, if long enough to evict; among
   * strangers' sessions only unless `anyone`.
   */
  #longestWaiting(now: number, anyone: boolean): number | undefined {
    if (this.config.evictIdleAfterMs <= 0) return undefined;
    let found: number | undefined;
    let oldest = now - this.config.evictIdleAfterMs;
    for (const [id, session] of this.#sessions) {
      if (session.role !== "accepted" || session.handshakeDone) continue;
      if (!anyone && this.#knownPeers.has(session.remote)) continue;
      // On a tie the older session goes (Map order is insertion order).
      if (found === undefined ? session.lastHeardAt <= oldest : session.lastHeardAt < oldest) {
        oldest = session.lastHeardAt;
        found = id;
      }
    }
    return found;
  }

  #failed(session: SessionInfo, cause: Error): DiscoveryOutput[] {
    const error = asDiscoveryError(cause);
    const reason = error.reason;
    this.#metrics.failedSessions++;
    this.#metrics.failuresByReason[reason] = (this.#metrics.failuresByReason[reason] ?? 0) + 1;
    const misbehaving = isRemoteFault(error);
    if (misbehaving) {
      this.#metrics.misbehavingSessions++;
      const slow = reason === "timeout" || reason === "evicted";
      const slowMs = this.#bootstraps.has(session.remote)
        ? Math.min(this.config.slowPeerCooldownMs, this.config.slowBootstrapCooldownMs)
        : this.config.slowPeerCooldownMs;
      this.#coolDown.add(
        session.remote,
        this.#clock.now(),
        slow ? slowMs : this.config.misbehaviourCooldownMs,
      );
    }
    const out: DiscoveryOutput[] = [
      this.#event({
        type: "discovery:session-failed",
        role: session.role,
        remoteNodeId: session.remote,
        durationMs: this.#clock.now() - session.startedAt,
        reason,
        error,
        misbehaving,
      }),
    ];
    if (session.referral === true) out.push(...this.#startReferrals());
    if (session.walker !== undefined) {
      const step = this.#steps[session.walker] as WalkerStep;
      const next = step.walkFrom(
        {
          kind: "failed-session",
          lastSuccessful: this.#lastSuccessful[session.walker],
          unreachable: isUnreachable(error),
        },
        this.searching,
      );
      out.push(...this.#walkerOutputs(session.walker, next));
      if (session.walker === 0) out.push(...this.#releaseFollowers({ kind: "bootstrap" }));
    }
    return out;
  }

  /**
   * Walker 0's first session is over: walkers that waited for it step from its result, or
   * from a bootstrap node if it failed. Later sessions of walker 0 change nothing.
   */
  #releaseFollowers(from: WalkFromHere): DiscoveryOutput[] {
    if (!this.#leading) return [];
    this.#leading = false;
    const out: DiscoveryOutput[] = [];
    for (const walker of this.#following) {
      const step = this.#steps[walker] as WalkerStep;
      if (from.kind === "last-session") this.#lastSuccessful[walker] = from.result;
      out.push(...this.#walkerOutputs(walker, step.walkFrom(from, this.searching)));
    }
    this.#following.clear();
    return out;
  }

  #finish(sessionId: number): SessionInfo | undefined {
    const session = this.#sessions.get(sessionId);
    if (session === undefined) return undefined;
    this.#sessions.delete(sessionId);
    if (session.role === "accepted") this.#accepted--;
    if (session.referral === true) this.#referralSessions--;
    return session;
  }

  /** Queues a referred member unless we met it already or it is us, the referrer or queued. */
  #refer(id: NodeId, referrer: NodeId): void {
    if (this.config.referralSessions <= 0) return;
    if (id === this.myNodeId || id === referrer || this.#knownPeers.has(id)) return;
    if (this.#referrals.size >= this.config.maxPendingReferrals) return;
    this.#referrals.add(id);
  }

  /** Starts sessions with queued referrals while there are free referral slots. */
  #startReferrals(): DiscoveryOutput[] {
    const out: DiscoveryOutput[] = [];
    const now = this.#clock.now();
    for (const remote of this.#referrals) {
      if (this.#referralSessions >= this.config.referralSessions) break;
      this.#referrals.delete(remote);
      if (this.#knownPeers.has(remote) || this.#coolDown.has(remote, now)) continue;
      if (this.#inSessionWith(remote)) continue;
      const sessionId = this.#nextSessionId++;
      this.#referralSessions++;
      this.#sessions.set(sessionId, {
        role: "initiated",
        remote,
        startedAt: now,
        referral: true,
        lastHeardAt: now,
        ...this.#deadlines(now),
        heard: false,
        handshakeDone: false,
        opened: false,
      });
      out.push(
        { type: "initiate-session", sessionId, remote, walker: undefined },
        {
          type: "set-timer",
          timer: { kind: "session", sessionId },
          delayMs: this.config.sessionTimeoutMs,
        },
        this.#event({ type: "discovery:session-started", role: "initiated", remoteNodeId: remote }),
      );
    }
    return out;
  }

  #inSessionWith(remote: NodeId): boolean {
    for (const session of this.#sessions.values()) if (session.remote === remote) return true;
    return false;
  }

  #walkerOutputs(walker: number, out: WalkerStepOutput): DiscoveryOutput[] {
    // `start-session` only comes out of `timerFired`, which handles it itself.
    if (out.type === "start-session") return [];
    return [
      { type: "set-timer", timer: { kind: "walker", walker, token: out.token }, delayMs: out.ms },
    ];
  }

  #event(event: Unstamped<DiscoveryEvent>): DiscoveryOutput {
    return { type: "event", event: { ...event, at: this.#clock.now() } as DiscoveryEvent };
  }
}

/** Outcome of {@link ingestDiscoveryResult}. */
export type IngestOutcome =
  | {
      readonly ok: true;
      readonly newlyLearned: number;
      /** Shared topics we did not know the remote for before this session. */
      readonly newSharedTopics: number;
    }
  | { readonly ok: false; readonly error: DiscoveryProtocolError };

type MaybePromise<T> = T | Promise<T>;

/**
 * Where {@link ingestDiscoveryResult} stores a session's result: the address book of the
 * service (asynchronous) or of the simulator (synchronous; then the whole ingest is).
 */
export interface DiscoveryIngestStore<Sync extends boolean = boolean> {
  /** Whether `info` is a valid info signed by `id`; false (or a throw) distrusts the session. */
  verify(id: NodeId, info: unknown): Sync extends true ? boolean : MaybePromise<boolean>;
  /** Whether exactly this info of `id` (same timestamp) is the stored one already. */
  holds(id: NodeId, info: unknown): boolean;
  /** Stores `info` last-write-wins; whether it is the stored one afterwards. */
  insert(id: NodeId, info: unknown): Sync extends true ? boolean : MaybePromise<boolean>;
  /** Records that `id` shares exactly `topics` with us (the session's intersection). */
  setTopics(id: NodeId, topics: ReadonlySet<Topic>): Sync extends true ? void : MaybePromise<void>;
  /** The topics `id` is known for now (read before `setTopics`). */
  topicsOf(id: NodeId): ReadonlySet<Topic>;
}

/**
 * Whether one received info was newly learned: the one definition behind the
 * `newlyLearned` of `discovery:session-ended`, the metric, and the walkers' success rate. An
 * info is newly learned when it is the stored one after the session and was not before it (a
 * node we had no info of, or a newer info of one we had). The same info again, an older one
 * (last write wins) and our own are not.
 */
export function isNewlyLearned(learned: {
  readonly ours: boolean;
  readonly heldBefore: boolean;
  readonly storedNow: boolean;
}): boolean {
  return !learned.ours && !learned.heldBefore && learned.storedNow;
}

/**
 * The store step of a finished session, one rule for the service and the simulator: verify
 * every received info first; if one fails, store nothing and fail the session
 * (`invalid-transport-info`); otherwise store them (last write wins, decided by `insert`; our
 * own info is never taken from a remote, we are its only author) and the remote's shared
 * topics, counting what was newly learned ({@link isNewlyLearned}). Synchronous when the
 * store is; a store that throws makes it throw (or reject).
 */
export function ingestDiscoveryResult(
  result: DiscoveryResult,
  myNodeId: NodeId,
  store: DiscoveryIngestStore<true>,
): IngestOutcome;
export function ingestDiscoveryResult(
  result: DiscoveryResult,
  myNodeId: NodeId,
  store: DiscoveryIngestStore,
): MaybePromise<IngestOutcome>;
export function ingestDiscoveryResult(
  result: DiscoveryResult,
  myNodeId: NodeId,
  store: DiscoveryIngestStore,
): MaybePromise<IngestOutcome> {
  const received = [...result.transportInfos];
  let invalid: DiscoveryProtocolError | undefined;
  const verified = inOrder(received, ([id, info]) => {
    if (invalid !== undefined) return;
    const distrust = (why: string) => {
      invalid = new DiscoveryProtocolError(
        "invalid-transport-info",
        `transport info for ${id.slice(0, 8)} ${why}`,
      );
    };
    let verdict: MaybePromise<boolean>;
    try {
      verdict = store.verify(id, info);
    } catch (error) {
      distrust(`is invalid: ${describe(error)}`);
      return;
    }
    if (verdict instanceof Promise) {
      return verdict.then(
        (ok) => (ok ? undefined : distrust("does not verify")),
        (error: unknown) => distrust(`is invalid: ${describe(error)}`),
      );
    }
    if (!verdict) distrust("does not verify");
  });
  return then(verified, () => {
    if (invalid !== undefined) return { ok: false as const, error: invalid };
    let newlyLearned = 0;
    const stored = inOrder(received, ([id, info]) => {
      const ours = id === myNodeId;
      if (ours) return;
      const heldBefore = store.holds(id, info);
      return then(store.insert(id, info), (storedNow) => {
        if (isNewlyLearned({ ours, heldBefore, storedNow })) newlyLearned++;
      });
    });
    let newSharedTopics = 0;
    return then(
      then(stored, () => {
        const before = store.topicsOf(result.remoteNodeId);
        for (const topic of result.topics) if (!before.has(topic)) newSharedTopics++;
        return store.setTopics(result.remoteNodeId, result.topics);
      }),
      () => ({ ok: true as const, newlyLearned, newSharedTopics }),
    );
  });
}

/** `next(value)`, synchronously unless `value` is a promise. */
function then<T, U>(value: MaybePromise<T>, next: (value: T) => MaybePromise<U>): MaybePromise<U> {
  return value instanceof Promise ? value.then(next) : next(value);
}

/** Runs `step` on every item in order, waiting for a step only if it returned a promise. */
function inOrder<T>(
  items: readonly T[],
  step: (item: T) => MaybePromise<void> | undefined,
): MaybePromise<void> {
  for (let i = 0; i < items.length; i++) {
    const done = step(items[i] as T);
    if (done instanceof Promise) return done.then(() => inOrder(items.slice(i + 1), step));
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

import { EventStream } from "@p2panda-web/events";
import { BehaviorSubject, type Observable, type Subscription } from "rxjs";
import type { Clock } from "../clock.ts";
import type { MessageChannel } from "../codec/message-channel.ts";
import { reachableOnlyThrough } from "../endpoint/addresses.ts";
import type { ProtocolEndpoint } from "../endpoint/protocol-endpoint.ts";
import { ProtocolName } from "../ids/network-id.ts";
import type { NodeId } from "../ids/node-id.ts";
import type { Topic } from "../ids/topic.ts";
import type { Rng } from "../random.ts";
import { isStale, type NodeInfo } from "../records/node-info.ts";
import {
  type AuthenticatedTransportInfo,
  isSameTransportInfo,
  transportInfoFromWire,
  transportInfoToWire,
  verifyTransportInfo,
} from "../records/transport-info.ts";
import { Lifecycle, type LifecycleState, type Startable } from "../runtime/lifecycle.ts";
import { type Runtime, systemRuntime } from "../runtime/runtime.ts";
import type { ScheduledTimer, Timers } from "../runtime/timers.ts";
import {
  type DiscoveryEvent,
  DiscoveryManager,
  type DiscoveryManagerConfig,
  type DiscoveryMetrics,
  type DiscoveryOutput,
  type DiscoveryTimer,
  ingestDiscoveryResult,
} from "./discovery-manager.ts";
import { asDiscoveryError, DiscoveryProtocolError } from "./errors.ts";
import { DEFAULT_MAX_TRANSPORT_INFOS, type DiscoveryLimits } from "./messages.ts";
import {
  type DiscoveryResult,
  type NodeSharing,
  PsiAlice,
  PsiBob,
  type PsiHandshake,
  selectInfosToShare,
} from "./psi-handshake.ts";
import { runDiscoverySession } from "./session-runner.ts";

/**
 * What discovery needs of the address book: the `AddressBook` of `@p2panda-web/address-book`
 * fits (core does not depend on that package).
 */
export interface DiscoveryAddressBook {
  /** The record of `id`, if known. */
  nodeInfo(id: NodeId): NodeInfo | undefined;
  /** Every known node: what transport infos are handed out from. */
  allNodeInfos(): NodeInfo[];
  /** Nodes known to share any of `topics`. */
  nodeInfosByTopics(topics: Iterable<Topic>): NodeInfo[];
  /** The topics `id` is known to share with us (ours, for our own id). */
  nodeTopics(id: NodeId): ReadonlySet<Topic>;
  /** Replaces the topics `id` is known to share with us. */
  setTopics(id: NodeId, topics: Iterable<Topic>): Promise<void>;
  /** Stores a verified info last-write-wins; resolves whether it is the stored one now. */
  insertTransportInfo(id: NodeId, info: AuthenticatedTransportInfo): Promise<boolean>;
  /** The topics of `id` now (with `emitCurrent`) and whenever they change. */
  watchNodeTopics(
    id: NodeId,
    options?: { emitCurrent?: boolean },
  ): Observable<{ readonly value: ReadonlySet<Topic> }>;
  /** The record of `id` now (with `emitCurrent`) and whenever it changes. */
  watchNodeInfo(
    id: NodeId,
    options?: { emitCurrent?: boolean },
  ): Observable<{ readonly value: NodeInfo | undefined }>;
}

/** Default of {@link DiscoveryServiceOptions.nodeSharing}. */
export const DEFAULT_NODE_SHARING: NodeSharing = "bootstrap-and-common-topics";

/** Options of {@link DiscoveryService}. */
export interface DiscoveryServiceOptions {
  endpoint: ProtocolEndpoint;
  addressBook: DiscoveryAddressBook;
  /** Walkers, timeouts, caps, backoff: see `DEFAULT_DISCOVERY_MANAGER_CONFIG`. */
  config?: Partial<DiscoveryManagerConfig>;
  /**
   * Which transport infos a session hands to the remote ({@link NodeSharing}). Default
   * {@link DEFAULT_NODE_SHARING}: our own, the bootstrap nodes we know and the nodes of a topic
   * we share with the remote, so a stranger learns nothing but where we and the bootstrap nodes
   * are; while the node has no topics of its own (a bootstrap, a relay) `all`, since that is
   * where newcomers learn of others. docs/security.md has the measurements behind the default.
   */
  nodeSharing?: NodeSharing;
  /**
   * Upstream's switch: `true` is `nodeSharing: "common-topics"`, `false` is `"all"`. Ignored
   * when `nodeSharing` is given.
   */
  shareNodesWithCommonTopics?: boolean;
  /**
   * Tell a proven co-topic peer, at the end of a session, which of the nodes we hand it we found
   * to share a topic with both of us (member referrals; the receiver verifies each with a session
   * of its own, see `referralSessions` in the manager config). Nothing is told to a node that
   * shares no topic with us. Default true; docs/security.md discusses what it reveals.
   */
  referMembers?: boolean;
  /** Caps on what a remote may send in one message. */
  limits?: DiscoveryLimits;
  /**
   * Clock, timers and randomness (walkers, salts). Default {@link systemRuntime}; tests pass a
   * `VirtualRuntime` to run walks, timeouts and cool-downs in virtual time.
   */
  runtime?: Runtime;
  /** Randomness for walkers and salts; overrides the runtime's. */
  rng?: Rng;
  /** Clock of events, timeouts and cool-downs; overrides the runtime's. */
  clock?: Clock;
  /**
   * A stale node (its last connection attempt failed) is skipped by the walkers only this long
   * after the failure; then it is tried again. Without it, two nodes whose first connection
   * failed (a WebRTC dial between tabs can fail once) would skip each other for ever, since
   * neither tries again. p2panda-web addition. Default 30,000 ms.
   */
  retryStaleAfterMs?: number;
}

/** Default of {@link DiscoveryServiceOptions.retryStaleAfterMs}. */
export const DEFAULT_RETRY_STALE_AFTER_MS = 30_000;

/** A discovery session running now. */
export interface RunningDiscoverySession {
  readonly sessionId: number;
  readonly remoteNodeId: NodeId;
  readonly role: "initiated" | "accepted";
}

/** Where one random walker is: the node of its current (or last) session and its last steps. */
export interface WalkerPosition {
  readonly walker: number;
  /** The node the walker's current or last session is with; undefined before its first step. */
  readonly at?: NodeId;
  /** Whether that session is running now. */
  readonly inSession: boolean;
  /** The last nodes it visited, oldest first (at most {@link WALKER_TRAIL_LENGTH}). */
  readonly trail: readonly NodeId[];
}

/** How many past steps {@link WalkerPosition.trail} keeps. */
export const WALKER_TRAIL_LENGTH = 8;

/**
 * Confidential topic discovery over a network (spec §4): random walkers pick nodes from the
 * address book, each session runs the PSI handshake over one stream, verified transport infos
 * and the shared topics go into the address book. The decisions are the pure
 * {@link DiscoveryManager}'s; this class runs its timers and sessions and publishes its events.
 *
 * Nothing a remote does can throw out of it, nor can a bug inside one session: every failed
 * session is an event (`discovery:session-failed` with a typed reason) and a metric, and ends
 * that session only.
 */
export class DiscoveryService implements Startable {
  readonly #lifecycle = new Lifecycle("discovery");
  readonly #endpoint: ProtocolEndpoint;
  readonly #book: DiscoveryAddressBook;
  readonly #manager: DiscoveryManager;
  readonly #rng: Rng;
  readonly #limits: DiscoveryLimits;
  /** Undefined: the default ({@link DEFAULT_NODE_SHARING}, `all` while we have no topics). */
  readonly #nodeSharing: NodeSharing | undefined;
  readonly #events: EventStream<DiscoveryEvent>;
  readonly #timerSource: Timers;
  readonly #timers = new Map<string, ScheduledTimer>();
  readonly #sessions = new Map<number, RunningDiscoverySession & { abort: AbortController }>();
  readonly #subscriptions: Subscription[] = [];
  readonly #walkers: BehaviorSubject<readonly WalkerPosition[]>;
  readonly #clock: Clock;
  readonly #retryStaleAfterMs: number;
  readonly #referMembers: boolean;
  #running = false;
  /** Timers that fired while paused, run on resume. */
  #held: DiscoveryTimer[] | undefined;

  constructor(options: DiscoveryServiceOptions) {
    this.#endpoint = options.endpoint;
    this.#book = options.addressBook;
    const runtime = options.runtime ?? systemRuntime;
    this.#rng = options.rng ?? runtime.rng;
    this.#timerSource = runtime.timers;
    this.#limits = options.limits ?? {};
    this.#nodeSharing =
      options.nodeSharing ??
      (options.shareNodesWithCommonTopics === undefined
        ? undefined
        : options.shareNodesWithCommonTopics
          ? "common-topics"
          : "all");
    const clock = options.clock ?? runtime.clock;
    this.#clock = clock;
    this.#retryStaleAfterMs = options.retryStaleAfterMs ?? DEFAULT_RETRY_STALE_AFTER_MS;
    this.#referMembers = options.referMembers ?? true;
    this.#events = new EventStream<DiscoveryEvent>(() => clock.now());
    this.#manager = new DiscoveryManager({
      myNodeId: options.endpoint.nodeId,
      rng: this.#rng,
      clock,
      config: options.config,
    });
    this.#walkers = new BehaviorSubject<readonly WalkerPosition[]>(
      Array.from({ length: this.#manager.config.walkers }, (_, walker) => ({
        walker,
        inSession: false,
        trail: [],
      })),
    );
  }

  /**
   * Every walker's position, now and on every step (a BehaviorSubject: subscribers get the
   * current positions at once). Completed on stop.
   */
  get walkers$(): Observable<readonly WalkerPosition[]> {
    return this.#walkers.asObservable();
  }

  /** Every walker's position now. */
  walkers(): readonly WalkerPosition[] {
    return this.#walkers.getValue();
  }

  #moveWalker(walker: number, at: NodeId | undefined, inSession: boolean): void {
    const positions = [...this.#walkers.getValue()];
    const current = positions[walker];
    if (current === undefined) return;
    const trail =
      at !== undefined && at !== current.at
        ? [...current.trail, at].slice(-WALKER_TRAIL_LENGTH)
        : current.trail;
    positions[walker] = { walker, at: at ?? current.at, inSession, trail };
    this.#walkers.next(positions);
  }

  /** Session started / ended / failed / refused and node-skipped events; completed on stop. */
  get events$(): Observable<DiscoveryEvent> {
    return this.#events.events$;
  }

  /** Counters: successful and failed sessions, newly learned infos, misbehaving, refused. */
  get metrics(): Readonly<DiscoveryMetrics> {
    return this.#manager.metrics;
  }

  /** Sessions running now (for UIs: where the walkers are). */
  sessions(): RunningDiscoverySession[] {
    return [...this.#sessions.values()].map(({ sessionId, remoteNodeId, role }) => ({
      sessionId,
      remoteNodeId,
      role,
    }));
  }

  /** Where the service is in its {@link Startable} lifecycle. */
  get state(): LifecycleState {
    return this.#lifecycle.state;
  }

  /**
   * Starts accepting sessions and walking. Idempotent.
   *
   * @throws ServiceStoppedError after {@link DiscoveryService.stop}: a stopped service stays
   *   stopped (its `events$` has completed); make a new one.
   */
  start(): Promise<void> {
    return this.#lifecycle.start(() => this.#start());
  }

  #start(): void {
    this.#running = true;
    const me = this.#endpoint.nodeId;
    this.#endpoint.accept(ProtocolName.discovery, (channel) => this.#accept(channel));
    let previousTopics: ReadonlySet<Topic> = new Set(this.#book.nodeTopics(me));
    this.#subscriptions.push(
      this.#book.watchNodeTopics(me).subscribe(({ value }) => {
        this.#updateSearching();
        const outputs = this.#manager.ownTopicsChanged(previousTopics, value);
        previousTopics = new Set(value);
        this.#apply(outputs);
      }),
      this.#book.watchNodeInfo(me).subscribe(({ value }) => {
        this.#apply(this.#manager.ownTransportInfoChanged(value?.transports));
      }),
    );
    this.#updateSearching();
    this.#apply(this.#manager.start());
  }

  /** Sends every walker back to a bootstrap node now (e.g. after the app joined a topic). */
  resetWalkers(): void {
    this.#apply(this.#manager.resetWalkers());
  }

  /** Whether walking is paused ({@link DiscoveryService.pause}). */
  get paused(): boolean {
    return this.#held !== undefined;
  }

  /**
   * Stops walking until {@link DiscoveryService.resume}: a timer that fires meanwhile (a walker's
   * next step, a session timeout) is held, not run. A page that is offline or frozen would only
   * fail its dials and mark every node it tried as stale. Sessions others open with us are still
   * accepted. Idempotent.
   */
  pause(): void {
    this.#held ??= [];
  }

  /**
   * Walks again: runs the timers held while paused, then sends every walker back to a
   * bootstrap node (what they knew of the network may be out of date). No-op unless paused.
   */
  resume(): void {
    const held = this.#held;
    if (held === undefined) return;
    this.#held = undefined;
    for (const timer of held) this.#setTimer(timer, 0);
    this.resetWalkers();
  }

  /**
   * Stops walking, aborts running sessions, clears timers and completes `events$` and
   * `walkers$`. Idempotent and final.
   */
  stop(): Promise<void> {
    return this.#lifecycle.stop(() => this.#stop());
  }

  async #stop(): Promise<void> {
    const wasRunning = this.#running;
    this.#running = false;
    if (wasRunning) await this.#endpoint.unaccept?.(ProtocolName.discovery);
    for (const s of this.#subscriptions.splice(0)) s.unsubscribe();
    for (const timer of this.#timers.values()) timer.cancel();
    this.#timers.clear();
    for (const session of this.#sessions.values()) {
      session.abort.abort(new DiscoveryProtocolError("stopped", "discovery stopped"));
    }
    this.#sessions.clear();
    this.#events.complete();
    this.#walkers.complete();
  }

  #apply(outputs: readonly DiscoveryOutput[]): void {
    if (!this.#running) return;
    for (const output of outputs) {
      switch (output.type) {
        case "set-timer":
          this.#setTimer(output.timer, output.delayMs);
          break;
        case "initiate-session":
          if (output.walker !== undefined) this.#moveWalker(output.walker, output.remote, true);
          this.#initiate(output.sessionId, output.remote, output.walker).catch((error) =>
            this.#crashed(output.sessionId, error),
          );
          break;
        case "abort-session":
          this.#sessions.get(output.sessionId)?.abort.abort(output.error);
          this.#sessions.delete(output.sessionId);
          this.#clearSessionTimers(output.sessionId);
          break;
        case "event":
          this.#events.emit(output.event);
          break;
      }
    }
  }

  #setTimer(timer: DiscoveryTimer, delayMs: number): void {
    this.#clearTimer(timer);
    const key = timerKey(timer);
    this.#timers.set(
      key,
      this.#timerSource.after(delayMs, () => {
        this.#timers.delete(key);
        if (!this.#running) return;
        if (this.#held !== undefined) {
          this.#held.push(timer);
          return;
        }
        // A node known only by its id (from a topic list, before any signed address of it
        // arrived) cannot be dialled: walking to it would only fail, again and again.
        const nodes = this.#book
          .allNodeInfos()
          .filter((n) => (n.transports?.addresses.length ?? 0) > 0);
        this.#apply(
          this.#manager.timerFired(timer, {
            allNodeIds: nodes.map((n) => n.nodeId),
            bootstrapIds: nodes.filter((n) => n.bootstrap).map((n) => n.nodeId),
            isStale: (id) => {
              const info = this.#book.nodeInfo(id);
              if (info === undefined || !isStale(info)) return false;
              const failedAt = info.metrics.lastFailureAt ?? 0;
              return this.#clock.now() - failedAt < this.#retryStaleAfterMs;
            },
          }),
        );
      }),
    );
  }

  #clearTimer(timer: DiscoveryTimer): void {
    const key = timerKey(timer);
    this.#timers.get(key)?.cancel();
    this.#timers.delete(key);
  }

  async #initiate(sessionId: number, remote: NodeId, walker: number | undefined): Promise<void> {
    const abort = new AbortController();
    this.#sessions.set(sessionId, { sessionId, remoteNodeId: remote, role: "initiated", abort });
    let outputs: DiscoveryOutput[];
    try {
      const channel = await this.#endpoint.connect(remote, ProtocolName.discovery, {
        signal: abort.signal,
      });
      this.#apply(this.#manager.sessionOpened(sessionId));
      const alice = new PsiAlice(this.#handshakeOptions(remote));
      const result = await this.#run(sessionId, channel, alice, abort);
      const { newlyLearned, newSharedTopics } = await this.#ingest(result);
      this.#updateSearching();
      outputs = this.#manager.sessionEnded(sessionId, result, newlyLearned, newSharedTopics);
    } catch (error) {
      this.#updateSearching();
      outputs = this.#manager.sessionFailed(sessionId, asError(error));
    }
    if (this.#running && walker !== undefined) this.#moveWalker(walker, undefined, false);
    this.#finish(sessionId, outputs);
  }

  async #accept(channel: MessageChannel): Promise<void> {
    if (!this.#running) {
      channel.abort(new DiscoveryProtocolError("channel-error", "discovery is not running"));
      return;
    }
    const decision = this.#manager.acceptSession(channel.remote);
    if (!decision.accepted) {
      channel.abort(decision.error);
      this.#apply(decision.outputs);
      return;
    }
    const { sessionId } = decision;
    const abort = new AbortController();
    this.#sessions.set(sessionId, {
      sessionId,
      remoteNodeId: channel.remote,
      role: "accepted",
      abort,
    });
    this.#apply(decision.outputs);
    let outputs: DiscoveryOutput[];
    try {
      const handshake = new PsiBob(this.#handshakeOptions(channel.remote));
      const result = await this.#run(sessionId, channel, handshake, abort);
      const { newlyLearned, newSharedTopics } = await this.#ingest(result);
      this.#updateSearching();
      outputs = this.#manager.sessionEnded(sessionId, result, newlyLearned, newSharedTopics);
    } catch (error) {
      this.#updateSearching();
      outputs = this.#manager.sessionFailed(sessionId, asError(error));
    }
    this.#finish(sessionId, outputs);
  }

  #finish(sessionId: number, outputs: DiscoveryOutput[]): void {
    this.#sessions.delete(sessionId);
    this.#clearSessionTimers(sessionId);
    this.#apply(outputs);
  }

  /** A bug escaped a session's own handling: end that session, keep the node going. */
  #crashed(sessionId: number, error: unknown): void {
    try {
      const failure = asDiscoveryError(error);
      this.#sessions.get(sessionId)?.abort.abort(failure);
      this.#finish(sessionId, this.#manager.sessionFailed(sessionId, failure));
    } catch {
      // Reporting failed as well; the session is gone and there is no one left to tell.
    }
  }

  #clearSessionTimers(sessionId: number): void {
    this.#clearTimer({ kind: "session", sessionId });
    this.#clearTimer({ kind: "first-message", sessionId });
  }

  async #run(
    sessionId: number,
    channel: MessageChannel,
    handshake: PsiHandshake,
    abort: AbortController,
  ): Promise<DiscoveryResult> {
    const result = await runDiscoverySession(channel, handshake, {
      ...this.#limits,
      signal: abort.signal,
      // Each receive waits no longer than the session may last, whatever the channel's default:
      // its timeout, and at most as long again that the manager grants a timeout that fired late
      // (see `LATE_TIMER_TOLERANCE_MS`). The manager's timer decides; this is the backstop.
      deadline: this.#clock.now() + 2 * this.#manager.config.sessionTimeoutMs,
      now: () => this.#clock.now(),
      onReceived: () => this.#manager.messageReceived(sessionId),
    });
    this.#manager.handshakeFinished(sessionId);
    return result;
  }

  /** Tells the manager whether a topic of ours has no other member we know (eager walkers). */
  #updateSearching(): void {
    const me = this.#endpoint.nodeId;
    let searching = false;
    for (const topic of this.#book.nodeTopics(me)) {
      const members = this.#book.nodeInfosByTopics(new Set([topic]));
      if (!members.some((node) => node.nodeId !== me)) {
        searching = true;
        break;
      }
    }
    this.#manager.setSearching(searching);
  }

  #handshakeOptions(remote: NodeId) {
    const me = this.#endpoint.nodeId;
    return {
      ...this.#limits,
      myNodeId: me,
      remoteNodeId: remote,
      myTopics: this.#book.nodeTopics(me),
      rng: this.#rng,
      isMemberOf: this.#referMembers
        ? (id: NodeId, intersection: ReadonlySet<Topic>) => {
            for (const topic of this.#book.nodeTopics(id)) if (intersection.has(topic)) return true;
            return false;
          }
        : undefined,
      infosToShare: (intersection: ReadonlySet<Topic>) => {
        const allInfos = new Map<NodeId, unknown>();
        for (const node of this.#book.allNodeInfos()) {
          // Only signed infos travel: trusted ones came from a side channel and stay local. A
          // node whose last connection failed is not handed on: on a long-running bootstrap those
          // are mostly tabs that left, and every newcomer would spend its walks on them. Nor is
          // an info without addresses: it would only make others know a node they cannot dial.
          // Nor a node reachable only through us that is not connected to us: it holds no
          // reservation, so every dial of it fails (whether or not we saw it leave).
          if (
            node.transports?.kind === "authenticated" &&
            node.transports.addresses.length > 0 &&
            !isStale(node) &&
            (this.#endpoint.isConnected === undefined ||
              !reachableOnlyThrough(node.transports.addresses, me) ||
              this.#endpoint.isConnected(node.nodeId))
          ) {
            allInfos.set(node.nodeId, transportInfoToWire(node.transports));
          }
        }
        return selectInfosToShare({
          myNodeId: me,
          remoteNodeId: remote,
          intersection,
          // By default a node without topics of its own (a bootstrap or relay) is a rendezvous
          // and hands out everyone: it has no co-topic peers to keep from strangers, and what
          // it holds others' walkers could learn from any bootstrap.
          nodeSharing:
            this.#nodeSharing ??
            (this.#book.nodeTopics(me).size === 0 ? "all" : DEFAULT_NODE_SHARING),
          isBootstrap: (id) => this.#book.nodeInfo(id)?.bootstrap === true,
          allInfos,
          nodesByTopics: (topics) => this.#book.nodeInfosByTopics(topics).map((n) => n.nodeId),
          max: this.#limits.maxTransportInfos ?? DEFAULT_MAX_TRANSPORT_INFOS,
          rng: this.#rng,
        });
      },
    };
  }

  /**
   * Stores what a session returned by the one rule of {@link ingestDiscoveryResult}: every
   * received info verified before any is stored, last write wins, our own never taken from a
   * remote, one definition of "newly learned". Throws the rule's `invalid-transport-info`
   * failure so that the session fails as every other does.
   */
  async #ingest(
    result: DiscoveryResult,
  ): Promise<{ readonly newlyLearned: number; readonly newSharedTopics: number }> {
    const parsed = new Map<NodeId, AuthenticatedTransportInfo>();
    const outcome = await ingestDiscoveryResult(result, this.#endpoint.nodeId, {
      verify: async (id, wire) => {
        const info = transportInfoFromWire(wire);
        // A bootstrap hands every newcomer the infos of everyone it knows, and co-topic peers
        // each other's: most arrive again and again. The one we hold was verified when stored.
        if (!isSameTransportInfo(info, this.#book.nodeInfo(id)?.transports)) {
          await verifyTransportInfo(id, info);
        }
        parsed.set(id, info);
        return true;
      },
      holds: (id, wire) => {
        const held = this.#book.nodeInfo(id)?.transports;
        const info = parsed.get(id) ?? transportInfoFromWire(wire);
        return held?.kind === "authenticated" && held.timestamp.equals(info.timestamp);
      },
      insert: (id, wire) =>
        this.#book.insertTransportInfo(id, parsed.get(id) ?? transportInfoFromWire(wire)),
      setTopics: (id, topics) => this.#book.setTopics(id, topics),
      topicsOf: (id) => this.#book.nodeTopics(id),
    });
    if (!outcome.ok) throw outcome.error;
    return outcome;
  }
}

function timerKey(timer: DiscoveryTimer): string {
  return timer.kind === "walker" ? `walker:${timer.walker}` : `${timer.kind}:${timer.sessionId}`;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

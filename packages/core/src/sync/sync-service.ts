import { EventStream } from "@p2panda-web/events";
import { filter, type Observable, type Subscription } from "rxjs";
import { concatBytes, fromHex } from "../bytes.ts";
import { type Clock, systemClock } from "../clock.ts";
import type { MessageChannel } from "../codec/message-channel.ts";
import type { ProtocolEndpoint } from "../endpoint/protocol-endpoint.ts";
import { P2pandaError } from "../errors.ts";
import type { GossipHandle, GossipService } from "../gossip/gossip-service.ts";
import { hash } from "../hash.ts";
import { ProtocolName } from "../ids/network-id.ts";
import { NodeId } from "../ids/node-id.ts";
import { Topic } from "../ids/topic.ts";
import { PeerCoolDown } from "../peer-cool-down.ts";
import { TopicNotSubscribedError } from "./errors.ts";
import type { SyncEvent } from "./events.ts";
import type { LogId } from "./log-id.ts";
import type { SyncLimits } from "./log-sync.ts";
import { createOperation, type Operation, type OperationSigner } from "./operation.ts";
import { DEFAULT_SYNC_COOL_DOWN_MS, isRemoteFault } from "./remote-fault.ts";
import { SyncSession } from "./session.ts";
import type { LogStore } from "./store/log-store.ts";
import type { TopicStore } from "./store/topic-store.ts";
import type { SignatureVerifier } from "./validation.ts";

/**
 * The constant mixed into a sync topic to get the gossip topic whose overlay samples the peers
 * to sync with (upstream's value, so ephemeral gossip on the topic itself stays separate).
 */
export const SYNC_TOPIC_MIX = fromHex(
  "fd06fbd9ade4d7f482b5968edcf431db235ea3c5e55d8fe3613d26ca3ffa1ae9",
);

/** The gossip topic of a sync topic: BLAKE3(topic ‖ mix). */
export function syncGossipTopic(topic: Topic): Topic {
  return Topic.fromBytes(hash(concatBytes(Topic.toBytes(topic), SYNC_TOPIC_MIX)));
}

/** Options of {@link SyncService}. */
export interface SyncServiceOptions {
  endpoint: ProtocolEndpoint;
  /** Membership: each synced topic joins the overlay of its derived topic. */
  gossip: GossipService;
  /** Signs our own operations (an `Identity`); its key must be the endpoint's node id. */
  signer: OperationSigner;
  logStore: LogStore;
  topicStore: TopicStore;
  /** Verifies received operations. Default: strict Ed25519, WebCrypto when available. */
  verifier?: SignatureVerifier;
  /** Limits on what a remote can make us process. */
  limits?: Partial<SyncLimits>;
  /** A failed session with a node that is still a neighbour is retried after this. Default 5,000 ms. */
  retryDelayMs?: number;
  /**
   * Sessions accepted from others at once. When all are taken, a new one evicts the oldest that
   * has not yet named a topic we sync (the handshake takes one round trip for an honest peer);
   * if every session is past its handshake, the new one is refused. Default 64.
   */
  maxAcceptedSessions?: number;
  /**
   * An accepted session whose remote sends no first message within this fails (and puts the
   * remote on cool-down): the initiator speaks first and at once. Default 3,000 ms.
   */
  firstMessageTimeoutMs?: number;
  /**
   * A peer whose session failed through its fault (malformed, oversized, out-of-order or invalid
   * input, a foreign log, a stall) gets no new session with us, in either direction, for this
   * long. Failures that are not its fault are retried after {@link retryDelayMs}. Default
   * 60,000 ms.
   */
  coolDownMs?: number;
  /**
   * Live mode: whether a log the topic store does not list for the topic, and that the remote
   * did not announce in the sync phase, belongs to the topic (typically a log whose first
   * operation was written after the session started). Operations of other logs end the session
   * as a foreign log. Default: a log belongs to a topic when its log id is the topic's default
   * log id (the topic's hex id, {@link SyncStreamOptions.logId}); an app that writes topics'
   * operations into logs of its own naming describes them here.
   */
  isTopicLog?: (topic: Topic, author: NodeId, logId: LogId) => boolean;
  clock?: Clock;
}

/** Options of {@link SyncService.stream}. */
export interface SyncStreamOptions {
  /**
   * After catching up, keep each session open and exchange new operations at once (live
   * mode). Default `true`. The first stream of a topic decides for every later one.
   */
  liveMode?: boolean;
  /**
   * Our own log for this topic's operations. Default: the topic's hex id, so that one author's
   * operations of different topics never share a log.
   */
  logId?: LogId;
}

/** Options of {@link SyncHandle.publish}. */
export interface PublishOptions {
  /** Application data signed into the header (a plain object; `log_id` is set by us). */
  extensions?: Record<string, unknown>;
  /** Write to this log instead of the stream's. */
  logId?: LogId;
}

/** A running sync session, for UIs and diagnostics. */
export interface SyncSessionInfo {
  readonly sessionId: string;
  readonly topic: Topic | undefined;
  readonly remote: NodeId;
  readonly role: "initiator" | "acceptor";
  readonly phase: SyncSession["phase"];
  readonly liveMode: boolean;
}

/** Events of the sync service: every session's events plus scheduled retries. */
export type SyncServiceEvent =
  | SyncEvent
  | {
      readonly type: "sync:retry-scheduled";
      readonly at: number;
      readonly topic: Topic;
      readonly remote: NodeId;
      readonly delayMs: number;
    }
  | {
      /**
       * A session failed through the remote's fault: the remote gets no new session until
       * `until` (clock time). `error` is the typed reason (its `code` in `code`).
       */
      readonly type: "sync:peer-refused";
      readonly at: number;
      readonly topic: Topic | undefined;
      readonly remote: NodeId;
      readonly sessionId: string;
      readonly code: string;
      readonly error: Error;
      readonly until: number;
    };

/** Counters of a {@link SyncService}. */
export interface SyncServiceMetrics {
  sessionsInitiated: number;
  sessionsAccepted: number;
  /** Accepted sessions refused: cap reached, remote on cool-down, or the service is stopping. */
  sessionsRefused: number;
  /** Accepted sessions ended early to make room for a new one (still in their handshake). */
  sessionsEvicted: number;
  /** Sessions that failed through the remote's fault (each puts the remote on cool-down). */
  protocolViolations: number;
  /** Times a peer was put on cool-down. */
  refusedPeers: number;
  /** Unexpected errors caught around a session (bugs of ours, never a remote's doing). */
  internalErrors: number;
  sessionsFinished: number;
  sessionsFailed: number;
  retries: number;
  operationsPublished: number;
  operationsReceived: number;
  /** Received operations handed on to other live sessions of the topic. */
  operationsForwarded: number;
}

/** Default of {@link SyncServiceOptions.retryDelayMs} (upstream `failed_sync_session_retry`). */
export const DEFAULT_SYNC_RETRY_DELAY_MS = 5_000;
/** Default of {@link SyncServiceOptions.maxAcceptedSessions}. */
export const DEFAULT_MAX_ACCEPTED_SYNC_SESSIONS = 64;
/** Default of {@link SyncServiceOptions.firstMessageTimeoutMs}. */
export const DEFAULT_SYNC_FIRST_MESSAGE_TIMEOUT_MS = 3_000;

interface SessionEntry {
  readonly session: SyncSession;
  readonly remote: NodeId;
  topic: Topic | undefined;
}

interface TopicEntry {
  readonly topic: Topic;
  readonly liveMode: boolean;
  readonly logId: LogId;
  readonly handles: Set<SyncHandle>;
  gossip: GossipHandle | undefined;
  subscription: Subscription | undefined;
  /** Sessions of this topic by remote (one per pair). */
  readonly sessions: Map<NodeId, SessionEntry>;
  readonly retries: Map<NodeId, ReturnType<typeof setTimeout>>;
}

/**
 * Eventually consistent sync of append-only logs per topic (spec §6.4): for each topic it joins
 * the gossip overlay of the derived topic only to sample peers, and whenever a neighbour comes
 * up it runs a {@link SyncSession} with it over a stream of its own (the node with the smaller
 * id initiates, so a pair has one session). After catching up, sessions stay in live mode:
 * operations published here or received from one peer go to every other live peer of the topic.
 * Failed sessions are retried while the peer is still a neighbour; finished sessions are
 * removed at once.
 */
export class SyncService {
  readonly #options: SyncServiceOptions;
  readonly #endpoint: ProtocolEndpoint;
  /** Author of our operations: the signer's key (normally the node id). */
  readonly #author: NodeId;
  readonly #clock: Clock;
  readonly #events: EventStream<SyncServiceEvent>;
  readonly #topics = new Map<Topic, TopicEntry>();
  readonly #opening = new Map<Topic, Promise<TopicEntry>>();
  readonly #accepted = new Set<SessionEntry>();
  readonly #publishChains = new Map<string, Promise<unknown>>();
  readonly #retryDelay: number;
  readonly #maxAccepted: number;
  readonly #coolDown: PeerCoolDown;
  readonly metrics: SyncServiceMetrics = {
    sessionsInitiated: 0,
    sessionsAccepted: 0,
    sessionsRefused: 0,
    sessionsEvicted: 0,
    protocolViolations: 0,
    refusedPeers: 0,
    internalErrors: 0,
    sessionsFinished: 0,
    sessionsFailed: 0,
    retries: 0,
    operationsPublished: 0,
    operationsReceived: 0,
    operationsForwarded: 0,
  };
  #running = false;
  #stopped = false;

  constructor(options: SyncServiceOptions) {
    this.#options = options;
    this.#endpoint = options.endpoint;
    this.#author = NodeId.fromBytes(options.signer.publicKey);
    this.#clock = options.clock ?? systemClock;
    this.#events = new EventStream<SyncServiceEvent>(() => this.#clock.now());
    this.#retryDelay = options.retryDelayMs ?? DEFAULT_SYNC_RETRY_DELAY_MS;
    this.#maxAccepted = options.maxAcceptedSessions ?? DEFAULT_MAX_ACCEPTED_SYNC_SESSIONS;
    this.#coolDown = new PeerCoolDown(options.coolDownMs ?? DEFAULT_SYNC_COOL_DOWN_MS);
  }

  /** Whether `node` is on cool-down now (its last session failed through its fault). */
  isCoolingDown(node: NodeId): boolean {
    return this.#coolDown.has(node, this.#clock.now());
  }

  /** Every session's events (started, progress, operation received, finished, live, failed). Hot. */
  get events$(): Observable<SyncServiceEvent> {
    return this.#events.events$;
  }

  /** Topics with at least one open handle. */
  get topics(): Topic[] {
    return [...this.#topics.keys()];
  }

  /** Sessions running now. */
  sessions(): SyncSessionInfo[] {
    const entries = [...this.#accepted];
    for (const t of this.#topics.values()) {
      for (const e of t.sessions.values()) if (!this.#accepted.has(e)) entries.push(e);
    }
    return entries.map(({ session, remote, topic }) => ({
      sessionId: session.id,
      topic: topic ?? session.topic,
      remote,
      role: session.role,
      phase: session.phase,
      liveMode: session.liveMode,
    }));
  }

  /** Starts accepting sync sessions. Idempotent; {@link SyncService.stream} calls it. */
  start(): void {
    if (this.#running || this.#stopped) return;
    this.#running = true;
    this.#endpoint.accept(ProtocolName.logSync, (channel) => this.#accept(channel));
  }

  /**
   * Syncs `topic`: joins its peer-sampling overlay and syncs with every neighbour. A second
   * stream of the same topic shares the first (reference counted).
   *
   * @throws SyncStoppedError after {@link SyncService.stop}.
   */
  async stream(topic: Topic, options: SyncStreamOptions = {}): Promise<SyncHandle> {
    if (this.#stopped) throw new SyncStoppedError();
    this.start();
    const entry = this.#topics.get(topic) ?? (await this.#open(topic, options));
    const handle = new SyncHandle(this, entry.topic, entry.logId);
    entry.handles.add(handle);
    return handle;
  }

  async #open(topic: Topic, options: SyncStreamOptions): Promise<TopicEntry> {
    let opening = this.#opening.get(topic);
    if (opening === undefined) {
      opening = (async () => {
        const logId = options.logId ?? (topic as string);
        // Our own log belongs to the topic from the start, so the first peer gets it.
        await this.#options.topicStore.associate(topic, this.#author, logId);
        const entry: TopicEntry = {
          topic,
          liveMode: options.liveMode ?? true,
          logId,
          handles: new Set(),
          gossip: undefined,
          sessions: new Map(),
          retries: new Map(),
          subscription: undefined,
        };
        // Registered before joining, so a neighbour's first session already finds the topic.
        this.#topics.set(topic, entry);
        let gossip: GossipHandle;
        try {
          gossip = await this.#options.gossip.stream(syncGossipTopic(topic), {
            discoveryTopic: topic,
          });
        } catch (error) {
          this.#topics.delete(topic);
          throw error;
        }
        entry.gossip = gossip;
        entry.subscription = gossip.events$.subscribe((event) => {
          if (event.type === "gossip:neighbour-up") this.#neighbourUp(entry, event.node);
          if (event.type === "gossip:neighbour-down") this.#neighbourDown(entry, event.node);
        });
        for (const node of gossip.neighbours()) this.#neighbourUp(entry, node);
        return entry;
      })();
      this.#opening.set(topic, opening);
      opening.finally(() => this.#opening.delete(topic)).catch(() => {});
    }
    return opening;
  }

  /** Closes every topic and session and completes `events$`. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const entry of [...this.#topics.values()]) {
      for (const handle of entry.handles) handle._end();
      await this.#closeTopic(entry);
    }
    for (const e of this.#accepted) e.session.abort(new SyncStoppedError());
    this.#accepted.clear();
    if (this.#running) await this.#endpoint.unaccept?.(ProtocolName.logSync);
    this.#running = false;
    this.#events.complete();
  }

  /** @internal The events of one topic, for handles. */
  _events(topic: Topic): Observable<SyncServiceEvent> {
    return this.#events.events$.pipe(filter((e) => e.topic === topic));
  }

  /** @internal {@link SyncHandle.close}. */
  async _release(handle: SyncHandle): Promise<void> {
    const entry = this.#topics.get(handle.topic);
    if (entry === undefined || !entry.handles.delete(handle)) return;
    if (entry.handles.size === 0) await this.#closeTopic(entry);
  }

  /** @internal {@link SyncHandle.publish}. */
  async _publish(
    topic: Topic,
    logId: LogId,
    payload: Uint8Array,
    extensions?: Record<string, unknown>,
  ) {
    const entry = this.#topics.get(topic);
    if (entry === undefined || this.#stopped) throw new SyncStoppedError();
    const key = `${topic}/${String(logId)}`;
    // Operations of one log are created one after the other: each needs the previous hash.
    const previous = this.#publishChains.get(key) ?? Promise.resolve();
    const created = previous
      .catch(() => {})
      .then(async () => {
        const { logStore, topicStore, signer } = this.#options;
        const latest = await logStore.latest(this.#author, logId);
        const operation = await createOperation(signer, {
          payload,
          logId,
          seqNum: latest === undefined ? 0 : latest.header.seqNum + 1,
          ...(latest !== undefined ? { backlink: latest.hash } : {}),
          timestamp: Math.floor(this.#clock.now() * 1000),
          ...(extensions !== undefined ? { extensions } : {}),
        });
        await logStore.putMany([operation]);
        await topicStore.associate(topic, this.#author, logId);
        return operation;
      });
    this.#publishChains.set(key, created);
    const operation = await created;
    if (this.#publishChains.get(key) === created) this.#publishChains.delete(key);
    this.metrics.operationsPublished++;
    this.#forward(topic, operation, undefined);
    return operation;
  }

  /** @internal Everything stored for a topic, per log in log order. */
  async _operations(topic: Topic): Promise<Operation[]> {
    const { logStore, topicStore } = this.#options;
    const result: Operation[] = [];
    for (const [author, logIds] of await topicStore.resolve(topic)) {
      for (const logId of logIds) result.push(...(await logStore.range(author, logId)));
    }
    return result;
  }

  async #closeTopic(entry: TopicEntry): Promise<void> {
    this.#topics.delete(entry.topic);
    entry.subscription?.unsubscribe();
    for (const timer of entry.retries.values()) clearTimeout(timer);
    entry.retries.clear();
    for (const e of entry.sessions.values()) this.#endSession(e);
    entry.sessions.clear();
    await entry.gossip?.close();
  }

  #endSession(e: SessionEntry): void {
    if (e.session.liveMode && e.session.phase === "live") e.session.close();
    else e.session.abort();
  }

  #neighbourUp(entry: TopicEntry, node: NodeId): void {
    // One session per pair: the smaller node id opens it.
    if (this.#endpoint.nodeId < node && !entry.sessions.has(node)) {
      if (this.isCoolingDown(node)) this.#scheduleRetry(entry, node, this.#coolDownLeft(node));
      else this.#spawn(this.#initiate(entry, node));
    }
  }

  #coolDownLeft(node: NodeId): number {
    return Math.max(0, (this.#coolDown.until(node) ?? 0) - this.#clock.now());
  }

  /**
   * Runs a session task nobody awaits. Sessions handle their own failures; this catches what
   * must not happen (a bug, a throwing store adapter outside a session) so that it can never
   * become an unhandled rejection that takes the node down.
   */
  #spawn(task: Promise<void>): void {
    task.catch(() => {
      this.metrics.internalErrors++;
    });
  }

  #neighbourDown(entry: TopicEntry, node: NodeId): void {
    const retry = entry.retries.get(node);
    if (retry !== undefined) clearTimeout(retry);
    entry.retries.delete(node);
    const e = entry.sessions.get(node);
    if (e?.session.liveMode) this.#endSession(e);
  }

  async #initiate(entry: TopicEntry, remote: NodeId): Promise<void> {
    const session = this.#session({
      role: "initiator",
      topic: entry.topic,
      liveMode: entry.liveMode,
    });
    const e: SessionEntry = { session, remote, topic: entry.topic };
    entry.sessions.set(remote, e);
    this.metrics.sessionsInitiated++;
    let failure: Error | undefined;
    try {
      const channel = await this.#endpoint.connect(remote, ProtocolName.logSync);
      failure = await this.#run(e, channel);
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
      this.#events.emit({
        type: "sync:failed",
        sessionId: session.id,
        remote,
        topic: entry.topic,
        error: error instanceof Error ? error : new Error(String(error)),
        metrics: session.metrics,
      });
      this.metrics.sessionsFailed++;
    } finally {
      if (entry.sessions.get(remote) === e) entry.sessions.delete(remote);
    }
    if (failure === undefined) return;
    // A peer at fault is tried again only once its cool-down is over.
    const delay = this.isCoolingDown(remote) ? this.#coolDownLeft(remote) : this.#retryDelay;
    this.#scheduleRetry(entry, remote, delay);
  }

  #scheduleRetry(entry: TopicEntry, remote: NodeId, delay: number): void {
    if (this.#stopped || this.#topics.get(entry.topic) !== entry) return;
    if (!this.#isNeighbour(entry, remote) || entry.retries.has(remote)) return;
    this.#events.emit({
      type: "sync:retry-scheduled",
      topic: entry.topic,
      remote,
      delayMs: delay,
    });
    entry.retries.set(
      remote,
      setTimeout(() => {
        entry.retries.delete(remote);
        if (this.#topics.get(entry.topic) !== entry || entry.sessions.has(remote)) return;
        if (!this.#isNeighbour(entry, remote)) return;
        if (this.isCoolingDown(remote)) {
          this.#scheduleRetry(entry, remote, this.#coolDownLeft(remote));
          return;
        }
        this.metrics.retries++;
        this.#spawn(this.#initiate(entry, remote));
      }, delay),
    );
  }

  #isNeighbour(entry: TopicEntry, node: NodeId): boolean {
    return entry.gossip?.neighbours().includes(node) ?? false;
  }

  async #accept(channel: MessageChannel): Promise<void> {
    const remote = channel.remote;
    const refusal = !this.#running
      ? "the service is stopping"
      : this.isCoolingDown(remote)
        ? "the remote is on cool-down"
        : this.#accepted.size >= this.#maxAccepted && !this.#evictOne()
          ? `${this.#maxAccepted} sessions are running`
          : undefined;
    if (refusal !== undefined) {
      this.metrics.sessionsRefused++;
      channel.abort(new SyncSessionRefusedError(remote, refusal));
      return;
    }
    let e: SessionEntry | undefined;
    const session = this.#session({
      role: "acceptor",
      // Called by the handshake with the topic the initiator named, before any log is read:
      // from here on the session gets the topic's new operations.
      isSubscribed: (topic) => {
        const entry = this.#topics.get(topic);
        if (entry === undefined || e === undefined) return false;
        e.topic = topic;
        const existing = entry.sessions.get(remote);
        if (existing !== undefined && existing !== e) this.#endSession(existing);
        entry.sessions.set(remote, e);
        return true;
      },
      liveMode: (topic) => this.#topics.get(topic)?.liveMode ?? false,
    });
    e = { session, remote, topic: undefined };
    this.#accepted.add(e);
    this.metrics.sessionsAccepted++;
    try {
      await this.#run(e, channel);
    } catch {
      this.metrics.internalErrors++;
    } finally {
      this.#accepted.delete(e);
      const entry = e.topic === undefined ? undefined : this.#topics.get(e.topic);
      if (entry?.sessions.get(remote) === e) entry.sessions.delete(remote);
    }
  }

  /**
   * Makes room for one accepted session: ends the oldest that has not named a topic we sync.
   * Cheap identities can open streams and stay silent, but only a peer that knows the topic gets
   * past the handshake, so sessions past it are never evicted (an honest live session is idle
   * most of the time, and must not be churned out by strangers).
   */
  #evictOne(): boolean {
    for (const e of this.#accepted) {
      if (e.topic !== undefined) continue;
      this.#accepted.delete(e);
      this.metrics.sessionsEvicted++;
      e.session.abort(new SyncSessionEvictedError(e.remote));
      return true;
    }
    return false;
  }

  #session(
    options: Pick<
      ConstructorParameters<typeof SyncSession>[0],
      "role" | "topic" | "isSubscribed" | "liveMode"
    >,
  ): SyncSession {
    const { logStore, topicStore, verifier, limits } = this.#options;
    return new SyncSession({
      ...options,
      logStore,
      topicStore,
      isTopicLog: this.#options.isTopicLog ?? isDefaultTopicLog,
      firstMessageTimeoutMs:
        this.#options.firstMessageTimeoutMs ?? DEFAULT_SYNC_FIRST_MESSAGE_TIMEOUT_MS,
      clock: this.#clock,
      ...(verifier !== undefined ? { verifier } : {}),
      ...(limits !== undefined ? { limits } : {}),
    });
  }

  /**
   * Runs a session to its end, forwarding its events; resolves with the error it failed with, if
   * any. A failure through the remote's fault puts the remote on cool-down.
   */
  async #run(e: SessionEntry, channel: MessageChannel): Promise<Error | undefined> {
    const sub = e.session.events$.subscribe((event) => {
      if (event.type === "sync:operation-received") {
        this.metrics.operationsReceived++;
        if (event.topic !== undefined) this.#forward(event.topic, event.operation, e.remote);
      }
      this.#events.emit(event);
    });
    try {
      await e.session.run(channel);
      this.metrics.sessionsFinished++;
      return undefined;
    } catch (thrown) {
      const error = thrown instanceof Error ? thrown : new Error(String(thrown));
      if (!(error instanceof TopicNotSubscribedError)) this.metrics.sessionsFailed++;
      if (isRemoteFault(error)) this.#refusePeer(e, error);
      return error;
    } finally {
      sub.unsubscribe();
    }
  }

  #refusePeer(e: SessionEntry, error: Error): void {
    this.metrics.protocolViolations++;
    this.metrics.refusedPeers++;
    const until = this.#coolDown.add(e.remote, this.#clock.now());
    this.#events.emit({
      type: "sync:peer-refused",
      sessionId: e.session.id,
      topic: e.topic ?? e.session.topic,
      remote: e.remote,
      code: error instanceof P2pandaError ? error.code : "UNKNOWN",
      error,
      until,
    });
  }

  /** Offers an operation to every live session of the topic except the one it came from. */
  #forward(topic: Topic, operation: Operation, from: NodeId | undefined): void {
    const entry = this.#topics.get(topic);
    if (entry === undefined || !entry.liveMode) return;
    for (const [remote, e] of entry.sessions) {
      if (remote === from) continue;
      e.session.publish(operation);
      if (from !== undefined) this.metrics.operationsForwarded++;
    }
  }
}

/**
 * A subscription to one topic's sync. Several handles of a topic share its sessions;
 * {@link SyncHandle.close} releases this one and the last to close ends them.
 */
export class SyncHandle {
  readonly topic: Topic;
  /** The log {@link SyncHandle.publish} writes to. */
  readonly logId: LogId;
  readonly #service: SyncService;
  #closed = false;
  readonly #events: Observable<SyncServiceEvent>;

  /** @internal Created by {@link SyncService.stream}. */
  constructor(service: SyncService, topic: Topic, logId: LogId) {
    this.#service = service;
    this.topic = topic;
    this.logId = logId;
    this.#events = service._events(topic);
  }

  /**
   * Sessions of this topic: started (initiated ones; accepted ones carry the topic once the
   * handshake named it), `sync:started` with totals, `sync:operation-received` (validated and
   * stored, in log order), finished, live mode started/finished, failed, retry scheduled.
   */
  get events$(): Observable<SyncServiceEvent> {
    return this.#events;
  }

  /** Whether {@link SyncHandle.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Creates the next operation of our log with `payload`, signs it, stores it (durably, before
   * resolving), and sends it to every live peer of the topic.
   *
   * @throws SyncStoppedError after close.
   */
  publish(payload: Uint8Array, options: PublishOptions = {}): Promise<Operation> {
    if (this.#closed) return Promise.reject(new SyncStoppedError("sync handle is closed"));
    return this.#service._publish(
      this.topic,
      options.logId ?? this.logId,
      payload,
      options.extensions,
    );
  }

  /** Every operation stored for the topic (ours and synced), per log in log order. */
  operations(): Promise<Operation[]> {
    return this.#service._operations(this.topic);
  }

  /** Releases this handle; the last handle of the topic ends its sessions. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this._end();
    await this.#service._release(this);
  }

  /** @internal */
  _end(): void {
    this.#closed = true;
  }
}

/** The sync service was stopped, or a closed handle was used. */
export class SyncStoppedError extends P2pandaError {
  constructor(message = "sync is stopped") {
    super("SYNC_STOPPED", message);
  }
}

/** An incoming sync session was refused (too many at once, remote on cool-down, or stopping). */
export class SyncSessionRefusedError extends P2pandaError {
  constructor(remote: NodeId, reason = "refused") {
    super("SYNC_SESSION_REFUSED", `sync session from ${remote.slice(0, 8)} refused: ${reason}`);
  }
}

/** An accepted session still in its handshake was ended to make room for a new one. */
export class SyncSessionEvictedError extends P2pandaError {
  constructor(remote: NodeId) {
    super(
      "SYNC_SESSION_EVICTED",
      `sync session from ${remote.slice(0, 8)} evicted: all slots taken and it named no topic yet`,
    );
  }
}

/** The default of {@link SyncServiceOptions.isTopicLog}: the topic's default log id. */
function isDefaultTopicLog(topic: Topic, _author: NodeId, logId: LogId): boolean {
  return logId === topic;
}

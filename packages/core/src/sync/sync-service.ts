import { EventStream, type Unstamped } from "@p2panda-web/events";
import type { Observable, Subscription } from "rxjs";
import { concatBytes, fromHex } from "../bytes.ts";
import type { Clock } from "../clock.ts";
import type { MessageChannel } from "../codec/message-channel.ts";
import type { PayloadKey } from "../crypto/payload-key.ts";
import type { ProtocolEndpoint } from "../endpoint/protocol-endpoint.ts";
import { P2pandaError } from "../errors.ts";
import type { GossipHandle, GossipService } from "../gossip/gossip-service.ts";
import { hash } from "../hash.ts";
import type { NodeId } from "../ids/node-id.ts";
import { Topic } from "../ids/topic.ts";
import { Lifecycle, type LifecycleState, type Startable } from "../runtime/lifecycle.ts";
import { type Runtime, systemRuntime } from "../runtime/runtime.ts";
import type { ScheduledTimer } from "../runtime/timers.ts";
import { SyncSessionEvictedError, SyncSessionRefusedError, SyncStoppedError } from "./errors.ts";
import type { SyncEvent } from "./events.ts";
import type { LogId } from "./log-id.ts";
import {
  LogSyncProtocol,
  type LogSyncProtocolOptions,
  type PublishOptions,
} from "./log-sync-protocol.ts";
import type { Operation } from "./operation.ts";
import type {
  SyncProgress,
  TopicSessionOptions,
  TopicSyncEvent,
  TopicSyncProtocol,
  TopicSyncSession,
} from "./protocol.ts";
import type { SyncServiceEvent } from "./service-events.ts";
import { SyncHandle } from "./sync-handle.ts";
import {
  type SessionEndReason,
  type SessionKey,
  type SessionOutcome,
  SyncManager,
  type SyncManagerInput,
  type SyncManagerOutput,
} from "./sync-manager.ts";

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

/** What {@link SyncService} takes whichever protocol it runs. */
export interface SyncServiceBaseOptions {
  endpoint: ProtocolEndpoint;
  /** Membership: each synced topic joins the overlay of its derived topic. */
  gossip: GossipService;
  /** A failed session with a node that is still a neighbour is retried after this. Default 5,000 ms. */
  retryDelayMs?: number;
  /**
   * Sessions accepted from others at once. When all are taken, a new one evicts the oldest that
   * has not yet named a topic we sync (the handshake takes one round trip for an honest peer);
   * if every session is past its handshake, the new one is refused. Default 64.
   */
  maxAcceptedSessions?: number;
  /**
   * A peer whose session failed through its fault (malformed, oversized, out-of-order or invalid
   * input, a foreign log, a stall) gets no new session with us, in either direction, for this
   * long. Failures that are not its fault are retried after {@link retryDelayMs}. Default
   * 60,000 ms.
   */
  coolDownMs?: number;
  /** Time, timers and randomness. Default {@link systemRuntime}. */
  runtime?: Runtime;
  /** Overrides the runtime's clock (kept for callers from before `runtime`). */
  clock?: Clock;
}

/**
 * Options of {@link SyncService}: the base options and either a `protocol`, or the options of
 * the default {@link LogSyncProtocol} (signer, stores, verifier, limits…).
 */
export type SyncServiceOptions<
  TItem = Operation,
  TEvent extends TopicSyncEvent = SyncEvent,
  TWrite = Uint8Array,
  TWriteOptions = PublishOptions,
> = SyncServiceBaseOptions &
  (
    | { protocol: TopicSyncProtocol<TItem, TEvent, TWrite, TWriteOptions> }
    | (LogSyncProtocolOptions & { protocol?: undefined })
  );

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
  /**
   * Encrypts the bodies of the operations we write and decrypts those we receive (see
   * `TopicSecret.payloadKey`): events, `operations()` and `publish` then carry the plaintext as
   * `operation.payload`, and a body the key does not open is reported by
   * `sync:payload-undecryptable`. Without it (a blind peer, or a plaintext topic) bodies are
   * stored, served and handed out as received. The first stream of a topic decides.
   */
  payloadKey?: PayloadKey;
}

/** A running sync session, for UIs and diagnostics. */
export interface SyncSessionInfo {
  readonly sessionId: string;
  readonly topic: Topic | undefined;
  readonly remote: NodeId;
  readonly role: "initiator" | "acceptor";
  /** Log sync: `handshake`, `sync`, `live`; other protocols name their own. */
  readonly phase: string;
  readonly liveMode: boolean;
  /**
   * How many operations we lacked when the catch-up began and how many arrived since (and the
   * same towards the remote): undefined until both sides announced what they will send.
   */
  readonly progress: SyncProgress | undefined;
}

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
  /** Items written here (log sync: operations). */
  operationsPublished: number;
  /** Items received and stored. */
  operationsReceived: number;
  /** Received items handed on to other live sessions of the topic. */
  operationsForwarded: number;
}

/** A session the service runs, by the key its manager gave it. */
interface SessionEntry<TItem, TEvent> {
  readonly key: SessionKey;
  readonly session: TopicSyncSession<TItem, TEvent>;
  readonly remote: NodeId;
  topic: Topic | undefined;
}

/** What the service holds per open topic besides the manager's decisions. */
interface TopicEntry<H> {
  readonly topic: Topic;
  readonly liveMode: boolean;
  readonly logId: LogId;
  readonly handles: Set<H>;
  gossip: GossipHandle | undefined;
  subscription: Subscription | undefined;
}

/**
 * Eventually consistent sync per topic (spec §6.4), over any {@link TopicSyncProtocol} (log sync
 * by default): for each topic it joins the gossip overlay of the derived topic only to sample
 * peers, and runs a session of the protocol over a stream of its own with the neighbours its
 * {@link SyncManager} picks (the node with the smaller id initiates, so a pair has one
 * session). After catching up, sessions stay in live mode: items written here or received from
 * one peer go to every other live peer of the topic. Failed sessions are retried while the peer
 * is still a neighbour; finished sessions are removed at once.
 *
 * Every decision is the manager's; this class is its adapter: it feeds it the overlay's
 * neighbour events, incoming streams and session outcomes, and carries out what it asks (open a
 * stream, end a session, set a timer on the injected {@link Runtime}, emit an event).
 */
export class SyncService<
  TItem = Operation,
  TEvent extends TopicSyncEvent = SyncEvent,
  TWrite = Uint8Array,
  TWriteOptions = PublishOptions,
> implements Startable
{
  /** The protocol sessions run (a {@link LogSyncProtocol} unless one was given). */
  readonly protocol: TopicSyncProtocol<TItem, TEvent, TWrite, TWriteOptions>;
  readonly #options: SyncServiceBaseOptions;
  readonly #endpoint: ProtocolEndpoint;
  readonly #runtime: Runtime;
  readonly #lifecycle = new Lifecycle("sync", () => new SyncStoppedError());
  readonly #manager: SyncManager;
  readonly #events: EventStream<SyncServiceEvent<TEvent>>;
  readonly #topics = new Map<Topic, TopicEntry<SyncHandle<TItem, TEvent, TWrite, TWriteOptions>>>();
  readonly #opening = new Map<
    Topic,
    Promise<TopicEntry<SyncHandle<TItem, TEvent, TWrite, TWriteOptions>>>
  >();
  readonly #sessions = new Map<SessionKey, SessionEntry<TItem, TEvent>>();
  readonly #timers = new Map<string, ScheduledTimer>();
  #accepting = false;
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

  constructor(options: SyncServiceOptions<TItem, TEvent, TWrite, TWriteOptions>) {
    this.#options = options;
    this.#endpoint = options.endpoint;
    // Without a protocol of its own, the service runs log sync (and the generic parameters keep
    // their log-sync defaults).
    this.protocol =
      options.protocol ??
      (new LogSyncProtocol(options) as unknown as TopicSyncProtocol<
        TItem,
        TEvent,
        TWrite,
        TWriteOptions
      >);
    const runtime = options.runtime ?? systemRuntime;
    this.#runtime = options.clock !== undefined ? { ...runtime, clock: options.clock } : runtime;
    this.#events = new EventStream<SyncServiceEvent<TEvent>>(() => this.#now());
    this.#manager = new SyncManager({
      me: this.#endpoint.nodeId,
      ...(options.retryDelayMs !== undefined ? { retryDelayMs: options.retryDelayMs } : {}),
      ...(options.coolDownMs !== undefined ? { coolDownMs: options.coolDownMs } : {}),
      ...(options.maxAcceptedSessions !== undefined
        ? { maxAcceptedSessions: options.maxAcceptedSessions }
        : {}),
    });
  }

  /** Where the service is in its {@link Startable} lifecycle. */
  get state(): LifecycleState {
    return this.#lifecycle.state;
  }

  /** Whether `node` is on cool-down now (its last session failed through its fault). */
  isCoolingDown(node: NodeId): boolean {
    return this.#manager.isCoolingDown(node, this.#now());
  }

  /** Every session's events (started, progress, operation received, finished, live, failed). Hot. */
  get events$(): Observable<SyncServiceEvent<TEvent>> {
    return this.#events.events$;
  }

  /** Topics with at least one open handle. */
  get topics(): Topic[] {
    return [...this.#topics.keys()];
  }

  /** Sessions running now. */
  sessions(): SyncSessionInfo[] {
    return [...this.#sessions.values()].map(({ session, remote, topic }) => ({
      sessionId: session.id,
      topic: topic ?? session.topic,
      remote,
      role: session.role,
      phase: session.phase,
      liveMode: session.liveMode,
      progress: session.progress,
    }));
  }

  /**
   * Starts accepting sync sessions. Idempotent; {@link SyncService.stream} calls it.
   *
   * @throws SyncStoppedError after {@link SyncService.stop}.
   */
  start(): Promise<void> {
    return this.#lifecycle.start(() => {
      this.#endpoint.accept(this.protocol.streamProtocol, (channel) => this.#accept(channel));
      this.#accepting = true;
    });
  }

  /**
   * Syncs `topic`: joins its peer-sampling overlay and syncs with every neighbour. A second
   * stream of the same topic shares the first (reference counted).
   *
   * @throws SyncStoppedError after {@link SyncService.stop}.
   */
  async stream(
    topic: Topic,
    options: SyncStreamOptions = {},
  ): Promise<SyncHandle<TItem, TEvent, TWrite, TWriteOptions>> {
    this.#lifecycle.assertNotStopped();
    await this.start();
    const entry = this.#topics.get(topic) ?? (await this.#open(topic, options));
    const handle = new SyncHandle<TItem, TEvent, TWrite, TWriteOptions>(
      this,
      entry.topic,
      entry.logId,
    );
    entry.handles.add(handle);
    return handle;
  }

  async #open(
    topic: Topic,
    options: SyncStreamOptions,
  ): Promise<TopicEntry<SyncHandle<TItem, TEvent, TWrite, TWriteOptions>>> {
    let opening = this.#opening.get(topic);
    if (opening === undefined) {
      opening = (async () => {
        const logId = options.logId ?? (topic as string);
        await this.protocol.openTopic(topic, {
          logId,
          ...(options.payloadKey !== undefined ? { payloadKey: options.payloadKey } : {}),
        });
        const entry: TopicEntry<SyncHandle<TItem, TEvent, TWrite, TWriteOptions>> = {
          topic,
          liveMode: options.liveMode ?? true,
          logId,
          handles: new Set(),
          gossip: undefined,
          subscription: undefined,
        };
        // Registered before joining, so a neighbour's first session already finds the topic.
        this.#topics.set(topic, entry);
        this.#input({ type: "topic-opened", topic, liveMode: entry.liveMode });
        let gossip: GossipHandle;
        try {
          gossip = await this.#options.gossip.stream(syncGossipTopic(topic), {
            discoveryTopic: topic,
          });
        } catch (error) {
          this.#topics.delete(topic);
          this.#input({ type: "topic-closed", topic });
          throw error;
        }
        entry.gossip = gossip;
        entry.subscription = gossip.events$.subscribe((event) => {
          if (event.type === "gossip:neighbour-up") {
            this.#input({ type: "neighbour-up", topic, node: event.node });
          }
          if (event.type === "gossip:neighbour-down") {
            this.#input({ type: "neighbour-down", topic, node: event.node });
          }
        });
        for (const node of gossip.neighbours()) this.#input({ type: "neighbour-up", topic, node });
        return entry;
      })();
      this.#opening.set(topic, opening);
      opening.finally(() => this.#opening.delete(topic)).catch(() => {});
    }
    return opening;
  }

  /** Closes every topic and session and completes `events$`. Idempotent; final. */
  stop(): Promise<void> {
    return this.#lifecycle.stop(async () => {
      const entries = [...this.#topics.values()];
      for (const entry of entries) for (const handle of entry.handles) handle._end();
      // Ends every session, cancels every retry and refuses what comes in from now on.
      this.#input({ type: "stop" });
      for (const entry of entries) await this.#leave(entry);
      if (this.#accepting) await this.#endpoint.unaccept?.(this.protocol.streamProtocol);
      this.#accepting = false;
      this.#events.complete();
    });
  }

  /** @internal The events of one topic, for handles. */
  _events(topic: Topic): Observable<SyncServiceEvent<TEvent>> {
    return this.#events.where((e) => e.topic === topic);
  }

  /** @internal {@link SyncHandle.close}. */
  async _release(handle: SyncHandle<TItem, TEvent, TWrite, TWriteOptions>): Promise<void> {
    const entry = this.#topics.get(handle.topic);
    if (entry === undefined || !entry.handles.delete(handle)) return;
    if (entry.handles.size > 0) return;
    this.#input({ type: "topic-closed", topic: entry.topic });
    await this.#leave(entry);
  }

  /** @internal {@link SyncHandle.publish}. */
  async _publish(topic: Topic, input: TWrite, options?: TWriteOptions): Promise<TItem> {
    const entry = this.#topics.get(topic);
    if (entry === undefined || !this.#lifecycle.running) throw new SyncStoppedError();
    const item = await this.protocol.write(topic, input, options, this.#now());
    this.metrics.operationsPublished++;
    this.#input({ type: "operation", topic }, { item });
    return item;
  }

  /** @internal Everything held for a topic. */
  _operations(topic: Topic): Promise<TItem[]> {
    return this.protocol.items(topic);
  }

  /** Leaves the topic's overlay (the manager has already ended its sessions). */
  async #leave(entry: TopicEntry<SyncHandle<TItem, TEvent, TWrite, TWriteOptions>>): Promise<void> {
    if (this.#topics.get(entry.topic) === entry) this.#topics.delete(entry.topic);
    entry.subscription?.unsubscribe();
    await entry.gossip?.close();
  }

  #now(): number {
    return this.#runtime.clock.now();
  }

  /** Feeds the manager one input now and carries out what it decides. */
  #input(input: SyncManagerInput, context: ApplyContext<TItem> = {}): SyncManagerOutput[] {
    const outputs = this.#manager.handle(input, this.#now());
    this.#apply(outputs, context);
    return outputs;
  }

  #apply(outputs: readonly SyncManagerOutput[], context: ApplyContext<TItem>): void {
    for (const out of outputs) {
      switch (out.type) {
        case "initiate":
          this.metrics.sessionsInitiated++;
          if (out.retry) this.metrics.retries++;
          this.#spawn(this.#initiate(out.key, out.topic, out.remote, out.liveMode));
          break;
        case "end-session":
          this.#end(out.key, out.reason);
          break;
        case "forward":
          if (context.item === undefined) break;
          for (const key of out.keys) {
            this.#sessions.get(key)?.session.publish(context.item);
            if (context.from !== undefined) this.metrics.operationsForwarded++;
          }
          break;
        case "set-timer": {
          const timerKey = `${out.topic}/${out.node}`;
          this.#timers.get(timerKey)?.cancel();
          this.#timers.set(
            timerKey,
            this.#runtime.timers.after(out.delayMs, () => {
              this.#timers.delete(timerKey);
              this.#input({ type: "timer-fired", topic: out.topic, node: out.node });
            }),
          );
          break;
        }
        case "cancel-timer": {
          const timerKey = `${out.topic}/${out.node}`;
          this.#timers.get(timerKey)?.cancel();
          this.#timers.delete(timerKey);
          break;
        }
        case "retry-scheduled":
          this.#events.emit({
            type: "sync:retry-scheduled",
            topic: out.topic,
            remote: out.remote,
            delayMs: out.delayMs,
          });
          break;
        case "peer-refused": {
          this.metrics.protocolViolations++;
          this.metrics.refusedPeers++;
          const error = context.error ?? new Error("remote fault");
          this.#events.emit({
            type: "sync:peer-refused",
            sessionId: context.sessionId ?? String(out.key),
            topic: out.topic,
            remote: out.remote,
            code: error instanceof P2pandaError ? error.code : "UNKNOWN",
            error,
            until: out.until,
          });
          break;
        }
        case "accept":
        case "refuse":
        case "bind":
          // Answers to the caller's own input; it reads them from the returned outputs.
          break;
      }
    }
  }

  /** Ends a session the way its reason calls for. */
  #end(key: SessionKey, reason: SessionEndReason): void {
    const e = this.#sessions.get(key);
    if (e === undefined) return;
    const { session } = e;
    if (reason === "evicted") {
      this.metrics.sessionsEvicted++;
      session.abort(new SyncSessionEvictedError(e.remote));
    } else if (reason === "stopped") {
      session.abort(new SyncStoppedError());
    } else if (session.liveMode && session.phase === "live") {
      session.close();
    } else {
      session.abort();
    }
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

  async #initiate(key: SessionKey, topic: Topic, remote: NodeId, liveMode: boolean) {
    const session = this.#session({ role: "initiator", topic, liveMode });
    const e: SessionEntry<TItem, TEvent> = { key, session, remote, topic };
    this.#sessions.set(key, e);
    let failure: Error | undefined;
    try {
      const channel = await this.#endpoint.connect(remote, this.protocol.streamProtocol);
      failure = await this.#run(e, channel);
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
      this.#emit(this.protocol.failedEvent(session, remote, failure));
      this.metrics.sessionsFailed++;
    } finally {
      this.#sessions.delete(key);
    }
    this.#ended(e, failure);
  }

  /** Tells the manager how session `e` ended. */
  #ended(e: SessionEntry<TItem, TEvent>, failure: Error | undefined): void {
    const outcome: SessionOutcome =
      failure === undefined
        ? "finished"
        : this.protocol.isRemoteFault(failure)
          ? "remote-fault"
          : "failed";
    this.#input(
      { type: "session-ended", key: e.key, outcome },
      { sessionId: e.session.id, ...(failure !== undefined ? { error: failure } : {}) },
    );
  }

  async #accept(channel: MessageChannel): Promise<void> {
    const remote = channel.remote;
    const outputs = this.#input({ type: "session-offered", remote });
    const admitted = outputs.find((o) => o.type === "accept");
    if (admitted === undefined) {
      const refused = outputs.find((o) => o.type === "refuse");
      this.metrics.sessionsRefused++;
      channel.abort(new SyncSessionRefusedError(remote, refused?.reason));
      return;
    }
    const key = admitted.key;
    let e: SessionEntry<TItem, TEvent> | undefined;
    const session = this.#session({
      role: "acceptor",
      // Called by the handshake with the topic the initiator named, before any log is read:
      // from here on the session gets the topic's new operations.
      isSubscribed: (topic) => {
        if (e === undefined) return false;
        const bound = this.#input({ type: "topic-named", key, topic }).some(
          (o) => o.type === "bind",
        );
        if (bound) e.topic = topic;
        return bound;
      },
      liveMode: (topic) => this.#topics.get(topic)?.liveMode ?? false,
    });
    e = { key, session, remote, topic: undefined };
    this.#sessions.set(key, e);
    this.metrics.sessionsAccepted++;
    let failure: Error | undefined;
    try {
      failure = await this.#run(e, channel);
    } catch {
      this.metrics.internalErrors++;
    } finally {
      this.#sessions.delete(key);
      this.#ended(e, failure);
    }
  }

  #session(options: Omit<TopicSessionOptions, "clock">): TopicSyncSession<TItem, TEvent> {
    return this.protocol.session({ ...options, clock: this.#runtime.clock });
  }

  /**
   * Runs a session to its end, forwarding its events; resolves with the error it failed with, if
   * any.
   */
  async #run(e: SessionEntry<TItem, TEvent>, channel: MessageChannel): Promise<Error | undefined> {
    const emit = (event: TEvent): void => {
      const item = this.protocol.received(event);
      if (item !== undefined) {
        this.metrics.operationsReceived++;
        if (event.topic !== undefined) {
          this.#input(
            { type: "operation", topic: event.topic, from: e.remote },
            { item, from: e.remote },
          );
        }
      }
      this.#emit(event);
    };
    try {
      await e.session.run(channel, emit);
      this.metrics.sessionsFinished++;
      return undefined;
    } catch (thrown) {
      const error = thrown instanceof Error ? thrown : new Error(String(thrown));
      if (this.protocol.isDeclined?.(error) !== true) this.metrics.sessionsFailed++;
      return error;
    }
  }

  /** Emits a session's event (or one the protocol made) on the service's stream. */
  #emit(event: TEvent | Unstamped<TEvent>): void {
    // A session's events carry their own time; the stream stamps them again with the same clock.
    this.#events.emit(event as Unstamped<SyncServiceEvent<TEvent>>);
  }
}

/** What the adapter knows beside a manager output: the item, the failure. */
interface ApplyContext<TItem> {
  readonly item?: TItem;
  readonly from?: NodeId;
  readonly error?: Error;
  readonly sessionId?: string;
}

import { EventStream, type Unstamped } from "@p2panda-web/events";
import type { Observable } from "rxjs";
import { type Clock, systemClock } from "../clock.ts";
import type { MessageChannel } from "../codec/message-channel.ts";
import { yieldToEventLoop } from "../event-loop.ts";
import type { NodeId } from "../ids/node-id.ts";
import type { Topic } from "../ids/topic.ts";
import {
  ForeignLogError,
  SessionAbortedError,
  type SyncPhase,
  TopicNotSubscribedError,
  UnexpectedStreamClosureError,
} from "./errors.ts";
import type { SyncEvent } from "./events.ts";
import { OperationIngest } from "./ingest.ts";
import { type LogRange, logKey, type TopicLogs } from "./log-heights.ts";
import type { LogId } from "./log-id.ts";
import { LogSync, type LogSyncOutput, type SyncLimits } from "./log-sync.ts";
import { decodeSyncMessage, encodeSyncMessage, type TopicSyncMessage } from "./messages.ts";
import type { SyncMetrics } from "./metrics.ts";
import { authorOf, logIdOf, type Operation } from "./operation.ts";
import type { RevealedOperation } from "./payload-encryption.ts";
import type { SyncProgress, SyncProtocol } from "./protocol.ts";
import type { LogStore } from "./store/log-store.ts";
import type { TopicStore } from "./store/topic-store.ts";
import { TopicHandshake } from "./topic-handshake.ts";
import type { SignatureVerifier } from "./validation.ts";

/** Default number of operations read from the store at a time when sending. */
export const DEFAULT_SEND_PAGE_SIZE = 256;

/** Options of a {@link SyncSession}. */
export interface SyncSessionOptions {
  /** `initiator` opened the stream and names the topic; `acceptor` answers. */
  readonly role: "initiator" | "acceptor";
  /** The topic (initiator only). */
  readonly topic?: Topic;
  /** Acceptor: whether we sync this topic. Default: every topic. */
  readonly isSubscribed?: (topic: Topic) => boolean;
  readonly logStore: LogStore;
  readonly topicStore: TopicStore;
  /**
   * Stay connected after sync and exchange new operations (spec "live mode"). Default false.
   * An acceptor that learns the topic only from the handshake may decide per topic.
   */
  readonly liveMode?: boolean | ((topic: Topic) => boolean);
  /** Limits on what the remote can make us process; defaults in `DEFAULT_SYNC_LIMITS`. */
  readonly limits?: Partial<SyncLimits>;
  /** Ed25519 verifier for received operations (`nobleEd25519`, `await webCryptoEd25519()`). */
  readonly verifier?: SignatureVerifier;
  /** Received operations validated and stored per batch. Default 128. */
  readonly batchSize?: number;
  /**
   * Bytes (headers and bodies) after which a batch is validated and stored even when it holds
   * fewer than `batchSize` operations. Default 1 MiB: with `maxBatchesInFlight`, what bounds
   * the memory a catch-up of large operations holds.
   */
  readonly batchBytes?: number;
  /**
   * Received batches verified and stored while the next is received. Default 4; 0 verifies and
   * stores each batch before reading on (no pipelining).
   */
  readonly maxBatchesInFlight?: number;
  /** Operations read from the store per page when sending. Default 256. */
  readonly pageSize?: number;
  /** Size of the de-dup buffer. Default 1,024. */
  readonly dedupCapacity?: number;
  /**
   * Live mode: whether a log that neither the topic store lists for the topic nor the remote
   * announced in its `Have` still belongs to the topic (a log started after the sync phase).
   * Operations of any other log end the session with {@link ForeignLogError}. Default: none.
   */
  readonly isTopicLog?: (topic: Topic, author: NodeId, logId: LogId) => boolean;
  /**
   * Acceptor: how long to wait for the remote's first message. An honest initiator sends it at
   * once; a short deadline frees the slot of one that opens a stream and stays silent. Default:
   * the channel's receive timeout.
   */
  readonly firstMessageTimeoutMs?: number;
  /**
   * Opens the bodies of received operations for their events (log sync with a payload key):
   * the event carries what it returns, and a `sync:payload-undecryptable` follows when it
   * reports an error. Storage and forwarding keep the operation as received.
   */
  readonly reveal?: (topic: Topic, operation: Operation) => RevealedOperation;
  /** Identifies the session in events. Default: a counter. */
  readonly sessionId?: string;
  /** Time source for event stamps. */
  readonly clock?: Clock;
  /** Where to emit events; default: a stream of this session's own ({@link SyncSession.events$}). */
  readonly events?: EventStream<SyncEvent>;
}

let nextSessionId = 1;

/**
 * One topic log sync session over one {@link MessageChannel} (spec §6.3): topic handshake, log
 * sync in both directions at once, then optionally live mode. The I/O adapter around the
 * sans-IO {@link TopicHandshake} and {@link LogSync} machines: it moves messages between the
 * channel and the machines, reads the store for what to send, and validates and stores what
 * arrives ({@link OperationIngest}).
 *
 * Events are hot: subscribe to {@link SyncSession.events$} before calling `run`.
 */
export class SyncSession implements SyncProtocol<SyncMetrics, SyncEvent> {
  readonly name = "topic-log-sync";
  readonly id: string;
  readonly role: "initiator" | "acceptor";
  #liveMode: boolean | undefined;
  readonly #options: SyncSessionOptions;
  readonly #events: EventStream<SyncEvent>;
  readonly #machine: LogSync;
  #topic: Topic | undefined;
  #channel: MessageChannel | undefined;
  #remote: NodeId | undefined;
  #emit: ((event: SyncEvent) => void) | undefined;
  #ingest: OperationIngest | undefined;
  #phase: SyncPhase = "handshake";
  #sendChain: Promise<void> = Promise.resolve();
  #firstError: Error | undefined;
  #liveQueue: Operation[] = [];
  #closeRequested = false;
  #started = false;
  /** Both sides announced what they will send (`sync:started`): the progress basis is known. */
  #announced = false;
  #received = 0;
  /** Keys of the logs of the topic: the topic store's and those the remote announced. */
  readonly #topicLogs = new Set<string>();
  readonly #clock: Clock;

  constructor(options: SyncSessionOptions) {
    if (options.role === "initiator" && options.topic === undefined) {
      throw new TypeError("an initiator needs a topic");
    }
    this.#options = options;
    this.id = options.sessionId ?? String(nextSessionId++);
    this.role = options.role;
    this.#topic = options.topic;
    const live = options.liveMode ?? false;
    if (typeof live === "boolean") this.#liveMode = live;
    else if (options.topic !== undefined) this.#liveMode = live(options.topic);
    const clock = options.clock ?? systemClock;
    this.#clock = clock;
    this.#events = options.events ?? new EventStream<SyncEvent>(() => clock.now());
    this.#machine = new LogSync(options.limits, options.dedupCapacity);
  }

  /**
   * Whether the session goes on in live mode after the sync phase (for an acceptor deciding per
   * topic: `false` until the handshake named the topic).
   */
  get liveMode(): boolean {
    return this.#liveMode ?? false;
  }

  /** This session's events (hot; see {@link SyncEvent}). */
  get events$(): Observable<SyncEvent> {
    return this.#events.events$;
  }

  /** The topic (for an acceptor: once the handshake named it). */
  get topic(): Topic | undefined {
    return this.#topic;
  }

  /** Where the session is. */
  get phase(): SyncPhase {
    return this.#phase;
  }

  /** A copy of the counters so far. */
  get metrics(): SyncMetrics {
    return { ...this.#machine.metrics };
  }

  /**
   * How far the catch-up is: undefined until both sides announced what they will send (after
   * the log heights were compared), then what each side lacked and how much of it went over.
   */
  get progress(): SyncProgress | undefined {
    if (!this.#announced) return undefined;
    const m = this.#machine.metrics;
    return {
      behind: m.inboundOperations,
      received: m.receivedSyncOperations,
      ahead: m.outboundOperations,
      sent: m.sentSyncOperations,
    };
  }

  /**
   * Live mode: offers a new operation of the topic (written locally or received from another
   * session) to the remote. Queued until live mode starts; dropped if this remote already has
   * it from this session. Ignored when the session is not in live mode.
   */
  publish(operation: Operation): void {
    if (this.#liveMode === false || this.#firstError !== undefined) return;
    if (this.#phase !== "live") {
      this.#liveQueue.push(operation);
      return;
    }
    this.#process(this.#machine.publish(operation)).catch((e) => this.#fail(e));
  }

  /** Live mode: ends it gracefully (`close`; the remote then closes the stream). */
  close(): void {
    this.#closeRequested = true;
    if (this.#phase === "live") this.#process(this.#machine.close()).catch((e) => this.#fail(e));
  }

  /** Ends the session now with {@link SessionAbortedError} (or `reason`). */
  abort(reason: Error = new SessionAbortedError()): void {
    this.#fail(reason);
  }

  /**
   * Runs the session to its end. Resolves with the final metrics; rejects with a typed error
   * (`SyncProtocolError`, `UnexpectedStreamClosureError`, `InvalidOperationError`, limit
   * errors, `DecodeError`, channel errors such as `StreamStalledError`), after having stored
   * every valid operation received before the failure and emitted `sync:failed`.
   */
  async run(channel: MessageChannel, emit?: (event: SyncEvent) => void): Promise<SyncMetrics> {
    if (this.#started) throw new Error("a session runs once");
    this.#started = true;
    this.#channel = channel;
    this.#remote = channel.remote;
    this.#emit = emit;
    this.#raise({ type: "sync:session-started", role: this.role, liveMode: this.liveMode });
    try {
      await this.#handshake();
      if (this.#liveMode === undefined) {
        const live = this.#options.liveMode;
        this.#liveMode = typeof live === "function" && live(this.#topic as Topic);
        if (!this.#liveMode) this.#liveQueue = [];
      }
      this.#phase = "sync";
      await this.#sync();
      if (this.liveMode) {
        this.#phase = "live";
        await this.#live();
      } else {
        await channel.close();
      }
      if (this.#firstError !== undefined) throw this.#firstError;
      return this.metrics;
    } catch (thrown) {
      const error = this.#firstError ?? asError(thrown);
      this.#firstError = error;
      await this.#flush();
      if (error instanceof TopicNotSubscribedError) {
        await channel.close().catch(() => {});
      } else {
        channel.abort(error);
      }
      this.#raise({ type: "sync:failed", error, metrics: this.metrics });
      throw error;
    } finally {
      if (this.#options.events === undefined) this.#events.complete();
    }
  }

  async #handshake(): Promise<void> {
    const handshake =
      this.role === "initiator"
        ? TopicHandshake.initiator(this.#topic as Topic)
        : TopicHandshake.acceptor(this.#options.isSubscribed ?? (() => true));
    for (const out of handshake.start())
      await this.#send(out.type === "send" ? out.message : undefined);
    while (!handshake.isDone) {
      const message = await this.#receive();
      for (const out of handshake.handle(message)) {
        if (out.type === "send") await this.#send(out.message);
        else this.#topic = out.topic;
      }
    }
  }

  async #sync(): Promise<void> {
    const topic = this.#topic as Topic;
    const options = this.#options;
    this.#ingest = new OperationIngest({
      store: options.logStore,
      topicStore: options.topicStore,
      topic,
      metrics: this.#machine.metrics,
      ...(options.verifier !== undefined ? { verifier: options.verifier } : {}),
      ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
      ...(options.batchBytes !== undefined ? { batchBytes: options.batchBytes } : {}),
      ...(options.maxBatchesInFlight !== undefined
        ? { maxInFlight: options.maxBatchesInFlight }
        : {}),
    });
    const logs = await options.topicStore.resolve(topic);
    this.#addTopicLogs(logs);
    const local = await options.logStore.heights(logs);
    await this.#process(this.#machine.start(local));
    // Receiving runs here; planning and sending run in `#sender`, started by the `plan` output.
    while (!this.#inboundDone()) {
      const message = await this.#receive();
      // The sync phase trusts the remote's topic store for the logs it announces (it may send
      // only those), so live mode accepts later operations of the same logs.
      if (message.type === "have") {
        for (const h of message.heights) this.#topicLogs.add(logKey(h.author, h.logId));
      }
      await this.#process(this.#machine.handle(message));
    }
    await this.#sender;
    if (this.#firstError !== undefined) throw this.#firstError;
    await this.#flush();
    this.#raise({ type: "sync:finished", metrics: this.metrics });
  }

  #inboundDone(): boolean {
    return this.#machine.inboundDone;
  }

  #sender: Promise<void> = Promise.resolve();

  async #planAndStream(ranges: readonly LogRange[]): Promise<void> {
    const store = this.#options.logStore;
    let operations = 0;
    let bytes = 0;
    for (const r of ranges) {
      const size = await store.rangeSize(r.author, r.logId, r.after, r.until);
      operations += size.operations;
      bytes += size.bytes;
    }
    await this.#process(this.#machine.planned({ operations, bytes }));
  }

  async #stream(ranges: readonly LogRange[]): Promise<void> {
    const store = this.#options.logStore;
    const pageSize = this.#options.pageSize ?? 256;
    for (const r of ranges) {
      let after = r.after;
      for (;;) {
        // The log may have been pruned since we counted it: send what is still there.
        const page = await store.range(r.author, r.logId, after, r.until, pageSize);
        if (this.#firstError !== undefined) return;
        // A page goes to the channel in one go, so that it can join the frames into a few
        // large writes instead of one transport message per operation.
        const messages: TopicSyncMessage[] = [];
        for (const op of page) {
          for (const out of this.#machine.send(op)) {
            if (out.type === "send") messages.push(out.message);
          }
          after = op.header.seqNum;
        }
        await this.#sendAll(messages);
        if (page.length < pageSize) break;
      }
    }
    await this.#process(this.#machine.sendingDone());
  }

  async #live(): Promise<void> {
    this.#machine.startLive();
    this.#raise({ type: "sync:live-started" });
    const queued = this.#liveQueue;
    this.#liveQueue = [];
    for (const op of queued) await this.#process(this.#machine.publish(op));
    if (this.#closeRequested) await this.#process(this.#machine.close());
    for (;;) {
      const message = await this.#receive(true);
      if (message === undefined) break;
      const outputs = this.#machine.handle(message);
      await this.#process(outputs);
      if (outputs.some((o) => o.type === "remote-closed")) break;
    }
    await this.#sendChain;
    await this.#channel?.close();
    if (this.#firstError !== undefined) throw this.#firstError;
    this.#raise({ type: "sync:live-finished", metrics: this.metrics });
  }

  async #process(outputs: readonly LogSyncOutput[]): Promise<void> {
    for (const out of outputs) {
      switch (out.type) {
        case "send":
          await this.#send(out.message);
          break;
        case "plan":
          this.#sender = this.#planAndStream(out.ranges).catch((e) => this.#fail(e));
          break;
        case "stream":
          await this.#stream(out.ranges);
          break;
        case "sync-started":
          this.#announced = true;
          this.#raise({ type: "sync:started", metrics: this.metrics });
          break;
        case "receive": {
          const ingest = this.#ingest as OperationIngest;
          if (out.phase === "live") await this.#checkTopicLog(out.operation);
          try {
            await ingest.add(out.operation, out.phase);
          } catch (error) {
            // An earlier pending operation may be the real culprit (a forged one changes its
            // hash, so the next backlink fails first): report errors in stream order.
            await this.#flush(true);
            throw error;
          }
          if (out.phase === "live") await this.#flush(true);
          else if (ingest.batchFull) {
            // Verify this batch while the next arrives; wait only when enough are in flight
            // (that wait is what holds the remote back: memory stays bounded by batches).
            ingest.submit();
            while (ingest.inFlight > ingest.maxInFlight || ingest.oldestDone) {
              await this.#settleOldest();
            }
            // Frames already buffered arrive without a turn of the event loop: give timers,
            // I/O and the verifications' answers one between batches.
            await yieldToEventLoop();
          }
          break;
        }
        case "inbound-done":
          await this.#flush(true);
          break;
        case "finished":
        case "remote-closed":
          break;
      }
    }
  }

  /**
   * Live mode accepts an operation only of a log of the session's topic (upstream associated
   * whatever arrived with the topic, so any neighbour could make us store and re-share any log
   * under it). The topic store is read again before refusing: the app or another session may
   * have added the log since the sync phase.
   */
  async #checkTopicLog(operation: Operation): Promise<void> {
    const topic = this.#topic as Topic;
    const author = authorOf(operation.header);
    const logId = logIdOf(operation.header);
    const key = logKey(author, logId);
    if (this.#topicLogs.has(key) || this.#options.isTopicLog?.(topic, author, logId) === true) {
      return;
    }
    this.#addTopicLogs(await this.#options.topicStore.resolve(topic));
    if (this.#topicLogs.has(key)) return;
    this.#machine.metrics.foreignOperations++;
    throw new ForeignLogError(
      `live operation of log ${String(logId).slice(0, 16)} of ${author.slice(0, 8)}, which does not belong to the session's topic`,
    );
  }

  #addTopicLogs(logs: TopicLogs): void {
    for (const [author, logIds] of logs) {
      for (const logId of logIds) this.#topicLogs.add(logKey(author, logId));
    }
  }

  /**
   * Stores what is pending and in flight and reports it; with `rethrow`, a flush error fails
   * the session (after every batch before it was reported).
   */
  async #flush(rethrow = false): Promise<void> {
    const ingest = this.#ingest;
    if (ingest === undefined) return;
    ingest.submit();
    let error: Error | undefined;
    while (ingest.inFlight > 0) {
      try {
        await this.#settleOldest();
      } catch (e) {
        error ??= e as Error;
      }
    }
    if (error !== undefined && rethrow) throw error;
  }

  /** Reports the oldest batch in flight once stored; throws its error, if any. */
  async #settleOldest(): Promise<void> {
    const result = await this.#ingest?.settleOldest();
    if (result === undefined) return;
    const { stored, error } = result;
    const phase = this.#phase === "live" ? "live" : "sync";
    const reveal = this.#options.reveal;
    const topic = this.#topic;
    for (const received of stored) {
      const { operation, error: undecryptable } =
        reveal !== undefined && topic !== undefined
          ? reveal(topic, received)
          : { operation: received, error: undefined };
      this.#raise({ type: "sync:operation-received", operation, phase, metrics: this.metrics });
      if (undecryptable !== undefined) {
        this.#raise({ type: "sync:payload-undecryptable", operation, error: undecryptable });
      }
    }
    if (error !== undefined) throw error;
  }

  async #send(message: TopicSyncMessage | undefined): Promise<void> {
    if (message === undefined) return;
    const channel = this.#channel as MessageChannel;
    const sent = this.#sendChain.then(() => channel.send(encodeSyncMessage(message)));
    this.#sendChain = sent.catch(() => {});
    await sent;
  }

  /** Sends `messages` in order, handing them to the channel together. */
  async #sendAll(messages: readonly TopicSyncMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const channel = this.#channel as MessageChannel;
    const sent = this.#sendChain.then(() =>
      Promise.all(messages.map((m) => channel.send(encodeSyncMessage(m)))),
    );
    this.#sendChain = sent.then(
      () => {},
      () => {},
    );
    await sent;
  }

  async #receive(endAllowed: true): Promise<TopicSyncMessage | undefined>;
  async #receive(): Promise<TopicSyncMessage>;
  async #receive(endAllowed = false): Promise<TopicSyncMessage | undefined> {
    // Live mode waits for the next operation as long as it takes: idle is normal there, a
    // vanished peer is noticed by the endpoint's liveness pings, which reset the stream, and a
    // frame that has started must still complete within the channel's frame deadline.
    const first = this.#received++ === 0 && this.role === "acceptor";
    const timeoutMs =
      this.#phase === "live" ? 0 : first ? this.#options.firstMessageTimeoutMs : undefined;
    const value = await (this.#channel as MessageChannel).receive(
      timeoutMs !== undefined ? { timeoutMs } : undefined,
    );
    if (value === undefined) {
      if (endAllowed && this.#machine.closeSent) return undefined;
      throw new UnexpectedStreamClosureError(this.#phase);
    }
    return decodeSyncMessage(value, this.#machine.limits);
  }

  #fail(error: unknown): void {
    if (this.#firstError !== undefined) return;
    this.#firstError = asError(error);
    this.#channel?.abort(this.#firstError);
  }

  #raise(event: DistributiveOmit<SyncEvent, "at" | "sessionId" | "remote" | "topic">): void {
    const full = {
      ...event,
      sessionId: this.id,
      remote: this.#remote as NodeId,
      topic: this.#topic,
      at: this.#clock.now(),
    } as Unstamped<SyncEvent>;
    this.#events.emit(full);
    if (this.#emit !== undefined) this.#emit(full as SyncEvent);
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** `Omit` applied to each member of a union (events keep their own fields). */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

import type { Unstamped } from "@p2panda-web/events";
import type { PayloadKey } from "../crypto/payload-key.ts";
import { ProtocolName } from "../ids/network-id.ts";
import { NodeId } from "../ids/node-id.ts";
import type { Topic } from "../ids/topic.ts";
import { TopicNotSubscribedError } from "./errors.ts";
import type { SyncEvent } from "./events.ts";
import type { LogId } from "./log-id.ts";
import type { SyncLimits } from "./log-sync.ts";
import { createOperation, type Operation, type OperationSigner } from "./operation.ts";
import { logPayloadContext, revealOperation } from "./payload-encryption.ts";
import type { TopicSessionOptions, TopicSyncProtocol, TopicSyncSession } from "./protocol.ts";
import { isRemoteFault } from "./remote-fault.ts";
import { SyncSession } from "./session.ts";
import type { LogStore } from "./store/log-store.ts";
import type { TopicStore } from "./store/topic-store.ts";
import type { SignatureVerifier } from "./validation.ts";

/** Default of {@link LogSyncProtocolOptions.firstMessageTimeoutMs}. */
export const DEFAULT_SYNC_FIRST_MESSAGE_TIMEOUT_MS = 3_000;

/** Options of {@link LogSyncProtocol.write} (what `SyncHandle.publish` takes). */
export interface PublishOptions {
  /** Application data signed into the header (a plain object; `log_id` is set by us). */
  extensions?: Record<string, unknown>;
  /** Write to this log instead of the stream's. */
  logId?: LogId;
}

/** What log sync needs: who signs, where logs live, what a remote may make us do. */
export interface LogSyncProtocolOptions {
  /** Signs our own operations (an `Identity`); its key must be the endpoint's node id. */
  signer: OperationSigner;
  logStore: LogStore;
  topicStore: TopicStore;
  /** Verifies received operations. Default: strict Ed25519, WebCrypto when available. */
  verifier?: SignatureVerifier;
  /** Limits on what a remote can make us process. */
  limits?: Partial<SyncLimits>;
  /**
   * An accepted session whose remote sends no first message within this fails (and puts the
   * remote on cool-down): the initiator speaks first and at once. Default 3,000 ms.
   */
  firstMessageTimeoutMs?: number;
  /**
   * Live mode: whether a log the topic store does not list for the topic, and that the remote
   * did not announce in the sync phase, belongs to the topic (typically a log whose first
   * operation was written after the session started). Operations of other logs end the session
   * as a foreign log. Default: a log belongs to a topic when its log id is the topic's default
   * log id (the topic's hex id); an app that writes topics' operations into logs of its own
   * naming describes them here.
   */
  isTopicLog?: (topic: Topic, author: NodeId, logId: LogId) => boolean;
}

/**
 * Topic log sync (spec §6.3) as a {@link TopicSyncProtocol}: sessions are {@link SyncSession}s,
 * a write appends a signed operation to our log of the topic, and received operations go on to
 * the topic's other live peers. The default protocol of `SyncService`.
 */
export class LogSyncProtocol
  implements TopicSyncProtocol<Operation, SyncEvent, Uint8Array, PublishOptions>
{
  readonly name = "topic-log-sync";
  readonly streamProtocol: string = ProtocolName.logSync;
  readonly options: LogSyncProtocolOptions;
  /** Author of our operations: the signer's key (normally the node id). */
  readonly author: NodeId;
  /** Our log of each open topic. */
  readonly #logIds = new Map<Topic, LogId>();
  readonly #publishChains = new Map<string, Promise<unknown>>();
  /** Payload keys of the topics opened with one: their bodies are sealed and opened here. */
  readonly #payloadKeys = new Map<Topic, PayloadKey>();

  constructor(options: LogSyncProtocolOptions) {
    this.options = options;
    this.author = NodeId.fromBytes(options.signer.publicKey);
  }

  /** Our log of `topic`: the one it was opened with, else the topic's hex id. */
  logIdOf(topic: Topic): LogId {
    return this.#logIds.get(topic) ?? (topic as string);
  }

  async openTopic(
    topic: Topic,
    options: { readonly logId?: LogId; readonly payloadKey?: PayloadKey },
  ): Promise<void> {
    const logId = options.logId ?? (topic as string);
    this.#logIds.set(topic, logId);
    if (options.payloadKey !== undefined) this.#payloadKeys.set(topic, options.payloadKey);
    // Our own log belongs to the topic from the start, so the first peer gets it.
    await this.options.topicStore.associate(topic, this.author, logId);
  }

  session(options: TopicSessionOptions): TopicSyncSession<Operation, SyncEvent> {
    const { logStore, topicStore, verifier, limits } = this.options;
    return new SyncSession({
      role: options.role,
      ...(options.topic !== undefined ? { topic: options.topic } : {}),
      ...(options.isSubscribed !== undefined ? { isSubscribed: options.isSubscribed } : {}),
      liveMode: options.liveMode,
      logStore,
      topicStore,
      isTopicLog: this.options.isTopicLog ?? isDefaultTopicLog,
      firstMessageTimeoutMs:
        this.options.firstMessageTimeoutMs ?? DEFAULT_SYNC_FIRST_MESSAGE_TIMEOUT_MS,
      clock: options.clock,
      reveal: (topic, operation) => this.#reveal(topic, operation),
      ...(verifier !== undefined ? { verifier } : {}),
      ...(limits !== undefined ? { limits } : {}),
    });
  }

  /** An operation as the topic's streams hand it out: its body opened if the topic has a key. */
  #reveal(topic: Topic, operation: Operation): ReturnType<typeof revealOperation> {
    const key = this.#payloadKeys.get(topic);
    return key === undefined ? { operation } : revealOperation(key, topic, operation);
  }

  /**
   * Creates, signs and stores the next operation of our log with `payload`, sealed first when
   * the topic has a payload key (the signature then covers the ciphertext, so a blind peer can
   * verify it). The result carries the plaintext as `payload` in that case.
   */
  async write(
    topic: Topic,
    payload: Uint8Array,
    options: PublishOptions | undefined,
    now: number,
  ): Promise<Operation> {
    const logId = options?.logId ?? this.logIdOf(topic);
    const extensions = options?.extensions;
    const key = `${topic}/${String(logId)}`;
    // Operations of one log are created one after the other: each needs the previous hash.
    const previous = this.#publishChains.get(key) ?? Promise.resolve();
    const created = previous
      .catch(() => {})
      .then(async () => {
        const { logStore, topicStore, signer } = this.options;
        const latest = await logStore.latest(this.author, logId);
        const key = this.#payloadKeys.get(topic);
        const body =
          key === undefined
            ? payload
            : key.seal(payload, logPayloadContext(topic, signer.publicKey));
        const operation = await createOperation(signer, {
          payload: body,
          logId,
          seqNum: latest === undefined ? 0 : latest.header.seqNum + 1,
          ...(latest !== undefined ? { backlink: latest.hash } : {}),
          timestamp: Math.floor(now * 1000),
          ...(extensions !== undefined ? { extensions } : {}),
        });
        await logStore.putMany([operation]);
        await topicStore.associate(topic, this.author, logId);
        return key === undefined ? operation : { ...operation, payload };
      });
    this.#publishChains.set(key, created);
    const operation = await created;
    if (this.#publishChains.get(key) === created) this.#publishChains.delete(key);
    return operation;
  }

  /** Everything stored for a topic, per log in log order. */
  async items(topic: Topic): Promise<Operation[]> {
    const { logStore, topicStore } = this.options;
    const result: Operation[] = [];
    for (const [author, logIds] of await topicStore.resolve(topic)) {
      for (const logId of logIds) result.push(...(await logStore.range(author, logId)));
    }
    if (!this.#payloadKeys.has(topic)) return result;
    return result.map((operation) => this.#reveal(topic, operation).operation);
  }

  received(event: SyncEvent): Operation | undefined {
    return event.type === "sync:operation-received" ? event.operation : undefined;
  }

  isRemoteFault(error: Error): boolean {
    return isRemoteFault(error);
  }

  /** The acceptor does not sync the topic: a normal answer, not a failed session. */
  isDeclined(error: Error): boolean {
    return error instanceof TopicNotSubscribedError;
  }

  failedEvent(
    session: TopicSyncSession<Operation, SyncEvent>,
    remote: NodeId,
    error: Error,
  ): Unstamped<SyncEvent> {
    return {
      type: "sync:failed",
      sessionId: session.id,
      remote,
      topic: session.topic,
      error,
      // Every session of this protocol is a SyncSession: `session()` made it.
      metrics: (session as SyncSession).metrics,
    };
  }
}

/** The default of {@link LogSyncProtocolOptions.isTopicLog}: the topic's default log id. */
function isDefaultTopicLog(topic: Topic, _author: NodeId, logId: LogId): boolean {
  return logId === topic;
}

// A second, small sync protocol for the SyncService seam: a last-writer-wins key/value map per
// topic. Not shipped: it exists to prove that the service, its manager and the endpoint carry a
// data type they know nothing of, exactly as they carry log sync.
import type { P2pEvent, Unstamped } from "@p2panda-web/events";
import type { Clock } from "../../src/clock.ts";
import { DecodeError } from "../../src/codec/cbor.ts";
import type { MessageChannel } from "../../src/codec/message-channel.ts";
import type { NodeId } from "../../src/ids/node-id.ts";
import type { Topic } from "../../src/ids/topic.ts";
import {
  SessionAbortedError,
  SyncProtocolError,
  TopicNotSubscribedError,
  UnexpectedStreamClosureError,
} from "../../src/sync/errors.ts";
import type {
  TopicSessionOptions,
  TopicSyncEvent,
  TopicSyncProtocol,
  TopicSyncSession,
} from "../../src/sync/protocol.ts";
import { isRemoteFault } from "../../src/sync/remote-fault.ts";

/** One value of the map with what decides between concurrent writes. */
export interface KvEntry {
  readonly key: string;
  readonly value: string;
  readonly timestamp: number;
  readonly writer: NodeId;
}

/** What an app writes. */
export interface KvWrite {
  readonly key: string;
  readonly value: string;
}

/** Events of a key/value session. */
export type KvEvent =
  | (P2pEvent<"kv:received"> & TopicSyncEventFields & { readonly entry: KvEntry })
  | (P2pEvent<"kv:live-started"> & TopicSyncEventFields)
  | (P2pEvent<"kv:failed"> & TopicSyncEventFields & { readonly error: Error });

type TopicSyncEventFields = Omit<TopicSyncEvent, "type" | "at">;

/** The later write wins; equal timestamps are decided by the writer's id, the same everywhere. */
export function wins(a: KvEntry, b: KvEntry | undefined): boolean {
  if (b === undefined) return true;
  return a.timestamp !== b.timestamp ? a.timestamp > b.timestamp : a.writer > b.writer;
}

/** The maps of one node, per topic. */
export class KvStore {
  readonly #topics = new Map<Topic, Map<string, KvEntry>>();

  entries(topic: Topic): KvEntry[] {
    return [...(this.#topics.get(topic)?.values() ?? [])].sort((a, b) =>
      a.key < b.key ? -1 : a.key > b.key ? 1 : 0,
    );
  }

  get(topic: Topic, key: string): KvEntry | undefined {
    return this.#topics.get(topic)?.get(key);
  }

  /** Keeps `entry` if it wins over what is held; returns whether it did. */
  merge(topic: Topic, entry: KvEntry): boolean {
    let map = this.#topics.get(topic);
    if (map === undefined) {
      map = new Map();
      this.#topics.set(topic, map);
    }
    if (!wins(entry, map.get(entry.key))) return false;
    map.set(entry.key, entry);
    return true;
  }
}

/** The stream protocol of the key/value sessions. */
export const KV_STREAM_PROTOCOL = "test/lww-kv/v1";

/** Options of {@link LwwKvProtocol.write}: a fixed timestamp, to make writes conflict. */
export interface KvWriteOptions {
  readonly timestamp?: number;
}

/**
 * Last-writer-wins key/value sync. A session: the initiator names the topic (`["topic", t]`),
 * the acceptor answers `["ok"]` if it syncs it; both send their whole map (`["entries", […]]`)
 * and keep the winners; in live mode each new winner goes over as `["set", …]` until a side
 * closes.
 */
export class LwwKvProtocol implements TopicSyncProtocol<KvEntry, KvEvent, KvWrite, KvWriteOptions> {
  readonly name = "lww-kv";
  readonly streamProtocol = KV_STREAM_PROTOCOL;
  readonly store = new KvStore();
  readonly me: NodeId;

  constructor(me: NodeId) {
    this.me = me;
  }

  async openTopic(): Promise<void> {}

  session(options: TopicSessionOptions): KvSession {
    return new KvSession(this.store, options);
  }

  async write(
    topic: Topic,
    input: KvWrite,
    options: KvWriteOptions | undefined,
    now: number,
  ): Promise<KvEntry> {
    const entry: KvEntry = { ...input, timestamp: options?.timestamp ?? now, writer: this.me };
    this.store.merge(topic, entry);
    return entry;
  }

  async items(topic: Topic): Promise<KvEntry[]> {
    return this.store.entries(topic);
  }

  received(event: KvEvent): KvEntry | undefined {
    return event.type === "kv:received" ? event.entry : undefined;
  }

  isRemoteFault(error: Error): boolean {
    return isRemoteFault(error);
  }

  isDeclined(error: Error): boolean {
    return error instanceof TopicNotSubscribedError;
  }

  failedEvent(session: KvSession, remote: NodeId, error: Error): Unstamped<KvEvent> {
    return { type: "kv:failed", sessionId: session.id, remote, topic: session.topic, error };
  }
}

let nextId = 1;

/** One key/value session over one channel. */
export class KvSession implements TopicSyncSession<KvEntry, KvEvent> {
  readonly name = "lww-kv";
  readonly id = `kv-${nextId++}`;
  readonly role: "initiator" | "acceptor";
  readonly #store: KvStore;
  readonly #options: TopicSessionOptions;
  readonly #clock: Clock;
  #topic: Topic | undefined;
  #liveMode: boolean | undefined;
  #phase: "handshake" | "sync" | "live" | "done" = "handshake";
  #channel: MessageChannel | undefined;
  #remote: NodeId | undefined;
  #emit: ((event: KvEvent) => void) | undefined;
  #queue: KvEntry[] = [];
  #closeRequested = false;
  #failure: Error | undefined;

  constructor(store: KvStore, options: TopicSessionOptions) {
    this.#store = store;
    this.#options = options;
    this.#clock = options.clock;
    this.role = options.role;
    this.#topic = options.topic;
    if (typeof options.liveMode === "boolean") this.#liveMode = options.liveMode;
  }

  get topic(): Topic | undefined {
    return this.#topic;
  }

  get phase(): string {
    return this.#phase;
  }

  get liveMode(): boolean {
    return this.#liveMode ?? false;
  }

  publish(entry: KvEntry): void {
    if (this.#liveMode === false || this.#failure !== undefined) return;
    if (this.#phase !== "live") {
      this.#queue.push(entry);
      return;
    }
    this.#send(entry);
  }

  close(): void {
    this.#closeRequested = true;
    if (this.#phase === "live") this.#channel?.close().catch((e) => this.abort(e));
  }

  abort(reason: Error = new SessionAbortedError()): void {
    if (this.#failure !== undefined) return;
    this.#failure = reason;
    this.#channel?.abort(reason);
  }

  async run(channel: MessageChannel, emit?: (event: KvEvent) => void): Promise<number> {
    this.#channel = channel;
    this.#remote = channel.remote;
    this.#emit = emit;
    let received = 0;
    try {
      await this.#handshake();
      this.#phase = "sync";
      await channel.send(["entries", this.#store.entries(this.#topic as Topic).map(toWire)]);
      const message = await this.#receive();
      if (!Array.isArray(message) || message[0] !== "entries" || !Array.isArray(message[1])) {
        throw new SyncProtocolError("lww-kv/await-entries", describe(message));
      }
      for (const wire of message[1]) if (this.#merge(fromWire(wire))) received++;
      if (!this.liveMode) {
        await channel.close();
        this.#phase = "done";
        return received;
      }
      this.#phase = "live";
      this.#raise({ type: "kv:live-started" });
      for (const entry of this.#queue.splice(0)) this.#send(entry);
      if (this.#closeRequested) await channel.close();
      for (;;) {
        const live = await channel.receive({ timeoutMs: 0 });
        if (live === undefined) break;
        if (!Array.isArray(live) || live[0] !== "set") {
          throw new SyncProtocolError("lww-kv/live", describe(live));
        }
        if (this.#merge(fromWire(live[1]))) received++;
      }
      // The remote closed its side: close ours so its session ends too.
      await channel.close();
      this.#phase = "done";
      if (this.#failure !== undefined) throw this.#failure;
      return received;
    } catch (thrown) {
      const error = this.#failure ?? (thrown instanceof Error ? thrown : new Error(String(thrown)));
      this.#failure = error;
      if (error instanceof TopicNotSubscribedError) await channel.close().catch(() => {});
      else channel.abort(error);
      this.#phase = "done";
      this.#raise({ type: "kv:failed", error });
      throw error;
    }
  }

  async #handshake(): Promise<void> {
    const channel = this.#channel as MessageChannel;
    if (this.role === "initiator") {
      await channel.send(["topic", this.#topic]);
      const answer = await this.#receive();
      if (!Array.isArray(answer) || answer[0] !== "ok") {
        throw new SyncProtocolError("lww-kv/await-ok", describe(answer));
      }
      return;
    }
    const named = await this.#receive();
    if (!Array.isArray(named) || named[0] !== "topic" || typeof named[1] !== "string") {
      throw new SyncProtocolError("lww-kv/await-topic", describe(named));
    }
    const topic = named[1] as Topic;
    if (this.#options.isSubscribed?.(topic) === false) throw new TopicNotSubscribedError();
    this.#topic = topic;
    const live = this.#options.liveMode;
    this.#liveMode = typeof live === "function" ? live(topic) : live;
    await channel.send(["ok"]);
  }

  async #receive(): Promise<unknown> {
    const message = await (this.#channel as MessageChannel).receive();
    if (message === undefined) throw new UnexpectedStreamClosureError("sync");
    return message;
  }

  #merge(entry: KvEntry): boolean {
    if (!this.#store.merge(this.#topic as Topic, entry)) return false;
    this.#raise({ type: "kv:received", entry });
    return true;
  }

  #send(entry: KvEntry): void {
    (this.#channel as MessageChannel).send(["set", toWire(entry)]).catch((e) => this.abort(e));
  }

  #raise(event: DistributiveOmit<KvEvent, "at" | "sessionId" | "remote" | "topic">): void {
    this.#emit?.({
      ...event,
      sessionId: this.id,
      remote: this.#remote as NodeId,
      topic: this.#topic,
      at: this.#clock.now(),
    } as KvEvent);
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function toWire(entry: KvEntry): [string, string, number, string] {
  return [entry.key, entry.value, entry.timestamp, entry.writer];
}

/** Checks a wire entry's shape; anything else is the remote's malformed input. */
function fromWire(wire: unknown): KvEntry {
  if (
    !Array.isArray(wire) ||
    wire.length !== 4 ||
    typeof wire[0] !== "string" ||
    typeof wire[1] !== "string" ||
    typeof wire[2] !== "number" ||
    typeof wire[3] !== "string"
  ) {
    throw new DecodeError("a key/value entry is [key, value, timestamp, writer]");
  }
  return { key: wire[0], value: wire[1], timestamp: wire[2], writer: wire[3] as NodeId };
}

function describe(message: unknown): string {
  return Array.isArray(message) ? String(message[0]) : typeof message;
}

import { type NodeId, type Topic, TopicSecret } from "@p2panda-web/core";
import type { GossipHandle } from "@p2panda-web/core/gossip";
import type { SyncHandle } from "@p2panda-web/core/sync";
import { BehaviorSubject, type Observable, Subject, type Subscription } from "rxjs";
import { RoomLeftError, RoomMessageTooLargeError } from "./errors.ts";
import { historyOrder, type LogEntry, logEntryOf } from "./log-entry.ts";
import { PublishQueue, type PublishQueueConfig } from "./publish-queue.ts";
import { decodeRoomMessage, encodeRoomMessage, type RoomMessage } from "./room-message.ts";
import type { RoomNode } from "./room-node.ts";

/** Text (sent as UTF-8) or bytes. */
export type RoomContent = string | Uint8Array;

/** Options of {@link Room.open}. */
export interface RoomOptions {
  /** Bounds of the queue of messages published before the first neighbour (256, 30 s). */
  readonly publishQueue?: Partial<PublishQueueConfig>;
  /** Stop the node on {@link Room.leave} (the room made it). Default `false`. */
  readonly ownsNode?: boolean;
  /** Runs last in {@link Room.leave} (`joinTopic` releases the identity's lock here). */
  readonly onLeave?: () => void | Promise<void>;
  /**
   * End-to-end encryption of messages and log entries (default `true`). The topic given to
   * {@link Room.open} is then the group's secret: the network sees only the id derived from it
   * (`TopicSecret.fromTopic(topic).topic`, the room's {@link Room.topic}), and payloads are sealed
   * with the key derived from it. A node given only that id (a blind peer,
   * `p2panda-web node --topic-id <id> --sync`) relays and keeps the history as ciphertext.
   * `false`: the topic is used as it is and payloads travel in plain text (to members, relays
   * and always-on peers alike).
   */
  readonly encryption?: boolean;
}

/** Options of {@link RoomLog.append}. */
export interface RoomAppendOptions {
  /**
   * Application data signed into the operation's header. Not encrypted: every peer of the topic
   * (and a blind peer) sees it. Plain CBOR values; `log_id` is taken.
   */
  readonly extensions?: Readonly<Record<string, unknown>>;
}

function bytesOf(content: RoomContent): Uint8Array {
  return typeof content === "string" ? new TextEncoder().encode(content) : content;
}

/**
 * A room's synced log: signed, persisted (in the node's log store) and synced with everyone on
 * the topic, also after being offline.
 */
export class RoomLog {
  readonly #sync: SyncHandle;
  readonly #operations: Subject<LogEntry>;
  readonly #isLeft: () => boolean;

  /** @internal Made by the {@link Room}. */
  constructor(sync: SyncHandle, operations: Subject<LogEntry>, isLeft: () => boolean) {
    this.#sync = sync;
    this.#operations = operations;
    this.#isLeft = isLeft;
  }

  /**
   * Appends `content` to our log of the topic: signs it, stores it durably and sends it to every
   * peer in live sync. Resolves with the entry (also emitted on {@link RoomLog.operations$}).
   *
   * @throws RoomLeftError after leave.
   */
  async append(content: RoomContent, options: RoomAppendOptions = {}): Promise<LogEntry> {
    if (this.#isLeft()) throw new RoomLeftError();
    const extensions = options.extensions === undefined ? undefined : { ...options.extensions };
    const entry = logEntryOf(
      await this.#sync.publish(
        bytesOf(content),
        extensions === undefined ? undefined : { extensions },
      ),
    );
    this.#operations.next(entry);
    return entry;
  }

  /** Every entry stored for the topic, ours and synced, in history order ({@link historyOrder}). */
  async history(): Promise<LogEntry[]> {
    return historyOrder((await this.#sync.operations()).map(logEntryOf));
  }

  /** New entries, our own (on append) and others' (as sync stores them). Completes on leave. */
  get operations$(): Observable<LogEntry> {
    return this.#operations.asObservable();
  }
}

/**
 * One topic joined by a node: ephemeral messages over the topic's gossip overlay, a synced log,
 * and who is connected. Made by `joinTopic` (which also makes the node), or by
 * {@link Room.open} on a node of your own.
 */
export class Room<N extends RoomNode = RoomNode> {
  readonly topic: Topic;
  /** The underlying node, for the full API. */
  readonly node: N;
  readonly log: RoomLog;
  readonly #gossip: GossipHandle;
  readonly #sync: SyncHandle;
  readonly #options: RoomOptions;
  readonly #queue: PublishQueue;
  readonly #messages = new Subject<RoomMessage>();
  readonly #operations = new Subject<LogEntry>();
  readonly #peers: BehaviorSubject<ReadonlySet<NodeId>>;
  readonly #subscriptions: Subscription[] = [];
  /** Received messages are verified one after the other, so they come out in arrival order. */
  #decoding: Promise<void> = Promise.resolve();
  #left = false;
  #leaving: Promise<void> | undefined;

  private constructor(
    node: N,
    topic: Topic,
    gossip: GossipHandle,
    sync: SyncHandle,
    options: RoomOptions,
  ) {
    this.node = node;
    this.topic = topic;
    this.#gossip = gossip;
    this.#sync = sync;
    this.#options = options;
    this.#queue = new PublishQueue(node.runtime.timers, options.publishQueue);
    this.#peers = new BehaviorSubject<ReadonlySet<NodeId>>(new Set(gossip.neighbours()));
    this.log = new RoomLog(sync, this.#operations, () => this.#left);
    this.#subscriptions.push(
      gossip.messages$.subscribe((delivery) => {
        this.#decoding = this.#decoding
          .then(() => decodeRoomMessage(topic, delivery.content))
          .then((message) => {
            if (message !== undefined && !this.#left) this.#messages.next(message);
          })
          .catch(() => {});
      }),
      gossip.events$.subscribe({
        next: (event) => {
          if (event.type === "gossip:neighbour-up" || event.type === "gossip:neighbour-down") {
            this.#peers.next(new Set(gossip.neighbours()));
          }
          if (event.type === "gossip:neighbour-up") {
            void this.#queue.flush((bytes) => gossip.publish(bytes)).catch(() => {});
          }
        },
        // The node stopped under the room.
        complete: () => this.#end(),
      }),
      sync.events$.subscribe((event) => {
        if (event.type === "sync:operation-received") {
          this.#operations.next(logEntryOf(event.operation));
        }
      }),
    );
  }

  /**
   * Joins `topic` on a running `node`: its gossip overlay (for {@link Room.publish}) and its log
   * sync in live mode (for {@link Room.log}).
   *
   * @throws what `node.gossip.stream` and `node.sync.stream` throw (a stopped node, a node
   * without gossip or sync).
   */
  static async open<N extends RoomNode>(
    node: N,
    topic: Topic,
    options: RoomOptions = {},
  ): Promise<Room<N>> {
    const secret = options.encryption === false ? undefined : TopicSecret.fromTopic(topic);
    const onWire = secret?.topic ?? topic;
    const key = secret === undefined ? {} : { payloadKey: secret.payloadKey };
    const gossip = await node.gossip.stream(onWire, key);
    let sync: SyncHandle;
    try {
      sync = await node.sync.stream(onWire, { liveMode: true, ...key });
    } catch (error) {
      await gossip.close().catch(() => {});
      throw error;
    }
    return new Room(node, onWire, gossip, sync, options);
  }

  /**
   * Ephemeral messages of others on the topic, each with its author (signature checked) and a
   * unique id. Not our own. Completes on leave.
   */
  get messages$(): Observable<RoomMessage> {
    return this.#messages.asObservable();
  }

  /** The nodes of the topic we are connected to (the overlay's neighbours); current value first. */
  get peers$(): Observable<ReadonlySet<NodeId>> {
    return this.#peers.asObservable();
  }

  /** The node's id. */
  get nodeId(): NodeId {
    return this.node.identity.nodeId;
  }

  /** Every event of the node (endpoint, discovery, gossip, sync). */
  get events$(): N["events$"] {
    return this.node.events$;
  }

  /**
   * Sends `content` to whoever is on the topic now (ephemeral: not stored; latecomers never see
   * it). Each message is framed with a random nonce, so publishing the same content twice sends
   * two messages. Resolves with the message's id once it was handed to at least one neighbour:
   * at once when the overlay has one, else when the first arrives (the message waits in a
   * bounded queue).
   *
   * @throws RoomMessageTooLargeError when it does not fit into a gossip message (about 3.9 KB of
   * content): put such content in the log. RoomPublishTimeoutError when no neighbour came within
   * the queue's timeout (30 s); RoomPublishQueueFullError when 256 messages already wait;
   * RoomLeftError after (or during) leave.
   */
  async publish(content: RoomContent): Promise<string> {
    if (this.#left) throw new RoomLeftError();
    const { bytes, id } = await encodeRoomMessage(
      this.node.identity,
      this.topic,
      bytesOf(content),
      this.node.runtime.rng,
    );
    const max = this.#gossip.maxContentSize;
    if (bytes.length > max) throw new RoomMessageTooLargeError(bytes.length, max);
    if (this.#left) throw new RoomLeftError();
    if (this.#gossip.neighbours().length > 0) {
      await this.#gossip.publish(bytes);
    } else {
      await this.#queue.enqueue(bytes);
    }
    return id;
  }

  /**
   * Leaves the topic: fails queued messages with `RoomLeftError`, closes the overlay and the
   * sync of the topic, completes the room's streams, stops the node when the room owns it
   * (`joinTopic` without `node`) and releases what `joinTopic` took (the identity's lock).
   * Idempotent.
   */
  leave(): Promise<void> {
    this.#leaving ??= this.#leave();
    return this.#leaving;
  }

  async #leave(): Promise<void> {
    this.#end();
    const failures: unknown[] = [];
    const attempt = async (step: () => void | Promise<void>) => {
      await Promise.resolve()
        .then(step)
        .catch((error: unknown) => failures.push(error));
    };
    await attempt(() => this.#gossip.close());
    await attempt(() => this.#sync.close());
    if (this.#options.ownsNode === true) await attempt(() => this.node.stop());
    await attempt(() => this.#options.onLeave?.());
    if (failures.length > 0) throw failures[0];
  }

  /** Ends the room's own part (queue, subscriptions, streams); the handles close in leave. */
  #end(): void {
    if (this.#left) return;
    this.#left = true;
    this.#queue.failAll(new RoomLeftError());
    for (const subscription of this.#subscriptions) subscription.unsubscribe();
    this.#messages.complete();
    this.#operations.complete();
    this.#peers.complete();
  }
}

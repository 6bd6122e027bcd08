import type { P2pEvent } from "@p2panda-web/events";
import { type Observable, Subject, type Subscription } from "rxjs";
import { concatBytes } from "../bytes.ts";
import {
  type PayloadDecryptionError,
  type PayloadKey,
  SEALED_PAYLOAD_OVERHEAD,
} from "../crypto/payload-key.ts";
import type { NodeId } from "../ids/node-id.ts";
import { Topic } from "../ids/topic.ts";
import { GossipStoppedError } from "./errors.ts";
// The service's events are the state machine's (`GossipServiceEvent` is this type); importing
// them from here keeps the handle free of an import cycle with the service.
import type { GossipStateEvent as GossipServiceEvent } from "./gossip-state.ts";

/**
 * A message arrived on a handle that has a payload key, and the key does not open it (another
 * key, another topic, or bytes that are no sealed payload). The message is not delivered on
 * `messages$`; nothing else happens: the link stays up and the message was already forwarded
 * (relaying nodes cannot tell).
 */
export interface GossipUndecryptableEvent extends P2pEvent<"gossip:undecryptable"> {
  readonly topic: Topic;
  /** BLAKE3 of the sealed bytes as received. */
  readonly id: Uint8Array;
  readonly deliveredBy: NodeId;
  readonly error: PayloadDecryptionError;
}

/**
 * A handle's events: the service's events of its topic, with `gossip:received` carrying the
 * decrypted content when the handle has a payload key, or `gossip:undecryptable` instead.
 */
export type GossipHandleEvent = GossipServiceEvent | GossipUndecryptableEvent;

const GOSSIP_PAYLOAD_CONTEXT = new TextEncoder().encode("p2panda-web gossip payload v1");

/** The associated data of a topic's sealed gossip messages: a message opens on its topic only. */
export function gossipPayloadContext(topic: Topic): Uint8Array {
  return concatBytes(GOSSIP_PAYLOAD_CONTEXT, Topic.toBytes(topic));
}

/** A message received on a topic's overlay. */
export interface GossipDelivery {
  readonly topic: Topic;
  /** The content (decrypted, when the handle has a payload key). */
  readonly content: Uint8Array;
  /**
   * BLAKE3 of the content as sent: the same message always has the same id. With a payload key
   * it is the hash of the sealed bytes, so the same plaintext published twice has two ids.
   */
  readonly id: Uint8Array;
  /**
   * The neighbour whose authenticated link delivered it; not necessarily its author (gossip
   * carries no origin claim: an application that needs authorship signs the content).
   */
  readonly deliveredBy: NodeId;
  /** Hops the message travelled to us. */
  readonly hops: number;
}

/**
 * @internal What a {@link GossipHandle} needs of its service: the `GossipService` is the
 * only host; the seam keeps the handle free of the service's links and timers.
 */
export interface GossipHandleHost {
  /** The largest message the overlay carries, in bytes. */
  readonly maxMessageSize: number;
  /** The overlay neighbours of `topic` now. */
  neighbours(topic: Topic): NodeId[];
  /** Broadcasts `content` on `topic`; returns its message id. For handles only. */
  _publish(topic: Topic, content: Uint8Array): Uint8Array;
  /** A handle closed; the last of a topic leaves it. For handles only. */
  _release(handle: GossipHandle): Promise<void>;
  /** The service's events of `topic`. For handles only. */
  _events(topic: Topic): Observable<GossipServiceEvent>;
}

/**
 * A subscription to one topic's overlay. Several handles of the same topic share the overlay;
 * {@link GossipHandle.close} releases this one, and the last to close leaves the topic.
 */
export class GossipHandle {
  readonly topic: Topic;
  readonly #service: GossipHandleHost;
  readonly #messages = new Subject<GossipDelivery>();
  readonly #events = new Subject<GossipHandleEvent>();
  readonly #subscription: Subscription;
  readonly #payloadKey: PayloadKey | undefined;
  #closed = false;

  /** @internal Created by `GossipService.stream`. */
  constructor(service: GossipHandleHost, topic: Topic, payloadKey?: PayloadKey) {
    this.#service = service;
    this.topic = topic;
    this.#payloadKey = payloadKey;
    this.#subscription = service._events(topic).subscribe({
      next: (event) => {
        if (event.type !== "gossip:received") {
          this.#events.next(event);
          return;
        }
        const opened = this.#open(event);
        if (opened.type === "gossip:received") {
          const { content, id, deliveredBy, hops } = opened;
          this.#messages.next({ topic, content, id, deliveredBy, hops });
        }
        this.#events.next(opened);
      },
      complete: () => this._end(),
    });
  }

  /** A received message as this handle shows it: decrypted, or reported as undecryptable. */
  #open(
    event: Extract<GossipServiceEvent, { type: "gossip:received" }>,
  ): Extract<GossipServiceEvent, { type: "gossip:received" }> | GossipUndecryptableEvent {
    if (this.#payloadKey === undefined) return event;
    try {
      const content = this.#payloadKey.open(event.content, gossipPayloadContext(this.topic));
      return { ...event, content };
    } catch (error) {
      return {
        type: "gossip:undecryptable",
        at: event.at,
        topic: event.topic,
        id: event.id,
        deliveredBy: event.deliveredBy,
        error: error as PayloadDecryptionError,
      };
    }
  }

  /** Messages others published on the topic after we joined. Completes on close. */
  get messages$(): Observable<GossipDelivery> {
    return this.#messages.asObservable();
  }

  /**
   * This topic's events (joined, neighbour-up/down, received) until the handle closes; the
   * service's `events$` also carries `gossip:left`.
   */
  get events$(): Observable<GossipHandleEvent> {
    return this.#events.asObservable();
  }

  /** The topic's overlay neighbours now. */
  neighbours(): NodeId[] {
    return this.#service.neighbours(this.topic);
  }

  /** Whether {@link GossipHandle.close} was called (or the service stopped). */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Resolves once the overlay has at least one neighbour (at once if it has one now), so a
   * published message has somewhere to go.
   *
   * @throws GossipStoppedError if the handle closes first.
   */
  joined(): Promise<void> {
    if (this.neighbours().length > 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const sub = this.#events.subscribe({
        next: (event) => {
          if (event.type === "gossip:neighbour-up") {
            sub.unsubscribe();
            resolve();
          }
        },
        complete: () => reject(new GossipStoppedError()),
      });
    });
  }

  /**
   * Broadcasts `content` to everyone on the topic (not delivered to ourselves), sealed with the
   * handle's payload key if it has one. Resolves with the message id, BLAKE3 of what was sent. Messages are identified by their content: publishing the
   * same bytes again within the id retention (90 s by default) is a duplicate and goes nowhere,
   * so content that repeats (heartbeats, "typing…") should carry a counter or a timestamp.
   *
   * @throws GossipMessageTooLargeError above the maximum message size (4,096 bytes by default,
   * the sealed size with a payload key: 41 bytes more than the plaintext).
   * @throws GossipStoppedError after close.
   */
  async publish(content: Uint8Array): Promise<Uint8Array> {
    if (this.#closed) throw new GossipStoppedError("gossip handle is closed");
    const sent =
      this.#payloadKey === undefined
        ? content
        : this.#payloadKey.seal(content, gossipPayloadContext(this.topic));
    return this.#service._publish(this.topic, sent);
  }

  /**
   * The largest content {@link GossipHandle.publish} takes, in bytes: the overlay's maximum
   * message size, less what sealing adds when the handle has a payload key.
   */
  get maxContentSize(): number {
    const max = this.#service.maxMessageSize;
    return this.#payloadKey === undefined ? max : max - SEALED_PAYLOAD_OVERHEAD;
  }

  /** Releases this handle; the last handle of the topic leaves the overlay. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this._end();
    await this.#service._release(this);
  }

  /** @internal Completes the handle's streams. */
  _end(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#subscription.unsubscribe();
    this.#messages.complete();
    this.#events.complete();
  }
}

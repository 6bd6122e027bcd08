import type { Topic } from "../ids/topic.ts";
import { SyncProtocolError, TopicNotSubscribedError } from "./errors.ts";
import type { TopicSyncMessage } from "./messages.ts";

/** What the handshake asks its driver to do. */
export type HandshakeOutput =
  | { readonly type: "send"; readonly message: TopicSyncMessage }
  | { readonly type: "done"; readonly topic: Topic };

type State = "idle" | "await-done" | "await-topic" | "await-final-done" | "done";

/**
 * The topic handshake that opens every sync stream (spec §6.3), sans-IO: initiator → `topic`;
 * acceptor → `done` (only if it is subscribed); initiator → `done`. Afterwards both know the
 * topic. Feed it received messages; it returns what to send.
 */
export class TopicHandshake {
  readonly role: "initiator" | "acceptor";
  #state: State = "idle";
  #topic: Topic | undefined;
  readonly #isSubscribed: (topic: Topic) => boolean;

  private constructor(
    role: "initiator" | "acceptor",
    topic: Topic | undefined,
    isSubscribed: (topic: Topic) => boolean,
  ) {
    this.role = role;
    this.#topic = topic;
    this.#isSubscribed = isSubscribed;
  }

  /** The side that opened the stream and names the topic. */
  static initiator(topic: Topic): TopicHandshake {
    return new TopicHandshake("initiator", topic, () => true);
  }

  /** The side that accepted the stream; continues only for topics `isSubscribed` accepts. */
  static acceptor(isSubscribed: (topic: Topic) => boolean): TopicHandshake {
    return new TopicHandshake("acceptor", undefined, isSubscribed);
  }

  /** The topic, once known (initiator: from the start; acceptor: after `topic`). */
  get topic(): Topic | undefined {
    return this.#topic;
  }

  /** Whether both sides know the topic. */
  get isDone(): boolean {
    return this.#state === "done";
  }

  /** Begins the handshake. */
  start(): HandshakeOutput[] {
    if (this.#state !== "idle") throw new Error("handshake already started");
    if (this.role === "initiator") {
      this.#state = "await-done";
      return [{ type: "send", message: { type: "topic", topic: this.#topic as Topic } }];
    }
    this.#state = "await-topic";
    return [];
  }

  /**
   * Handles one received message. Throws {@link SyncProtocolError} on a message out of order,
   * {@link TopicNotSubscribedError} (acceptor) for a topic we do not sync.
   */
  handle(message: TopicSyncMessage): HandshakeOutput[] {
    const state = this.#state;
    if (state === "await-done" && message.type === "done") {
      this.#state = "done";
      return [
        { type: "send", message: { type: "done" } },
        { type: "done", topic: this.#topic as Topic },
      ];
    }
    if (state === "await-topic" && message.type === "topic") {
      if (!this.#isSubscribed(message.topic)) throw new TopicNotSubscribedError();
      this.#topic = message.topic;
      this.#state = "await-final-done";
      return [{ type: "send", message: { type: "done" } }];
    }
    if (state === "await-final-done" && message.type === "done") {
      this.#state = "done";
      return [{ type: "done", topic: this.#topic as Topic }];
    }
    throw new SyncProtocolError(`handshake/${state}`, message.type);
  }
}

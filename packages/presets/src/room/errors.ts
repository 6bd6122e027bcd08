import { P2pandaError } from "@p2panda-web/core";

/**
 * A message published while the room had no neighbour waited longer than the queue's timeout
 * (default 30 s) for the first one, and was dropped unsent.
 */
export class RoomPublishTimeoutError extends P2pandaError {
  static override readonly name: string = "RoomPublishTimeoutError";
  /** How long it waited. */
  readonly timeoutMs: number;

  constructor(timeoutMs: number) {
    super(
      "ROOM_PUBLISH_TIMEOUT",
      `no peer joined the topic within ${timeoutMs} ms: the message was not sent (is the bootstrap reachable?)`,
    );
    this.timeoutMs = timeoutMs;
  }
}

/** More messages were waiting for the room's first neighbour than the queue holds (default 256). */
export class RoomPublishQueueFullError extends P2pandaError {
  static override readonly name: string = "RoomPublishQueueFullError";
  /** The queue's bound. */
  readonly capacity: number;

  constructor(capacity: number) {
    super(
      "ROOM_PUBLISH_QUEUE_FULL",
      `${capacity} messages already wait for the first peer of the topic: this one was not queued`,
    );
    this.capacity = capacity;
  }
}

/** A message does not fit into one gossip message once framed (author, nonce, signature). */
export class RoomMessageTooLargeError extends P2pandaError {
  static override readonly name: string = "RoomMessageTooLargeError";
  /** The size of the framed message. */
  readonly size: number;
  /** The largest framed message gossip carries. */
  readonly maxSize: number;

  constructor(size: number, maxSize: number) {
    super(
      "ROOM_MESSAGE_TOO_LARGE",
      `a room message of ${size} bytes (framed) exceeds gossip's maximum of ${maxSize} bytes: put large content in the log`,
    );
    this.size = size;
    this.maxSize = maxSize;
  }
}

/** The room was left: it publishes and appends nothing more (messages still queued get this). */
export class RoomLeftError extends P2pandaError {
  static override readonly name: string = "RoomLeftError";
  constructor() {
    super("ROOM_LEFT", "the room was left");
  }
}

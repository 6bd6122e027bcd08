import type { ScheduledTimer, Timers } from "@p2panda-web/core";
import { RoomPublishQueueFullError, RoomPublishTimeoutError } from "./errors.ts";

/** Bounds of the {@link PublishQueue}. */
export interface PublishQueueConfig {
  /** Messages that may wait for the first neighbour at once. Default 256. */
  readonly capacity: number;
  /** How long one message waits before it fails with `RoomPublishTimeoutError`. Default 30 s. */
  readonly timeoutMs: number;
}

/** The queue's defaults: 256 messages, 30 s each. */
export const DEFAULT_PUBLISH_QUEUE_CONFIG: PublishQueueConfig = {
  capacity: 256,
  timeoutMs: 30_000,
};

interface Waiting {
  readonly bytes: Uint8Array;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  readonly timer: ScheduledTimer;
}

/**
 * Messages published while the topic's overlay has no neighbour yet. Gossip sends only to
 * neighbours, so a message published before the first one would go nowhere; here it waits, in
 * publishing order, until {@link PublishQueue.flush} (the room calls it on the first
 * neighbour), and fails after its timeout or past the capacity instead of being lost silently.
 */
export class PublishQueue {
  readonly #config: PublishQueueConfig;
  readonly #timers: Timers;
  readonly #waiting: Waiting[] = [];

  constructor(timers: Timers, config: Partial<PublishQueueConfig> = {}) {
    this.#timers = timers;
    this.#config = { ...DEFAULT_PUBLISH_QUEUE_CONFIG, ...config };
  }

  /** How many messages wait. */
  get size(): number {
    return this.#waiting.length;
  }

  /**
   * Queues `bytes`; resolves once {@link PublishQueue.flush} has handed it to `send`.
   *
   * @throws RoomPublishQueueFullError at capacity; RoomPublishTimeoutError after the timeout.
   */
  enqueue(bytes: Uint8Array): Promise<void> {
    if (this.#waiting.length >= this.#config.capacity) {
      return Promise.reject(new RoomPublishQueueFullError(this.#config.capacity));
    }
    return new Promise((resolve, reject) => {
      const timer = this.#timers.after(this.#config.timeoutMs, () => {
        const index = this.#waiting.indexOf(waiting);
        if (index >= 0) this.#waiting.splice(index, 1);
        reject(new RoomPublishTimeoutError(this.#config.timeoutMs));
      });
      const waiting: Waiting = { bytes, resolve, reject, timer };
      this.#waiting.push(waiting);
    });
  }

  /**
   * Hands every waiting message to `send`, oldest first, and settles each with `send`'s
   * outcome. Messages queued while `send` runs wait for the next flush.
   */
  async flush(send: (bytes: Uint8Array) => Promise<unknown>): Promise<void> {
    const batch = this.#waiting.splice(0);
    for (const waiting of batch) {
      waiting.timer.cancel();
      try {
        await send(waiting.bytes);
        waiting.resolve();
      } catch (error) {
        waiting.reject(error);
      }
    }
  }

  /** Fails every waiting message with `error` (the room is left). */
  failAll(error: unknown): void {
    for (const waiting of this.#waiting.splice(0)) {
      waiting.timer.cancel();
      waiting.reject(error);
    }
  }
}

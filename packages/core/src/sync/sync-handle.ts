import type { Observable } from "rxjs";
import type { Topic } from "../ids/topic.ts";
import { SyncStoppedError } from "./errors.ts";
import type { SyncEvent } from "./events.ts";
import type { LogId } from "./log-id.ts";
import type { PublishOptions } from "./log-sync-protocol.ts";
import type { Operation } from "./operation.ts";
import type { TopicSyncEvent } from "./protocol.ts";
import type { SyncServiceEvent } from "./service-events.ts";

/** What a {@link SyncHandle} asks of the service that made it (the `SyncService`). */
export interface SyncHandleHost<TItem, TEvent extends TopicSyncEvent, TWrite, TWriteOptions> {
  /** The service's events of `topic`. For handles only. */
  _events(topic: Topic): Observable<SyncServiceEvent<TEvent>>;
  /** Writes `input` to our log of `topic` and sends it on. For handles only. */
  _publish(topic: Topic, input: TWrite, options?: TWriteOptions): Promise<TItem>;
  /** Every stored item of `topic`. For handles only. */
  _operations(topic: Topic): Promise<TItem[]>;
  /** A handle closed; the last of a topic ends its sessions. For handles only. */
  _release(handle: SyncHandle<TItem, TEvent, TWrite, TWriteOptions>): Promise<void>;
}

/**
 * A subscription to one topic's sync. Several handles of a topic share its sessions;
 * {@link SyncHandle.close} releases this one and the last to close ends them.
 */
export class SyncHandle<
  TItem = Operation,
  TEvent extends TopicSyncEvent = SyncEvent,
  TWrite = Uint8Array,
  TWriteOptions = PublishOptions,
> {
  readonly topic: Topic;
  /** Log sync: the log {@link SyncHandle.publish} writes to (the stream's `logId`). */
  readonly logId: LogId;
  readonly #service: SyncHandleHost<TItem, TEvent, TWrite, TWriteOptions>;
  #closed = false;
  readonly #events: Observable<SyncServiceEvent<TEvent>>;

  /** @internal Created by `SyncService.stream`. */
  constructor(
    service: SyncHandleHost<TItem, TEvent, TWrite, TWriteOptions>,
    topic: Topic,
    logId: LogId,
  ) {
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
  get events$(): Observable<SyncServiceEvent<TEvent>> {
    return this.#events;
  }

  /** Whether {@link SyncHandle.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Writes `input` through the protocol and sends the result to every live peer of the topic.
   * Log sync: creates the next operation of our log with the payload, signs it and stores it
   * (durably, before resolving).
   *
   * @throws SyncStoppedError after close.
   */
  publish(input: TWrite, options?: TWriteOptions): Promise<TItem> {
    if (this.#closed) return Promise.reject(new SyncStoppedError("sync handle is closed"));
    return this.#service._publish(this.topic, input, options);
  }

  /** Everything held for the topic, ours and synced (log sync: per log in log order). */
  operations(): Promise<TItem[]> {
    return this.#service._operations(this.topic);
  }

  /** Releases this handle; the last handle of the topic ends its sessions. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this._end();
    await this.#service._release(this);
  }

  /**
   * Marks the handle closed without releasing it: what `close` does first, and what the service
   * does to every handle when it stops. For the service only.
   * @internal
   */
  _end(): void {
    this.#closed = true;
  }
}

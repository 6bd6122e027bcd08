import type { NodeId } from "../ids/node-id.ts";
import type { Topic } from "../ids/topic.ts";
import type { SyncEvent } from "./events.ts";
import type { TopicSyncEvent } from "./protocol.ts";

/** A retry of a failed session was scheduled. */
export interface SyncRetryScheduledEvent {
  readonly type: "sync:retry-scheduled";
  readonly at: number;
  readonly topic: Topic;
  readonly remote: NodeId;
  readonly delayMs: number;
}

/**
 * A session failed through the remote's fault: the remote gets no new session until `until`
 * (clock time). `error` is the typed reason (its `code` in `code`).
 */
export interface SyncPeerRefusedEvent {
  readonly type: "sync:peer-refused";
  readonly at: number;
  readonly topic: Topic | undefined;
  readonly remote: NodeId;
  readonly sessionId: string;
  readonly code: string;
  readonly error: Error;
  readonly until: number;
}

/** Events of the sync service: every session's events plus scheduled retries and refusals. */
export type SyncServiceEvent<TEvent extends TopicSyncEvent = SyncEvent> =
  | TEvent
  | SyncRetryScheduledEvent
  | SyncPeerRefusedEvent;

import type { P2pEvent } from "@p2panda-web/events";
import type { PayloadDecryptionError } from "../crypto/payload-key.ts";
import type { NodeId } from "../ids/node-id.ts";
import type { Topic } from "../ids/topic.ts";
import type { SyncMetrics } from "./metrics.ts";
import type { Operation } from "./operation.ts";

/** Fields every sync event carries (upstream `FromSync { session_id, remote, event }`). */
export interface SyncEventBase {
  readonly sessionId: string;
  readonly remote: NodeId;
  /** Known from the start for the initiator, after the handshake for the acceptor. */
  readonly topic: Topic | undefined;
}

/** A session began (always the first event of a session). */
export interface SessionStartedEvent extends P2pEvent<"sync:session-started">, SyncEventBase {
  readonly role: "initiator" | "acceptor";
  readonly liveMode: boolean;
}
/** Both sides announced what they will send: `metrics.inbound*`/`outbound*` are the progress basis. */
export interface SyncStartedEvent extends P2pEvent<"sync:started">, SyncEventBase {
  readonly metrics: SyncMetrics;
}
/** A received operation was validated and stored. In log order per log. */
export interface OperationReceivedEvent extends P2pEvent<"sync:operation-received">, SyncEventBase {
  readonly operation: Operation;
  readonly phase: "sync" | "live";
  readonly metrics: SyncMetrics;
}
/**
 * A received operation was validated and stored, but the topic's payload key does not open its
 * body (written with another key, or by a node that does not encrypt). Follows its
 * `sync:operation-received`; the session goes on, and the operation is served to others as is.
 */
export interface PayloadUndecryptableEvent
  extends P2pEvent<"sync:payload-undecryptable">,
    SyncEventBase {
  readonly operation: Operation;
  readonly error: PayloadDecryptionError;
}
/** Both directions of the sync phase completed. */
export interface SyncFinishedEvent extends P2pEvent<"sync:finished">, SyncEventBase {
  readonly metrics: SyncMetrics;
}
/** The session entered live mode. */
export interface LiveModeStartedEvent extends P2pEvent<"sync:live-started">, SyncEventBase {}
/** Live mode ended cleanly (`close` sent or received). */
export interface LiveModeFinishedEvent extends P2pEvent<"sync:live-finished">, SyncEventBase {
  readonly metrics: SyncMetrics;
}
/** The session ended with an error (always the last event of a failed session). */
export interface SyncFailedEvent extends P2pEvent<"sync:failed">, SyncEventBase {
  readonly error: Error;
  readonly metrics: SyncMetrics;
}

/** Every event of a sync session. */
export type SyncEvent =
  | SessionStartedEvent
  | SyncStartedEvent
  | OperationReceivedEvent
  | PayloadUndecryptableEvent
  | SyncFinishedEvent
  | LiveModeStartedEvent
  | LiveModeFinishedEvent
  | SyncFailedEvent;

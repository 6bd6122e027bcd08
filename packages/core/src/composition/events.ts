import type { P2pEvent } from "@p2panda-web/events";

/**
 * A service failed while the node ran (its `events$` errored, or its restart failed to start);
 * the node restarts it after `restartInMs`.
 */
export interface NodeServiceFailedEvent extends P2pEvent<"node:service-failed"> {
  readonly service: string;
  /** What failed, in one line. */
  readonly reason: string;
  readonly restartInMs: number;
  /** Restarts in this failure streak so far, this one included (1 for the first). */
  readonly attempt: number;
}

/** A failed service runs again: a new instance was made and started. */
export interface NodeServiceRestartedEvent extends P2pEvent<"node:service-restarted"> {
  readonly service: string;
  /** The failure it was restarted for. */
  readonly reason: string;
  readonly attempt: number;
}

/** What the node itself reports (its services report through their own events). */
export type NodeSupervisionEvent = NodeServiceFailedEvent | NodeServiceRestartedEvent;

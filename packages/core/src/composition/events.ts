import type { P2pEvent } from "@p2panda-web/events";
import type { NodeId } from "../ids/node-id.ts";

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

/** Names of the page signals a node reacts to (see `PageSignal`). */
export type PageSignalType =
  | "offline"
  | "online"
  | "hidden"
  | "visible"
  | "frozen"
  | "resumed"
  | "pagehide"
  | "pageshow";

/** Why a node paused its background work. Several can hold at once. */
export type PauseReason = "offline" | "frozen" | "bfcache";

/** A page signal arrived (lifecycle recovery); `paused`: whether the node is paused after it. */
export interface NodePageSignalEvent extends P2pEvent<"node:page-signal"> {
  readonly signal: PageSignalType;
  readonly paused: boolean;
}

/** The node paused its background work (walkers and their timers) for `reason`. */
export interface NodePausedEvent extends P2pEvent<"node:paused"> {
  readonly reason: PauseReason;
}

/**
 * The node runs again after a pause of `pausedMs` (or, `reason: "visible"`, after being hidden
 * that long): it dials its bootstraps, heals its overlays (sync follows) and resets its walkers.
 */
export interface NodeResumedEvent extends P2pEvent<"node:resumed"> {
  readonly reason: PauseReason | "visible";
  readonly pausedMs: number;
}

/** A bootstrap node is not connected; the node dials it again in `delayMs`. */
export interface NodeBootstrapReconnectScheduledEvent
  extends P2pEvent<"node:bootstrap-reconnect-scheduled"> {
  readonly node: NodeId;
  /** Reconnects of this streak, this one included (1 for the first). */
  readonly attempt: number;
  readonly delayMs: number;
}

/** A lost bootstrap node is connected again, `afterMs` after it was lost (or the node resumed). */
export interface NodeBootstrapReconnectedEvent extends P2pEvent<"node:bootstrap-reconnected"> {
  readonly node: NodeId;
  readonly afterMs: number;
}

/** What lifecycle recovery reports. */
export type NodeLifecycleEvent =
  | NodePageSignalEvent
  | NodePausedEvent
  | NodeResumedEvent
  | NodeBootstrapReconnectScheduledEvent
  | NodeBootstrapReconnectedEvent;

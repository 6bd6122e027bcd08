import type { NodeEvent, NodeId, Topic } from "@p2panda-web/core";
import type { Observable } from "rxjs";
import type { LogEntry } from "../room/log-entry.ts";
import type { RoomContent } from "../room/room.ts";
import type { RoomMessage } from "../room/room-message.ts";

/** The synced log of a {@link TopicRoom}: what `Room.log` offers, in any tab. */
export interface TopicRoomLog {
  /** Appends `content` to the node's log of the topic; resolves with the stored entry. */
  append(content: RoomContent): Promise<LogEntry>;
  /** Every entry stored for the topic, in history order. */
  history(): Promise<LogEntry[]>;
  /** New entries: the node's own (from any tab) and synced ones. */
  readonly operations$: Observable<LogEntry>;
}

/**
 * A joined topic as an app uses it, whether the node runs in this tab (a `Room`) or in another
 * tab of the origin (a `SharedRoom` following the leader tab).
 */
export interface TopicRoom {
  /** The topic on the network (the id derived from the secret topic when encrypting). */
  readonly topic: Topic;
  /** The node's id: the same in every tab sharing the node. */
  readonly nodeId: NodeId;
  readonly log: TopicRoomLog;
  /** Ephemeral messages of other nodes on the topic. */
  readonly messages$: Observable<RoomMessage>;
  /** The topic's neighbours of the node; current value first. */
  readonly peers$: Observable<ReadonlySet<NodeId>>;
  /** Events of the node. */
  readonly events$: Observable<NodeEvent | { readonly type: string }>;
  /** Sends an ephemeral message to whoever is on the topic; resolves with its id. */
  publish(content: RoomContent): Promise<string>;
  /** Leaves the topic (and stops what this tab runs for it). */
  leave(): Promise<void>;
}

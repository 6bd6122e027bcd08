import type { NodeId } from "../../ids/node-id.ts";
import type { Topic } from "../../ids/topic.ts";
import type { TopicLogs } from "../log-heights.ts";
import type { LogId } from "../log-id.ts";

/**
 * Which logs belong to a topic: topic → author → log ids. The app associates its own logs; sync
 * associates the logs it receives for a topic, so they are offered to the next peer.
 */
export interface TopicStore {
  /** Adds a log to a topic. Returns whether it was new. */
  associate(topic: Topic, author: NodeId, logId: LogId): Promise<boolean>;
  /** Removes a log from a topic. Returns whether it was there. */
  remove(topic: Topic, author: NodeId, logId: LogId): Promise<boolean>;
  /** The logs of a topic, authors and log ids in ascending order; empty when unknown. */
  resolve(topic: Topic): Promise<TopicLogs>;
}

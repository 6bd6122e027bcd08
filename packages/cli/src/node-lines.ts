// The JSON lines both node commands print on stdout about the node itself: listening, each
// connection opened or closed, each discovery session (gossip-lines.ts and topic-services.ts
// print the topics' lines).
import type { DiscoveryEvent } from "@p2panda-web/core/discovery";
import type { EndpointEvent } from "@p2panda-web/core/endpoint";

/** The line printed once the node listens. */
export interface ListeningLine {
  readonly event: "listening";
  readonly nodeId: string;
  readonly addrs: string[];
}

/** A line printed per connection opened or closed. */
export interface ConnectionLine {
  readonly event: "connection-opened" | "connection-closed";
  readonly remote: string;
  readonly transport: string;
  readonly direction: "inbound" | "outbound";
  readonly limited: boolean;
}

/** A line printed per discovery session that ended or failed (and per refused session). */
export interface DiscoveryLine {
  readonly event:
    | "discovery-session-ended"
    | "discovery-session-failed"
    | "discovery-session-refused";
  readonly remote: string;
  readonly role?: "initiated" | "accepted";
  readonly sharedTopics?: number;
  readonly newlyLearned?: number;
  readonly reason?: string;
  /** What went wrong, for people (a failed session's error message, with its cause). */
  readonly message?: string;
  readonly durationMs?: number;
}

/** The line of a discovery event, or `undefined` for events that print none. */
export function discoveryLine(event: DiscoveryEvent): DiscoveryLine | undefined {
  switch (event.type) {
    case "discovery:session-ended":
      return {
        event: "discovery-session-ended",
        remote: event.remoteNodeId,
        role: event.role,
        sharedTopics: event.result.topics.size,
        newlyLearned: event.newlyLearned,
        durationMs: Math.round(event.durationMs),
      };
    case "discovery:session-failed":
      return {
        event: "discovery-session-failed",
        remote: event.remoteNodeId,
        role: event.role,
        reason: event.reason,
        message: event.error.message,
        durationMs: Math.round(event.durationMs),
      };
    case "discovery:session-refused":
      return { event: "discovery-session-refused", remote: event.remoteNodeId };
    default:
      return undefined;
  }
}

/** The line of an endpoint event, or `undefined` for events that print none. */
export function connectionLine(event: EndpointEvent): ConnectionLine | undefined {
  if (event.type !== "endpoint:connection-opened" && event.type !== "endpoint:connection-closed") {
    return undefined;
  }
  return {
    event: event.type === "endpoint:connection-opened" ? "connection-opened" : "connection-closed",
    remote: event.remote,
    transport: event.transport,
    direction: event.direction,
    limited: event.limited,
  };
}

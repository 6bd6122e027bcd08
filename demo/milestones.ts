// When this tab first reached each step towards its data, in ms since navigation start
// (`performance.now()`): read by the time-to-data benchmark (e2e/bench/time-to-data.bench.ts)
// from `window.p2panda.milestones`. Subscribed before the node starts, so nothing is missed.
import type { Connection } from "@libp2p/interface";
import { NodeId, type Topic } from "@p2panda-web/core";
import type { createBrowserNode } from "@p2panda-web/presets";

type DemoNode = Awaited<ReturnType<typeof createBrowserNode>>;

/** Milestones of one page load; a field is set the first time its step happened. */
export interface Milestones {
  /** `node.start()` resolved. */
  nodeRunning?: number;
  /** A connection to a bootstrap node opened. */
  bootstrapConnected?: number;
  /** The first discovery session started (a walker's first step, to a bootstrap node). */
  firstWalkStep?: number;
  /** The first discovery session with another node than a bootstrap started. */
  firstPeerSession?: number;
  /**
   * A relayed connection with another node than a bootstrap opened: the circuit that carries a
   * WebRTC set-up's signalling.
   */
  signallingCircuit?: number;
  /** The address book knows another node on the demo's topic (not a bootstrap). */
  coTopicPeerKnown?: number;
  /** A direct (not relayed) WebRTC connection opened. */
  directConnection?: number;
  /** The topic's gossip overlay has a neighbour. */
  overlayJoined?: number;
  /** First time each event type was seen on `node.events$` (where the seconds go). */
  readonly firstEvent: Record<string, number>;
  /** The first {@link EVENT_LOG_LIMIT} events of the node: type, time and remote node if any. */
  readonly log: { type: string; at: number; remote?: string; detail?: string }[];
}

/** Events kept in {@link Milestones.log}: the start of a page's life, not all of it. */
export const EVENT_LOG_LIMIT = 400;

/** A short text for the fields of an event that say what happened to whom. */
function eventDetail(event: object): string | undefined {
  const parts: string[] = [];
  for (const key of ["transport", "limited", "state", "reason", "why", "role", "result", "code"]) {
    const value = (event as Record<string, unknown>)[key];
    if (value === undefined || typeof value === "object") continue;
    parts.push(`${key}=${String(value)}`);
  }
  const error = (event as { error?: unknown }).error;
  if (error instanceof Error) parts.push(error.message.slice(0, 120));
  return parts.length === 0 ? undefined : parts.join(" ");
}

/**
 * User Timing marks of the endpoint's way to its first connection, for the time-to-data
 * benchmark's timeline (`p2panda:<step>`, beside the demo's own `demo:` marks): the bootstrap's
 * WebSocket open and Noise + Yamux done on it (libp2p's connection timeline, so a connection
 * that opened while the node was made counts at its time), its identify, the relay reservation
 * and our first transport info with an address. Each once.
 */
function markEndpointSteps(node: DemoNode, bootstrapIds: ReadonlySet<string>): void {
  const marked = new Set<string>();
  const mark = (step: string, epochMs?: number): void => {
    if (marked.has(step)) return;
    marked.add(step);
    const startTime =
      epochMs === undefined ? undefined : performance.now() - (Date.now() - epochMs);
    try {
      performance.mark(`p2panda:${step}`, startTime === undefined ? undefined : { startTime });
    } catch {
      // Before the page's time origin: no mark.
    }
  };
  const isBootstrap = (peer: { toString(): string }): boolean => {
    try {
      return bootstrapIds.has(NodeId.fromPeerId(peer.toString()));
    } catch {
      return false;
    }
  };
  const libp2p = node.endpoint.libp2p;
  const opened = (connection: Connection): void => {
    if (!isBootstrap(connection.remotePeer)) return;
    mark("bootstrap-websocket-open", connection.timeline.open);
    mark("bootstrap-connected", connection.timeline.upgraded);
  };
  for (const connection of libp2p.getConnections()) opened(connection);
  libp2p.addEventListener("connection:open", (event) => opened(event.detail));
  libp2p.addEventListener("peer:identify", (event) => {
    if (isBootstrap(event.detail.peerId)) mark("bootstrap-identified");
  });
  node.events$.subscribe((event) => {
    if (event.type === "endpoint:relay-reservation" && event.state === "gained") {
      mark("relay-reservation");
    } else if (event.type === "endpoint:addresses-changed" && event.addresses.length > 0) {
      mark("transport-info-published");
    }
  });
}

/** Starts recording; call before `node.start()`. */
export function recordMilestones(
  node: DemoNode,
  topic: Topic,
  bootstrapIds: ReadonlySet<string>,
): Milestones {
  const milestones: Milestones = { firstEvent: {}, log: [] };
  const self: NodeId = node.identity.nodeId;
  node.events$.subscribe((event) => {
    const now = performance.now();
    milestones.firstEvent[event.type] ??= now;
    if (milestones.log.length < EVENT_LOG_LIMIT) {
      const remote = event as { remote?: unknown; remoteNodeId?: unknown; node?: unknown };
      const who = remote.remote ?? remote.remoteNodeId ?? remote.node;
      milestones.log.push({
        type: event.type,
        at: Math.round(now),
        ...(typeof who === "string" ? { remote: who.slice(0, 8) } : {}),
        ...(eventDetail(event) === undefined ? {} : { detail: eventDetail(event) }),
      });
    }
    if (event.type === "endpoint:connection-opened") {
      if (bootstrapIds.has(event.remote)) milestones.bootstrapConnected ??= now;
      else if (event.limited) milestones.signallingCircuit ??= now;
      else if (event.transport === "webrtc") milestones.directConnection ??= now;
    } else if (event.type === "discovery:session-started") {
      milestones.firstWalkStep ??= now;
      if (!bootstrapIds.has(event.remoteNodeId)) milestones.firstPeerSession ??= now;
    } else if (event.type === "gossip:neighbour-up" && event.topic === topic) {
      milestones.overlayJoined ??= now;
    }
  });
  markEndpointSteps(node, bootstrapIds);
  // The bootstrap dial starts while the node is made, so its connection may be open already:
  // taken at the time libp2p opened it.
  for (const connection of node.endpoint.libp2p.getConnections()) {
    let remote: string;
    try {
      remote = NodeId.fromPeerId(connection.remotePeer.toString());
    } catch {
      continue;
    }
    const at = performance.now() - (Date.now() - connection.timeline.open);
    if (bootstrapIds.has(remote)) {
      milestones.bootstrapConnected = Math.min(milestones.bootstrapConnected ?? at, at);
    }
  }
  node.addressBook.watchTopic(topic, { emitCurrent: true }).subscribe((change) => {
    const peer = [...change.value].some((id) => id !== self && !bootstrapIds.has(id));
    if (peer) milestones.coTopicPeerKnown ??= performance.now();
  });
  return milestones;
}

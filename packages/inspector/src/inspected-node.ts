import type { NodeId, NodeInfo, Topic } from "@p2panda-web/core";
import type { WalkerPosition } from "@p2panda-web/core/discovery";
import type { ConnectionSummary } from "@p2panda-web/core/endpoint";
import type { GossipOverlay } from "@p2panda-web/core/gossip";
import type { SyncSessionInfo } from "@p2panda-web/core/sync";
import type { P2pEvent } from "@p2panda-web/events";
import type { Observable } from "rxjs";

/**
 * What the inspector reads of a node: a part of the public API of the node `createNode` makes
 * (and so of the presets' nodes). Written out rather than taken as `P2pandaNode` so a node with
 * any endpoint, address book or app services fits, and so it is plain which public API the
 * inspector depends on: nothing else of the node is touched.
 */
export interface InspectedNode {
  /** The node's identity (its id is shown). */
  readonly identity: { readonly nodeId: NodeId };
  /** Addresses and connections. */
  readonly endpoint: InspectedEndpoint;
  /** Known nodes and their topics. */
  readonly addressBook: InspectedAddressBook;
  /** Every event of the node (endpoint, services, supervision). */
  readonly events$: Observable<P2pEvent>;
  /** Whether the node runs `name` (`discovery`, `gossip`, `sync`): the getters throw otherwise. */
  has(name: string): boolean;
  /** Read only when {@link InspectedNode.has} says the node runs discovery. */
  readonly discovery: InspectedDiscovery;
  /** Read only when {@link InspectedNode.has} says the node runs gossip. */
  readonly gossip: InspectedGossip;
  /** Read only when {@link InspectedNode.has} says the node runs sync. */
  readonly sync: InspectedSync;
}

/**
 * The endpoint as the inspector reads it. The libp2p endpoints of the presets have every
 * member; the in-process `MemoryNetwork` endpoint of tests lists no addresses or connections.
 */
export interface InspectedEndpoint {
  /** This node's id. */
  readonly nodeId: NodeId;
  /** The addresses the node advertises. */
  addresses?(): string[];
  /** The connections open now. */
  connections?(): ConnectionSummary[];
}

/** The address book as the inspector reads it (polled on every redraw: both are synchronous). */
export interface InspectedAddressBook {
  /** Every known node, with its bootstrap flag and connection health. */
  allNodeInfos(): NodeInfo[];
  /** The topics `id` is known to be interested in. */
  nodeTopics(id: NodeId): ReadonlySet<Topic>;
}

/** Discovery as the inspector reads it. */
export interface InspectedDiscovery {
  /** Where each random walker is now. */
  walkers(): readonly WalkerPosition[];
}

/** Gossip as the inspector reads it. */
export interface InspectedGossip {
  /** The topics whose overlay the node is in. */
  readonly topics: Topic[];
  /** The active view (neighbours) of `topic`'s overlay. */
  neighbours(topic: Topic): NodeId[];
  /** Active and passive view, eager and lazy peers of `topic` (shown when there). */
  overlay?(topic: Topic): GossipOverlay | undefined;
}

/** Sync as the inspector reads it. */
export interface InspectedSync {
  /** The sessions running now. */
  sessions(): SyncSessionInfo[];
}

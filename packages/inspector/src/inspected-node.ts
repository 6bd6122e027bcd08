import type { NodeId, NodeInfo, Topic } from "@p2panda-web/core";
import type { WalkerPosition } from "@p2panda-web/core/discovery";
import type { ConnectionSummary } from "@p2panda-web/core/endpoint";
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
  readonly identity: { readonly nodeId: NodeId };
  readonly endpoint: InspectedEndpoint;
  readonly addressBook: {
    allNodeInfos(): NodeInfo[];
    nodeTopics(id: NodeId): ReadonlySet<Topic>;
  };
  /** Every event of the node (endpoint, services, supervision). */
  readonly events$: Observable<P2pEvent>;
  /** Whether the node runs `name` (`discovery`, `gossip`, `sync`): the getters throw otherwise. */
  has(name: string): boolean;
  readonly discovery: { walkers(): readonly WalkerPosition[] };
  readonly gossip: { readonly topics: Topic[]; neighbours(topic: Topic): NodeId[] };
  readonly sync: { sessions(): SyncSessionInfo[] };
}

/**
 * The endpoint as the inspector reads it. The libp2p endpoints of the presets have every
 * member; the in-process `MemoryNetwork` endpoint of tests lists no addresses or connections.
 */
export interface InspectedEndpoint {
  readonly nodeId: NodeId;
  addresses?(): string[];
  connections?(): ConnectionSummary[];
}

import type { NodeAddressBook, NodeEndpoint, NodeService, P2pandaNode } from "@p2panda-web/core";

/** A node a {@link Room} runs on: any `createNode` node with gossip and sync. */
export type RoomNode = P2pandaNode<NodeEndpoint, NodeAddressBook, Record<string, NodeService>>;

import type { NodeId, NodeInfo, Topic } from "@p2panda-web/core";
import { AddressBookClosedError } from "./errors.ts";
import type { AddressBookStore, StoredAddressBook } from "./store.ts";

/**
 * An {@link AddressBookStore} that keeps everything in memory: for tests, the simulator and
 * nodes that should forget everyone when they stop. Writes complete immediately.
 */
export function memoryAddressBookStore(): AddressBookStore {
  const nodes = new Map<NodeId, NodeInfo>();
  const topics = new Map<NodeId, readonly Topic[]>();
  let closed = false;
  const open = (): void => {
    if (closed) throw new AddressBookClosedError("the store is closed");
  };
  return {
    kind: "memory",
    async load(): Promise<StoredAddressBook> {
      open();
      return { nodes: [...nodes.values()], topics: new Map(topics), corrupt: 0 };
    },
    async putNode(info) {
      open();
      // NodeInfo values are immutable, so keeping the object itself is safe.
      nodes.set(info.nodeId, info);
    },
    async deleteNode(id) {
      open();
      nodes.delete(id);
      topics.delete(id);
    },
    async putTopics(id, list) {
      open();
      if (list.length === 0) topics.delete(id);
      else topics.set(id, [...list]);
    },
    async close() {
      closed = true;
    },
  };
}

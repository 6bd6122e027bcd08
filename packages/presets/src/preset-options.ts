import type { AddressBook } from "@p2panda-web/address-book";
import type { CreateNodeOptions, NodeService, NodeSyncOptions } from "@p2panda-web/core";
import type { Endpoint } from "@p2panda-web/core/endpoint";

/**
 * What a preset takes of `createNode`'s options: everything but the address book, the endpoint
 * and sync's stores, which the preset picks.
 */
export type PresetNodeOptions<S extends Record<string, NodeService>> = Omit<
  CreateNodeOptions<Endpoint, AddressBook, S>,
  "addressBook" | "endpoint" | "sync"
> & {
  /** Log sync; on unless `false`, with its stores picked by the preset. */
  readonly sync?: false | Omit<NodeSyncOptions, "stores">;
};

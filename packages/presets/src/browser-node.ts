import {
  AddressBook,
  indexedDbAddressBookStore,
  memoryAddressBookStore,
} from "@p2panda-web/address-book";
import { createNode, type NodeService, type P2pandaNode } from "@p2panda-web/core";
import {
  type BrowserEndpointOptions,
  createEndpoint,
  type Endpoint,
} from "@p2panda-web/core/endpoint";
import { openIndexedDbSyncStores } from "@p2panda-web/log-store";
import type { PresetNodeOptions } from "./preset-options.ts";

/** Where a browser node keeps what it must remember. */
export type BrowserNodeStorage =
  /** Names of the IndexedDB databases of the address book and of sync's logs. */
  | { readonly addressBook: string; readonly logs: string }
  /** Nothing is kept: every reload starts empty. */
  | "memory";

/** Options of {@link createBrowserNode}. */
export type BrowserNodeOptions<S extends Record<string, NodeService>> = PresetNodeOptions<S> & {
  readonly storage: BrowserNodeStorage;
  /** The browser endpoint's options besides identity and address book (bootstrap, …). */
  readonly endpoint?: Omit<BrowserEndpointOptions, "identity" | "addressBook">;
};

/**
 * `createNode` for a browser tab: the browser endpoint (`createEndpoint`: WebSockets, WebRTC,
 * circuit relay, and the `endpoint.transports` passed in), the address book and sync's logs in
 * IndexedDB. The node closes
 * its databases on stop.
 *
 * @throws what `createNode` throws.
 */
export function createBrowserNode<S extends Record<string, NodeService> = Record<never, never>>(
  options: BrowserNodeOptions<S>,
): Promise<P2pandaNode<Endpoint, AddressBook, S>> {
  const { storage, endpoint, sync, ...rest } = options;
  return createNode<Endpoint, AddressBook, S>({
    ...rest,
    addressBook: async () =>
      AddressBook.open(
        storage === "memory"
          ? memoryAddressBookStore()
          : await indexedDbAddressBookStore(storage.addressBook),
      ),
    endpoint: (init) => createEndpoint({ ...endpoint, ...init }),
    sync:
      sync === false
        ? false
        : {
            ...sync,
            ...(storage === "memory"
              ? {}
              : { stores: () => openIndexedDbSyncStores(storage.logs) }),
          },
  });
}

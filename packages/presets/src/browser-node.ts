import {
  AddressBook,
  indexedDbAddressBookStore,
  memoryAddressBookStore,
} from "@p2panda-web/address-book";
import {
  browserPageSignals,
  createNode,
  type NodeService,
  type P2pandaNode,
} from "@p2panda-web/core";
import {
  type BrowserEndpointOptions,
  createEndpoint,
  type Endpoint,
} from "@p2panda-web/core/endpoint";
import { openIndexedDbSyncStores } from "@p2panda-web/log-store";
import { acquireIdentityOfScope, IDENTITY_DATABASE } from "./identity-store.ts";
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
 * IndexedDB. The node closes its databases on stop.
 *
 * Without an `identity`, the node's key is kept with its stores: in the IndexedDB database
 * {@link IDENTITY_DATABASE} under the address book's name, held (Web Lock) while the node runs,
 * so a reload gets the same node id back (the key is a stored seed; see identity-store.ts for
 * why not a non-extractable WebCrypto key). A second node on the same stores while the first
 * runs gets a new key that is not kept. With `"memory"` storage every node gets a new key.
 *
 * Lifecycle recovery is on (`lifecycle`, with the page's own signals): see `LifecycleRecovery`.
 *
 * @throws what `createNode` throws; the browser's error when the key cannot be stored.
 */
export async function createBrowserNode<
  S extends Record<string, NodeService> = Record<never, never>,
>(options: BrowserNodeOptions<S>): Promise<P2pandaNode<Endpoint, AddressBook, S>> {
  const { storage, endpoint, sync, lifecycle, ...rest } = options;
  const stored =
    rest.identity !== undefined || storage === "memory"
      ? undefined
      : await acquireIdentityOfScope(`node/${storage.addressBook}`, { maxSlots: 1 });
  const signals = browserPageSignals();
  try {
    return await createNode<Endpoint, AddressBook, S>({
      ...rest,
      identity: rest.identity ?? stored?.identity,
      lifecycle: lifecycle ?? (signals === undefined ? {} : { signals }),
      addressBook: async () => {
        const book = await AddressBook.open(
          storage === "memory"
            ? memoryAddressBookStore()
            : await indexedDbAddressBookStore(storage.addressBook),
        );
        if (stored === undefined) return book;
        // The book is the last thing the node closes: the key's slot is free from then on.
        const close = book.close.bind(book);
        return Object.assign(book, {
          close: async () => {
            try {
              await close();
            } finally {
              await stored.release();
            }
          },
        });
      },
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
  } catch (error) {
    await stored?.release();
    throw error;
  }
}

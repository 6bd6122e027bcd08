import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { AddressBook, memoryAddressBookStore } from "@p2panda-web/address-book";
import { createNode, type NodeService, type P2pandaNode } from "@p2panda-web/core";
import type { Endpoint } from "@p2panda-web/core/endpoint";
import {
  createNodeEndpoint,
  loadOrCreateWebRtcDirectCertificate,
  type NodeEndpointOptions,
} from "@p2panda-web/core/node";
import type { PresetNodeOptions } from "../preset-options.ts";

/** File name of the SQLite address book inside the data directory. */
export const ADDRESS_BOOK_FILE = "address-book.sqlite";

/** File name of the SQLite log store inside the data directory. */
export const LOG_STORE_FILE = "logs.sqlite";

/**
 * File name of the WebRTC-direct certificate (key and certificate in PEM, mode 0600) inside the
 * data directory: kept so that the node's WebRTC-direct address (its `/certhash/`) survives
 * restarts.
 */
export const WEBRTC_DIRECT_CERTIFICATE_FILE = "webrtc-direct-certificate.pem";

/** Options of {@link createNodeJsNode}. */
export type NodeJsNodeOptions<S extends Record<string, NodeService>> = PresetNodeOptions<S> & {
  /**
   * Directory of the SQLite files ({@link ADDRESS_BOOK_FILE}, {@link LOG_STORE_FILE}) and of the
   * WebRTC-direct certificate ({@link WEBRTC_DIRECT_CERTIFICATE_FILE}), made if missing. Without
   * it everything is kept in memory and forgotten on stop.
   */
  readonly dataDir?: string;
  /** The Node endpoint's options besides identity and address book (ports, relay, …). */
  readonly endpoint?: Omit<NodeEndpointOptions, "identity" | "addressBook">;
};

/**
 * `createNode` for a Node.js process (a bootstrap, an always-on peer): the Node endpoint
 * (`createNodeEndpoint`: TCP, WebSockets, WebRTC-direct, optionally a relay server), the address
 * book and sync's logs in SQLite (`node:sqlite`) in `dataDir`, and the WebRTC-direct certificate
 * there too (the same `/certhash/` on every start). The node closes its files on stop.
 *
 * @throws what `createNode` throws; file system errors for `dataDir`.
 */
export function createNodeJsNode<S extends Record<string, NodeService> = Record<never, never>>(
  options: NodeJsNodeOptions<S>,
): Promise<P2pandaNode<Endpoint, AddressBook, S>> {
  const { dataDir, endpoint, sync, ...rest } = options;
  return createNode<Endpoint, AddressBook, S>({
    ...rest,
    addressBook: async () => {
      if (dataDir === undefined) return AddressBook.open(memoryAddressBookStore());
      await mkdir(dataDir, { recursive: true });
      // Loaded only here: importing node:sqlite makes Node print an ExperimentalWarning, which a
      // node without a data directory has no reason to show.
      const { sqliteAddressBookStore } = await import("@p2panda-web/address-book/sqlite");
      return AddressBook.open(await sqliteAddressBookStore(join(dataDir, ADDRESS_BOOK_FILE)));
    },
    endpoint: async (init) => {
      const keepCertificate =
        dataDir !== undefined &&
        endpoint?.webrtcDirectPort !== false &&
        endpoint?.webrtcDirectCertificate === undefined;
      const certificate = keepCertificate
        ? (await loadOrCreateWebRtcDirectCertificate(join(dataDir, WEBRTC_DIRECT_CERTIFICATE_FILE)))
            .certificate
        : endpoint?.webrtcDirectCertificate;
      return createNodeEndpoint({
        ...endpoint,
        ...(certificate === undefined ? {} : { webrtcDirectCertificate: certificate }),
        ...init,
      });
    },
    sync:
      sync === false
        ? false
        : {
            ...sync,
            ...(dataDir === undefined
              ? {}
              : {
                  stores: async () => {
                    const { openSqliteSyncStores } = await import("@p2panda-web/log-store/sqlite");
                    return openSqliteSyncStores(join(dataDir, LOG_STORE_FILE));
                  },
                }),
          },
  });
}

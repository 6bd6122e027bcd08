// Real libp2p nodes for the sync tests that attack a node over libp2p: each made by createNode
// with its own identity and in-memory address book, with gossip and sync when a test asks for
// them (an attacker runs none), and stopped after every test.
import { AddressBook, memoryAddressBookStore } from "@p2panda-web/address-book";
import { afterEach } from "vitest";
import { createNode } from "../../src/composition/create-node.ts";
import type { NodeSyncOptions } from "../../src/composition/node-options.ts";
import type { P2pandaNode } from "../../src/composition/p2panda-node.ts";
import type { Endpoint } from "../../src/endpoint/endpoint.ts";
import { Identity } from "../../src/identity/identity.ts";
import { type LoopbackTransport, loopbackEndpoint } from "../endpoint/loopback.ts";

/** One node: its identity, endpoint and address book, and the node that runs them. */
export interface Node {
  readonly identity: Identity;
  readonly endpoint: Endpoint;
  readonly book: AddressBook;
  readonly node: P2pandaNode<Endpoint, AddressBook>;
}

/** Options of `node()`. */
export interface Libp2pNodeOptions {
  /** Run gossip and sync with these options; default neither. */
  readonly sync?: NodeSyncOptions;
}

/**
 * Registers an afterEach that stops every node started since (its services, then its endpoint
 * and address book); returns `node()` to start one.
 */
export function libp2pNodes(transport?: LoopbackTransport) {
  const started: Node[] = [];
  afterEach(async () => {
    for (const n of started.splice(0)) {
      await n.node.stop();
      await n.book.close();
    }
  });
  return {
    async node(bootstrap: string[] = [], options: Libp2pNodeOptions = {}): Promise<Node> {
      const identity = await Identity.generate();
      const book = await AddressBook.open(memoryAddressBookStore());
      const node = await createNode({
        identity,
        addressBook: book,
        endpoint: (init) =>
          loopbackEndpoint({
            ...init,
            bootstrap,
            ...(transport !== undefined ? { transport } : {}),
          }),
        discovery: false,
        gossip: options.sync === undefined ? false : {},
        sync: options.sync ?? false,
      });
      const n = { identity, endpoint: node.endpoint, book, node };
      started.push(n);
      return n;
    },
  };
}

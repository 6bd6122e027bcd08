// Real libp2p nodes for the sync tests that attack a node over libp2p: each with its own
// identity and in-memory address book, stopped after every test together with whatever services
// the test registered on them.
import { AddressBook, memoryAddressBookStore } from "@p2panda-web/address-book";
import { afterEach } from "vitest";
import type { Endpoint } from "../../src/endpoint/endpoint.ts";
import { Identity } from "../../src/identity/identity.ts";
import { type LoopbackTransport, loopbackEndpoint } from "../endpoint/loopback.ts";

/** One node: its identity, endpoint and address book. */
export interface Node {
  readonly identity: Identity;
  readonly endpoint: Endpoint;
  readonly book: AddressBook;
}

/**
 * Registers an afterEach that first runs the stoppers (last registered first), then stops every
 * node started since; returns `node()` to start one and `onStop()` to register a stopper.
 */
export function libp2pNodes(transport?: LoopbackTransport) {
  const started: Node[] = [];
  const stoppers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stoppers.splice(0).reverse()) await stop();
    for (const n of started.splice(0)) {
      await n.endpoint.stop();
      await n.book.close();
    }
  });
  return {
    async node(bootstrap: string[] = []): Promise<Node> {
      const identity = await Identity.generate();
      const book = await AddressBook.open(memoryAddressBookStore());
      const endpoint = await loopbackEndpoint({
        identity,
        addressBook: book,
        bootstrap,
        ...(transport !== undefined ? { transport } : {}),
      });
      const n = { identity, endpoint, book };
      started.push(n);
      return n;
    },
    onStop(stop: () => Promise<void>): void {
      stoppers.push(stop);
    },
  };
}

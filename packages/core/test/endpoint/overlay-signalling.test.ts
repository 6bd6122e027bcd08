// Signalling through the overlay, with real libp2p and WebRTC (node-datachannel) in Node: three
// browser-preset nodes meet through a bootstrap; each reserves a slot on its WebRTC neighbours;
// with the bootstrap gone, two nodes that share a neighbour set up a direct connection through it.
import { AddressBook, memoryAddressBookStore } from "@p2panda-web/address-book";
import { Identity, NodeId, transportKind } from "@p2panda-web/core";
import {
  type BrowserEndpointOptions,
  createEndpoint,
  type Endpoint,
  type EndpointEvent,
  overlaySignalling,
} from "@p2panda-web/core/endpoint";
import { createNodeEndpoint } from "@p2panda-web/core/node";
import { afterEach, describe, expect, it } from "vitest";
import { nextEvent } from "./helpers.ts";

interface Tab {
  readonly endpoint: Endpoint;
  readonly book: AddressBook;
}

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function bootstrap(): Promise<{ endpoint: Endpoint; ws: string }> {
  const book = await AddressBook.open(memoryAddressBookStore());
  const endpoint = await createNodeEndpoint({
    identity: await Identity.generate(),
    addressBook: book,
    allowPrivateAddresses: true,
    webrtcDirectPort: false,
    tcpPort: false,
  });
  cleanup.push(async () => {
    await endpoint.stop();
    await book.close();
  });
  return { endpoint, ws: endpoint.addresses().find((a) => transportKind(a) === "websockets")! };
}

async function tab(ws: string, options: Partial<BrowserEndpointOptions> = {}): Promise<Tab> {
  const book = await AddressBook.open(memoryAddressBookStore());
  const endpoint = await createEndpoint({
    identity: await Identity.generate(),
    addressBook: book,
    bootstrap: [ws],
    allowPrivateAddresses: true,
    warn: () => {},
    overlaySignalling: overlaySignalling(),
    ...options,
  });
  cleanup.push(async () => {
    await endpoint.stop();
    await book.close();
  });
  await until(endpoint, (addresses) => addresses.some((a) => transportKind(a) === "webrtc"));
  return { endpoint, book };
}

/** Resolves once the node's signed transport info satisfies `test`. */
async function until(endpoint: Endpoint, test: (addresses: readonly string[]) => boolean) {
  if (test(endpoint.transportInfo()?.addresses ?? [])) return;
  await nextEvent(endpoint.events$, "endpoint:addresses-changed", (e) => test(e.addresses), 15_000);
}

async function tell(who: Tab, whom: Tab): Promise<void> {
  await who.book.insertTransportInfo(whom.endpoint.nodeId, whom.endpoint.transportInfo()!);
}

/** Dials `to` (once more on failure: WebRTC in Node stalls now and then on a loaded machine). */
async function timedDial(from: Tab, to: Tab): Promise<number> {
  const started = performance.now();
  await from.endpoint.dial(to.endpoint.nodeId).catch(() => from.endpoint.dial(to.endpoint.nodeId));
  return performance.now() - started;
}

const peerOf = (endpoint: Endpoint): string => NodeId.toPeerId(endpoint.nodeId).toString();
const through = (relay: Endpoint) => `/p2p/${peerOf(relay)}/p2p-circuit`;

describe("signalling through the overlay", () => {
  it("two nodes that share a neighbour connect directly through it once the bootstrap is gone", {
    timeout: 90_000,
  }, async () => {
    const boot = await bootstrap();
    const [a, b, c] = [await tab(boot.ws), await tab(boot.ws), await tab(boot.ws)];
    await tell(a, c);
    await tell(b, c);
    const viaBootstrapMs = await timedDial(a, c);
    await timedDial(b, c);
    // Each reserves a slot on its WebRTC neighbour and advertises the circuit through it.
    await until(b.endpoint, (addresses) =>
      addresses.some((x) => x.startsWith(through(c.endpoint))),
    );
    await until(a.endpoint, (addresses) =>
      addresses.some((x) => x.startsWith(through(c.endpoint))),
    );
    expect(
      c.endpoint.transportInfo()?.addresses.some((x) => x.startsWith(through(a.endpoint))),
    ).toBe(true);

    await boot.endpoint.stop();
    // B's circuit through the bootstrap is gone; the one through C is what it advertises now.
    await until(b.endpoint, (addresses) =>
      addresses.every((x) => x.startsWith(through(c.endpoint))),
    );
    expect(b.endpoint.addresses()).toEqual([
      `${through(c.endpoint)}/webrtc/p2p/${peerOf(b.endpoint)}`,
    ]);
    await tell(a, b);
    const signalling: EndpointEvent[] = [];
    const sub = a.endpoint.events$.subscribe((e) => {
      if (e.type === "endpoint:connection-opened" && e.remote === b.endpoint.nodeId)
        signalling.push(e);
    });
    const viaOverlayMs = await timedDial(a, b);
    sub.unsubscribe();

    expect(a.endpoint.connections().some((x) => x.remote === b.endpoint.nodeId && !x.limited)).toBe(
      true,
    );
    const opened = signalling.filter((e) => e.type === "endpoint:connection-opened");
    // The signalling circuit ran through C, then the direct WebRTC connection came up.
    expect(opened.some((e) => e.limited && e.remoteAddress.startsWith(through(c.endpoint)))).toBe(
      true,
    );
    expect(opened.some((e) => !e.limited && e.transport === "webrtc")).toBe(true);
    console.log(
      `WebRTC set-up signalled through the bootstrap: ${viaBootstrapMs.toFixed(0)} ms; through a neighbour (bootstrap stopped): ${viaOverlayMs.toFixed(0)} ms`,
    );
  });

  it("without overlaySignalling a node neither relays nor reserves on its neighbours", {
    timeout: 60_000,
  }, async () => {
    const boot = await bootstrap();
    const a = await tab(boot.ws, { overlaySignalling: undefined });
    const c = await tab(boot.ws);
    await tell(a, c);
    await timedDial(a, c);
    // C reserves on nothing (A does not relay); A does not reserve on C.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    for (const [self, other] of [
      [a, c],
      [c, a],
    ] as const) {
      expect(
        self.endpoint.transportInfo()?.addresses.some((x) => x.startsWith(through(other.endpoint))),
      ).toBe(false);
    }
  });
});

// The relayed data fallback (`relayedFallback`), with real libp2p in Node: two browser-preset
// nodes whose WebRTC may only use a TURN server that is not there (so no direct connection can
// be made) run their sessions over a circuit through a bootstrap that allows data, within its
// per-circuit limits; without the bootstrap's permission or without the option they get none.
import { AddressBook, memoryAddressBookStore } from "@p2panda-web/address-book";
import { Identity, NodeId, transportKind } from "@p2panda-web/core";
import {
  type BrowserEndpointOptions,
  createEndpoint,
  DialFailedError,
  type Endpoint,
  RelayedConnectionEndedError,
  RelayedNodes,
  relayedDataAddresses,
  relayedEndReason,
} from "@p2panda-web/core/endpoint";
import {
  createNodeEndpoint,
  DEFAULT_RELAY_SERVER_OPTIONS,
  type RelayServerOptions,
  relayServerSettings,
} from "@p2panda-web/core/node";
import { afterEach, describe, expect, it } from "vitest";
import { echo, nextEvent } from "./helpers.ts";

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function bootstrap(relay: RelayServerOptions): Promise<{ endpoint: Endpoint; ws: string }> {
  const book = await AddressBook.open(memoryAddressBookStore());
  const endpoint = await createNodeEndpoint({
    identity: await Identity.generate(),
    addressBook: book,
    allowPrivateAddresses: true,
    webrtcDirectPort: false,
    tcpPort: false,
    relay,
  });
  cleanup.push(async () => {
    await endpoint.stop();
    await book.close();
  });
  return { endpoint, ws: endpoint.addresses().find((a) => transportKind(a) === "websockets")! };
}

interface Tab {
  readonly endpoint: Endpoint;
  readonly book: AddressBook;
}

/**
 * A browser-preset node whose WebRTC may only go through a TURN server where nothing listens:
 * every direct set-up fails (as `relayOnly` tabs without their TURN server in e2e).
 */
async function tab(ws: string, options: Partial<BrowserEndpointOptions> = {}): Promise<Tab> {
  const book = await AddressBook.open(memoryAddressBookStore());
  const endpoint = await createEndpoint({
    identity: await Identity.generate(),
    addressBook: book,
    bootstrap: [ws],
    allowPrivateAddresses: true,
    warn: () => {},
    relayOnly: true,
    iceServers: [{ urls: "turn:127.0.0.1:9?transport=udp", username: "u", credential: "c" }],
    addressDialTimeoutMs: 1_500,
    ...options,
  });
  cleanup.push(async () => {
    await endpoint.stop();
    await book.close();
  });
  if (!(endpoint.transportInfo()?.addresses ?? []).some((a) => transportKind(a) === "webrtc")) {
    await nextEvent(
      endpoint.events$,
      "endpoint:addresses-changed",
      (e) => e.addresses.some((a) => transportKind(a) === "webrtc"),
      15_000,
    );
  }
  return { endpoint, book };
}

function smallerFirst(x: Tab, y: Tab): [Tab, Tab] {
  return x.endpoint.nodeId < y.endpoint.nodeId ? [x, y] : [y, x];
}

async function tell(who: Tab, whom: Tab): Promise<void> {
  await who.book.insertTransportInfo(whom.endpoint.nodeId, whom.endpoint.transportInfo()!);
}

const DATA_LIMIT = 256 * 1024;

describe("relayed data fallback: which circuits, which nodes, why it ended", () => {
  it("a node's WebRTC circuits give plain circuits for data, only through relays that allow it", async () => {
    const [relay, other, node] = await Promise.all([
      Identity.generate(),
      Identity.generate(),
      Identity.generate(),
    ]);
    const peer = (i: Identity) => NodeId.toPeerId(i.nodeId).toString();
    const via = (r: Identity) => `/ip4/10.0.0.1/tcp/1/ws/p2p/${peer(r)}/p2p-circuit`;
    const addresses = [
      `${via(relay)}/webrtc/p2p/${peer(node)}`,
      `${via(other)}/webrtc/p2p/${peer(node)}`,
      `/ip4/10.0.0.2/udp/1/webrtc-direct/p2p/${peer(node)}`,
    ];
    const found = relayedDataAddresses(addresses, (r) => r === relay.nodeId);
    expect(found.map((f) => [f.relay, f.address.toString()])).toEqual([
      [relay.nodeId, `${via(relay)}/p2p/${peer(node)}`],
    ]);
    expect(relayedDataAddresses(addresses, () => false)).toEqual([]);
  });

  it("a node is reached through a relay from a failed direct dial until retryDirectAfterMs", async () => {
    const node = (await Identity.generate()).nodeId;
    const nodes = new RelayedNodes({ retryDirectAfterMs: 1_000, maxTrackedNodes: 2 });
    expect(nodes.relayed(node, 0)).toBe(false);
    nodes.directFailed(node, 100);
    expect(nodes.relayed(node, 1_099)).toBe(true);
    expect(nodes.relayed(node, 1_100)).toBe(false);
    nodes.directFailed(node, 2_000);
    nodes.directOpened(node);
    expect(nodes.relayed(node, 2_001)).toBe(false);
    const others = await Promise.all([
      Identity.generate(),
      Identity.generate(),
      Identity.generate(),
    ]);
    for (const o of others) nodes.directFailed(o.nodeId, 3_000);
    expect(nodes.size).toBe(2);
    expect(nodes.relayed(others[0]!.nodeId, 3_001)).toBe(false);
  });

  it("the relay's bounds: data relaying off by default, every bound a positive integer", () => {
    expect(relayServerSettings()).toEqual(DEFAULT_RELAY_SERVER_OPTIONS);
    expect(relayServerSettings().relayData).toBe(false);
    const bad: Array<[RelayServerOptions, RegExp]> = [
      [{ connectionDataLimitBytes: 0 }, /connectionDataLimitBytes must be a positive integer/],
      [{ connectionDataLimitBytes: 1.5 }, /connectionDataLimitBytes must be a positive integer/],
      [{ connectionDurationLimitMs: -1 }, /connectionDurationLimitMs must be a positive integer/],
      [{ connectionDurationLimitMs: 2 ** 31 }, /at most 2147483647/],
      [{ maxReservations: Number.NaN }, /maxReservations must be a positive integer/],
    ];
    for (const [options, message] of bad)
      expect(() => relayServerSettings(options)).toThrow(message);
  });

  it("a circuit that ended with (almost) nothing left of its data limit ended at that limit", () => {
    expect(relayedEndReason(0n)).toBe("data-limit");
    expect(relayedEndReason(1_000n)).toBe("data-limit");
    expect(relayedEndReason(1_000_000n)).toBe("ended");
    expect(relayedEndReason(undefined)).toBe("ended");
  });
});

describe("relayed data fallback over a bootstrap's circuit relay", () => {
  it("without a direct path, sessions run over the relayed connection within the relay's data limit, then over a new one", {
    timeout: 90_000,
  }, async () => {
    const boot = await bootstrap({ relayData: true, connectionDataLimitBytes: DATA_LIMIT });
    // `a` has the smaller id, so it makes the failing WebRTC attempt itself: in Node the
    // answering side of a failed attempt can list a connection that never connected (Node's
    // peer connections are not watched, see webrtc-phantom.ts), and this test reads `a`'s list.
    const [a, b] = smallerFirst(
      await tab(boot.ws, { relayedFallback: true }),
      await tab(boot.ws, { relayedFallback: true }),
    );
    b.endpoint.accept("echo", echo, { receiveTimeoutMs: 0 });
    await tell(a, b);
    const channel = await a.endpoint.connect(b.endpoint.nodeId, "echo", { receiveTimeoutMs: 0 });
    await channel.send("over the relay");
    expect(await channel.receive()).toBe("over the relay");
    const toB = a.endpoint.connections().filter((c) => c.remote === b.endpoint.nodeId);
    expect(toB.some((c) => c.limited && c.transport === "relayed")).toBe(true);
    expect(toB.some((c) => !c.limited)).toBe(false);
    expect(a.endpoint.metrics.relayedFallbacks).toBe(1);
    expect(b.endpoint.metrics.relayedFallbacks).toBe(1);

    // 32 KiB at a time, echoed: the relay cuts the circuit at 256 KiB both ways together.
    const chunk = new Uint8Array(32 * 1024);
    const ended = await (async () => {
      for (let i = 0; i < 64; i++) {
        try {
          await channel.send(chunk);
          await channel.receive();
        } catch (error) {
          return error;
        }
      }
      return undefined;
    })();
    expect(ended).toBeInstanceOf(RelayedConnectionEndedError);
    expect((ended as RelayedConnectionEndedError).reason).toBe("data-limit");
    expect((ended as RelayedConnectionEndedError).code).toBe("RELAYED_CONNECTION_ENDED");
    expect(a.endpoint.metrics.relayedSessionsEnded).toBe(1);

    // The next session takes a new circuit, at once (no new WebRTC attempt for a while).
    const dialsFailed = a.endpoint.metrics.dialsFailed;
    const again = await a.endpoint.connect(b.endpoint.nodeId, "echo");
    await again.send("again");
    expect(await again.receive()).toBe("again");
    expect(a.endpoint.metrics.dialsFailed).toBe(dialsFailed);
    expect(a.endpoint.metrics.relayedFallbacks).toBe(2);
    await again.close();
  });

  it("through a bootstrap that relays signalling only, nodes without a direct path get no session", {
    timeout: 60_000,
  }, async () => {
    const boot = await bootstrap({});
    const [a, b] = [
      await tab(boot.ws, { relayedFallback: true }),
      await tab(boot.ws, { relayedFallback: true }),
    ];
    b.endpoint.accept("echo", echo);
    await tell(a, b);
    await expect(a.endpoint.connect(b.endpoint.nodeId, "echo")).rejects.toBeInstanceOf(
      DialFailedError,
    );
    expect(a.endpoint.metrics.relayedFallbacks).toBe(0);
  });

  it("without the option (the default), relayed connections carry no session", {
    timeout: 60_000,
  }, async () => {
    const boot = await bootstrap({ relayData: true, connectionDataLimitBytes: DATA_LIMIT });
    const [a, b] = [await tab(boot.ws), await tab(boot.ws)];
    b.endpoint.accept("echo", echo);
    await tell(a, b);
    await expect(a.endpoint.connect(b.endpoint.nodeId, "echo")).rejects.toBeInstanceOf(
      DialFailedError,
    );
    expect(a.endpoint.metrics.relayedFallbacks).toBe(0);
  });

  it("refuses malformed fallback settings", async () => {
    const book = await AddressBook.open(memoryAddressBookStore());
    cleanup.push(() => book.close());
    await expect(
      createEndpoint({
        identity: await Identity.generate(),
        addressBook: book,
        relayedFallback: { retryDirectAfterMs: -1 },
      }),
    ).rejects.toThrow(/retryDirectAfterMs/);
  });
});

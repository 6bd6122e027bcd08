import { lpStream } from "@libp2p/utils";
import { multiaddr } from "@multiformats/multiaddr";
import { AddressBook, memoryAddressBookStore } from "@p2panda-web/address-book";
import {
  HybridTimestamp,
  Identity,
  protocolId,
  signTransportInfo,
  transportKind,
} from "@p2panda-web/core";
import {
  CONNECT_BACK_PROTOCOL,
  createEndpoint,
  DialFailedError,
  type Endpoint,
  readConnectBackAnswer,
  streamDuplex,
} from "@p2panda-web/core/endpoint";
import { createNodeEndpoint } from "@p2panda-web/core/node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { deferred, echo, nextEvent } from "./helpers.ts";

interface Peer {
  readonly addressBook: AddressBook;
  readonly endpoint: Endpoint;
  readonly identity?: Identity;
}

async function browserPeer(
  bootstrap: string[],
  options: { addressDialTimeoutMs?: number } = {},
): Promise<Peer> {
  const addressBook = await AddressBook.open(memoryAddressBookStore());
  const identity = await Identity.generate();
  const endpoint = await createEndpoint({
    identity,
    addressBook,
    bootstrap,
    allowPrivateAddresses: true,
    ...options,
  });
  return { addressBook, endpoint, identity };
}

/**
 * Two more browser-preset peers, each holding its reservation on the relay, each knowing the
 * other's relayed address (as discovery would tell them).
 */
async function relayedPair(
  wsAddress: string,
  options: { addressDialTimeoutMs?: number } = {},
): Promise<[Peer, Peer]> {
  const pair: [Peer, Peer] = [
    await browserPeer([wsAddress], options),
    await browserPeer([wsAddress], options),
  ];
  // Each must have signed a transport info with its relayed address: a reservation alone is not
  // enough (the info is signed after it, and one handed out in between has no address at all).
  const relayedInfo = (peer: Peer): boolean =>
    (peer.endpoint.transportInfo()?.addresses ?? []).some((a) => transportKind(a) === "webrtc");
  for (const peer of pair) {
    if (!relayedInfo(peer)) {
      // A reservation takes ~0.1 s here, but over 5 s when the two cores are busy.
      await nextEvent(
        peer.endpoint.events$,
        "endpoint:addresses-changed",
        (e) => e.addresses.some((a) => transportKind(a) === "webrtc"),
        20_000,
      );
    }
  }
  const [a, b] = pair;
  await a.addressBook.insertTransportInfo(b.endpoint.nodeId, b.endpoint.transportInfo()!);
  await b.addressBook.insertTransportInfo(a.endpoint.nodeId, a.endpoint.transportInfo()!);
  return pair;
}

/** libp2p's WebRTC signalling protocol, and its messages' type for an SDP answer. */
const WEBRTC_SIGNALLING = "/webrtc-signaling/0.0.1";
const SDP_ANSWER = 1;

/** One signalling message (protobuf: field 1 the type, field 2 the data). */
function signallingMessage(type: number, data: string): Uint8Array {
  const text = new TextEncoder().encode(data);
  const length: number[] = [];
  for (let n = text.length; ; n >>>= 7) {
    if (n < 0x80) {
      length.push(n);
      break;
    }
    length.push((n & 0x7f) | 0x80);
  }
  return new Uint8Array([0x08, type, 0x12, ...length, ...text]);
}

/** The SDP of a signalling message: its text from the first "v=0" line. */
function sdpOf(message: { subarray(): Uint8Array }): string {
  const text = new TextDecoder().decode(message.subarray());
  return text.slice(text.indexOf("v=0"));
}

/** An answer to `offer` with made-up ICE credentials and fingerprint and no candidates. */
function silentAnswer(offer: string): string {
  const mid = /^a=mid:(\S+)/m.exec(offer)?.[1] ?? "0";
  const fingerprint = Array.from({ length: 32 }, () => "AB").join(":");
  return [
    "v=0",
    "o=- 1 1 IN IP4 127.0.0.1",
    "s=-",
    "t=0 0",
    `a=group:BUNDLE ${mid}`,
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
    "c=IN IP4 0.0.0.0",
    `a=mid:${mid}`,
    "a=ice-ufrag:silent",
    "a=ice-pwd:silentsilentsilentsilent",
    `a=fingerprint:sha-256 ${fingerprint}`,
    "a=setup:active",
    "a=sctp-port:5000",
    "",
  ].join("\r\n");
}

/** The pair ordered by node id, smaller first. */
function smallerFirst([a, b]: [Peer, Peer]): [Peer, Peer] {
  return a.endpoint.nodeId < b.endpoint.nodeId ? [a, b] : [b, a];
}

/** Directions of `from`'s open direct (not relayed) connections to `to`. */
function directLinks(from: Peer, to: Peer): string[] {
  return from.endpoint
    .connections()
    .filter((c) => c.remote === to.endpoint.nodeId && !c.limited)
    .map((c) => c.direction);
}

// One bootstrap/relay node (Node preset) and two browser-preset nodes, as in a browser
// deployment: the browser nodes dial the bootstrap over WebSockets. The bootstrap here has no
// WebRTC-direct listener: node-datachannel's UDP mux listener, in the same process as the two
// nodes' own WebRTC connections, now and then aborted the whole test process (a native crash in
// its STUN callback). Its addresses are checked below, on a node without WebRTC peers.
describe("two endpoints and a bootstrap over WebSockets", () => {
  let boot: Peer;
  let alice: Peer;
  let bob: Peer;
  let wsAddress: string;

  beforeAll(async () => {
    const addressBook = await AddressBook.open(memoryAddressBookStore());
    boot = {
      addressBook,
      endpoint: await createNodeEndpoint({
        identity: await Identity.generate(),
        addressBook,
        allowPrivateAddresses: true,
        webrtcDirectPort: false,
      }),
    };
    wsAddress = boot.endpoint.addresses().find((a) => transportKind(a) === "websockets")!;
    alice = await browserPeer([wsAddress]);
    bob = await browserPeer([wsAddress]);
  });

  afterAll(async () => {
    for (const peer of [alice, bob, boot]) {
      await peer?.endpoint.stop();
      await peer?.addressBook.close();
    }
  });

  it("the bootstrap advertises its TCP and WebSockets addresses", () => {
    const kinds = boot.endpoint.addresses().map(transportKind).sort();
    expect(kinds).toEqual(["tcp", "websockets"]);
  });

  it("stores the bootstrap as a trusted bootstrap entry and connects to it", async () => {
    const entry = alice.addressBook.nodeInfo(boot.endpoint.nodeId);
    expect(entry?.bootstrap).toBe(true);
    expect(entry?.transports).toEqual({ kind: "trusted", addresses: [wsAddress] });
    await expect
      .poll(() => alice.endpoint.connections().map((c) => [c.remote, c.transport]))
      .toContainEqual([boot.endpoint.nodeId, "websockets"]);
    await expect
      .poll(() => alice.addressBook.nodeInfo(boot.endpoint.nodeId)?.metrics.successes)
      .toBe(1);
  });

  it("dials the bootstrap at start without waiting for the address book's disk writes", async () => {
    // Every write to disk is held until the bootstrap saw the connection: the dial must not
    // wait for the stored bootstrap entry nor for our own first transport info.
    const store = memoryAddressBookStore();
    const held = deferred();
    const putNode = store.putNode.bind(store);
    store.putNode = async (info) => {
      await held.promise;
      return putNode(info);
    };
    const addressBook = await AddressBook.open(store);
    const identity = await Identity.generate();
    const starting = createEndpoint({
      identity,
      addressBook,
      bootstrap: [wsAddress],
      allowPrivateAddresses: true,
    });
    await expect
      .poll(() => boot.endpoint.connections().map((c) => c.remote), { timeout: 10_000 })
      .toContain(identity.nodeId);
    held.resolve();
    const endpoint = await starting;
    await endpoint.stop();
    await addressBook.close();
  });

  it("exchanges messages with the bootstrap over WebSockets", async () => {
    boot.endpoint.accept("test/echo/v1", echo);
    const channel = await alice.endpoint.connect(boot.endpoint.nodeId, "test/echo/v1");
    await channel.send({ over: "websockets" });
    expect(await channel.receive()).toEqual({ over: "websockets" });
    await channel.close();
  });

  it("gains a relay reservation and advertises a /p2p-circuit/webrtc address, newer info wins", async () => {
    const relayed = (addresses: readonly string[]) =>
      addresses.some((a) => transportKind(a) === "webrtc");
    if (!relayed(bob.endpoint.transportInfo()?.addresses ?? [])) {
      await nextEvent(bob.endpoint.events$, "endpoint:addresses-changed", (e) =>
        relayed(e.addresses),
      );
    }
    expect(bob.endpoint.relays()).toEqual([boot.endpoint.nodeId]);
    const after = bob.endpoint.transportInfo()!;
    expect(after.addresses.map(transportKind)).toContain("webrtc");
    // An info Bob signed earlier, with no relayed address yet.
    const before = await signTransportInfo(
      bob.identity!,
      new HybridTimestamp(after.timestamp.physical - 1, 0),
      [],
    );
    expect(after.timestamp.isAfter(before.timestamp)).toBe(true);

    // Alice learns of Bob's infos (as discovery would carry them), in either order.
    expect(await alice.addressBook.insertTransportInfo(bob.endpoint.nodeId, after)).toBe(true);
    expect(await alice.addressBook.insertTransportInfo(bob.endpoint.nodeId, before)).toBe(false);
    expect(alice.addressBook.nodeInfo(bob.endpoint.nodeId)?.transports).toEqual(after);
  });

  it("publishes its relayed address when the reservation is made, not after libp2p's debounced address update", {
    timeout: 30_000,
  }, async () => {
    const carol = await browserPeer([wsAddress]);
    try {
      const order: string[] = [];
      const relayed = (addresses: readonly string[]) =>
        addresses.some((a) => transportKind(a) === "webrtc");
      const ours = nextEvent(carol.endpoint.events$, "endpoint:addresses-changed", (e) =>
        relayed(e.addresses),
      ).then(() => order.push("endpoint:addresses-changed"));
      const libp2p = new Promise<void>((resolve) => {
        const onUpdate = (
          event: CustomEvent<{ peer: { addresses: { multiaddr: unknown }[] } }>,
        ) => {
          const addresses = event.detail.peer.addresses.map((a) => String(a.multiaddr));
          if (!addresses.some((a) => a.includes("/p2p-circuit"))) return;
          carol.endpoint.libp2p.removeEventListener("self:peer:update", onUpdate as never);
          order.push("self:peer:update");
          resolve();
        };
        carol.endpoint.libp2p.addEventListener("self:peer:update", onUpdate as never);
      });
      await Promise.all([ours, libp2p]);
      // libp2p's own update comes a debounced second after the listener changed.
      expect(order).toEqual(["endpoint:addresses-changed", "self:peer:update"]);
      expect(relayed(carol.endpoint.transportInfo()?.addresses ?? [])).toBe(true);
    } finally {
      await carol.endpoint.stop();
      await carol.addressBook.close();
    }
  });

  it("connects to a relayed node over a direct WebRTC connection", {
    timeout: 45_000,
  }, async () => {
    bob.endpoint.accept("test/echo/v1", echo);
    // As long as the two connects below may take (10 s dial timeout each).
    const opened = nextEvent(
      bob.endpoint.events$,
      "endpoint:connection-opened",
      (e) => e.remote === alice.endpoint.nodeId && !e.limited,
      25_000,
    );
    // Awaited below; this keeps it from going unhandled when the connects fail first (CI once
    // reported its timeout as an unhandled rejection beside the failed connect).
    opened.catch(() => {});
    // WebRTC in Node (node-datachannel) usually connects in 50 ms–1 s here, but ICE can
    // exceed libp2p's 6 s per-address dial timeout when the 2 cores are busy: allow one retry.
    let firstError: unknown;
    const channel = await alice.endpoint
      .connect(bob.endpoint.nodeId, "test/echo/v1")
      .catch((error: unknown) => {
        firstError = error;
        return alice.endpoint.connect(bob.endpoint.nodeId, "test/echo/v1");
      })
      .catch((error: unknown) => {
        // Failed once in CI (the retry at its 10 s dial timeout): say how the first one ended.
        throw new Error(
          `no connection in two connects; the first failed with: ${String(firstError)}`,
          {
            cause: error,
          },
        );
      });
    await channel.send("through webrtc");
    expect(await channel.receive()).toBe("through webrtc");
    // The one with the smaller id sets the connection up (Alice asks Bob to, if hers is larger).
    expect(await opened).toMatchObject({
      transport: "webrtc",
      direction: alice.endpoint.nodeId < bob.endpoint.nodeId ? "inbound" : "outbound",
    });
    // The relayed connection only carried the signalling: once it is over it is closed, and the
    // relay holds no circuit between the two any more.
    const relayedBetween = () =>
      alice.endpoint.connections().filter((c) => c.remote === bob.endpoint.nodeId && c.limited)
        .length +
      bob.endpoint.connections().filter((c) => c.remote === alice.endpoint.nodeId && c.limited)
        .length;
    // Closed 5 s after the direct connection opened, at the next idle sweep (every 2 s).
    await expect.poll(relayedBetween, { timeout: 20_000 }).toBe(0);
    expect(
      alice.endpoint.metrics.relayedConnectionsClosed +
        bob.endpoint.metrics.relayedConnectionsClosed,
    ).toBeGreaterThanOrEqual(1);
    expect(alice.endpoint.connections().some((c) => c.remote === bob.endpoint.nodeId)).toBe(true);
    await channel.close();
  });

  it("a node that is dialling us already is not dialled back: we take its connection", {
    timeout: 30_000,
  }, async () => {
    // Carol dials: she has the smaller id (a larger one asks to be dialled instead).
    const [carol, dave] = smallerFirst(await relayedPair(wsAddress));
    try {
      carol.endpoint.accept("test/echo/v1", echo);
      dave.endpoint.accept("test/echo/v1", echo);
      // Dave opens a stream to Carol in the moment her relayed signalling connection comes up,
      // before her WebRTC one can (polling for that moment missed it on a busy machine) …
      const carolsRelayedConnection = nextEvent(
        dave.endpoint.events$,
        "endpoint:connection-opened",
        (e) => e.remote === carol.endpoint.nodeId && e.limited,
        15_000,
      );
      const opening = carolsRelayedConnection.then(() =>
        dave.endpoint.connect(carol.endpoint.nodeId, "test/echo/v1"),
      );
      // Node's WebRTC now and then loses a peer connection right after it connected (the
      // fallback below); then Carol's dial fails, which is not what this test is about.
      let carolsDialError: unknown;
      const carolDials = carol.endpoint.dial(dave.endpoint.nodeId).catch((error: unknown) => {
        carolsDialError = error;
      });
      // … and the stream waits for her connection instead of crossing it.
      const channel = await opening.catch(async (error: unknown) => {
        // Failed once in CI in about fifty runs (both stream opens met a destroyed peer
        // connection): say what each side saw, with the outcome of her dial.
        await Promise.race([carolDials, new Promise((resolve) => setTimeout(resolve, 5_000))]);
        const seen = (peer: typeof carol) => {
          const m = peer.endpoint.metrics;
          return `phantoms ${m.webRtcPhantomsClosed}, stream opens retried ${m.streamOpensRetried}, inbound dials awaited ${m.inboundDialsAwaited}, crossing dials given way ${m.crossingDialsGivenWay}, connect-backs asked ${m.connectBacksAsked} served ${m.connectBacksServed}, dials failed ${m.dialsFailed}, stalled ${m.webRtcSetUpsStalled}`;
        };
        throw new Error(
          `no stream to Carol (her dial: ${String(carolsDialError)}; Carol: ${seen(carol)}; Dave: ${seen(dave)})`,
          { cause: error },
        );
      });
      await carolDials;
      await channel.send("one connection");
      expect(await channel.receive()).toBe("one connection");
      expect(dave.endpoint.metrics.inboundDialsAwaited).toBeGreaterThanOrEqual(1);
      if (dave.endpoint.metrics.streamOpensRetried === 0) {
        // Carol's connection carried the stream: Dave never dialled her himself.
        const direct = dave.endpoint
          .connections()
          .filter((c) => c.remote === carol.endpoint.nodeId && !c.limited);
        expect(direct.map((c) => [c.transport, c.direction])).toEqual([["webrtc", "inbound"]]);
      }
    } finally {
      for (const peer of [carol, dave]) {
        await peer.endpoint.stop();
        await peer.addressBook.close();
      }
    }
  });

  it("a relayed connection left over from an earlier set-up is not taken for a dial under way", {
    timeout: 30_000,
  }, async () => {
    const [carol, dave] = await relayedPair(wsAddress);
    try {
      // Dave holds a relayed connection to Carol that carries no WebRTC signalling (a set-up
      // given up or done): when Carol dials him she must not wait for a dial of his.
      const circuit = carol.endpoint
        .transportInfo()!
        .addresses.find((a) => transportKind(a) === "webrtc")!
        .replace("/webrtc", "");
      const relayed = await dave.endpoint.libp2p.dial(multiaddr(circuit));
      expect(relayed.limits).toBeDefined();
      await expect
        .poll(() =>
          carol.endpoint.connections().some((c) => c.remote === dave.endpoint.nodeId && c.limited),
        )
        .toBe(true);
      // Past the moment a fresh relayed connection still counts as a set-up about to start.
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      await carol.endpoint.dial(dave.endpoint.nodeId);
      expect(carol.endpoint.metrics.inboundDialsAwaited).toBe(0);
      expect(
        carol.endpoint.connections().some((c) => c.remote === dave.endpoint.nodeId && !c.limited),
      ).toBe(true);
    } finally {
      for (const peer of [carol, dave]) {
        await peer.endpoint.stop();
        await peer.addressBook.close();
      }
    }
  });

  it("two nodes that dial each other in the same moment set up one WebRTC connection: the smaller id's", {
    timeout: 30_000,
  }, async () => {
    const [smaller, larger] = smallerFirst(await relayedPair(wsAddress));
    try {
      await Promise.all([
        smaller.endpoint.dial(larger.endpoint.nodeId),
        larger.endpoint.dial(smaller.endpoint.nodeId),
      ]);
      expect(smaller.endpoint.metrics.crossingDialsGivenWay).toBe(0);
      expect(smaller.endpoint.metrics.connectBacksAsked).toBe(0);
      // The larger asked to be dialled or saw the smaller's dial under way; it never set up one.
      expect(
        larger.endpoint.metrics.connectBacksAsked + larger.endpoint.metrics.inboundDialsAwaited,
      ).toBeGreaterThanOrEqual(1);
      expect(larger.endpoint.metrics.connectBacksFallenBack).toBe(0);
      // Only the smaller one set a connection up. (A first attempt given up by the stall guard
      // can leave a second inbound one in Node until the pings close it: Node's peer
      // connections are not watched, see webrtc-phantom.ts.)
      expect(directLinks(larger, smaller)).toContain("inbound");
      expect(directLinks(larger, smaller)).not.toContain("outbound");
      larger.endpoint.accept("test/echo/v1", echo);
      const channel = await smaller.endpoint.connect(larger.endpoint.nodeId, "test/echo/v1");
      await channel.send("crossed");
      expect(await channel.receive()).toBe("crossed");
    } finally {
      for (const peer of [smaller, larger]) {
        await peer.endpoint.stop();
        await peer.addressBook.close();
      }
    }
  });

  it("a node with the larger id asks the other to dial it, which does over the same relay", {
    timeout: 30_000,
  }, async () => {
    const [smaller, larger] = smallerFirst(await relayedPair(wsAddress));
    try {
      // The smaller one has never heard of the larger: it dials over the relayed connection it
      // was asked on.
      await smaller.addressBook.removeNode(larger.endpoint.nodeId);
      smaller.endpoint.accept("test/echo/v1", echo);
      const channel = await larger.endpoint.connect(smaller.endpoint.nodeId, "test/echo/v1");
      await channel.send("asked");
      expect(await channel.receive()).toBe("asked");
      expect(larger.endpoint.metrics.connectBacksAsked).toBe(1);
      expect(larger.endpoint.metrics.connectBacksFallenBack).toBe(0);
      expect(smaller.endpoint.metrics.connectBacksServed).toBe(1);
      // One WebRTC connection, set up by the smaller id.
      expect(directLinks(larger, smaller)).toEqual(["inbound"]);
      expect(directLinks(smaller, larger)).toEqual(["outbound"]);
    } finally {
      for (const peer of [smaller, larger]) {
        await peer.endpoint.stop();
        await peer.addressBook.close();
      }
    }
  });

  it("a request to be dialled from a node with the smaller id is refused: it dials itself", {
    timeout: 30_000,
  }, async () => {
    const [smaller, larger] = smallerFirst(await relayedPair(wsAddress));
    try {
      // The smaller one asks against the rule (an old or misbehaving node): the larger refuses,
      // dials nothing, and the stream ends with the refusal.
      const circuit = larger.endpoint
        .transportInfo()!
        .addresses.find((a) => transportKind(a) === "webrtc")!
        .replace("/webrtc", "");
      const relayed = await smaller.endpoint.libp2p.dial(multiaddr(circuit));
      const stream = await relayed.newStream(
        protocolId(CONNECT_BACK_PROTOCOL, larger.endpoint.networkId),
        { runOnLimitedConnection: true },
      );
      const answer = await readConnectBackAnswer(streamDuplex(stream), AbortSignal.timeout(10_000));
      expect(answer).toBe("refused");
      expect(larger.endpoint.metrics.connectBacksServed).toBe(0);
      expect(directLinks(larger, smaller)).toEqual([]);
    } finally {
      for (const peer of [smaller, larger]) {
        await peer.endpoint.stop();
        await peer.addressBook.close();
      }
    }
  });

  it("a WebRTC set-up whose answerer falls silent after its answer is given up and dialled again, twice, each sooner than the address timeout", {
    timeout: 30_000,
  }, async () => {
    const [smaller, larger] = smallerFirst(
      await relayedPair(wsAddress, { addressDialTimeoutMs: 3_000 }),
    );
    try {
      // The larger one answers every offer with a well-formed SDP answer and then sends nothing
      // more: no ICE candidate, no end of the stream. The dialler's peer connection can never
      // connect (as when it failed: a failed one makes no progress either).
      await larger.endpoint.libp2p.unhandle(WEBRTC_SIGNALLING);
      await larger.endpoint.libp2p.handle(
        WEBRTC_SIGNALLING,
        async (stream) => {
          const messages = lpStream(stream);
          const offer = sdpOf(await messages.read());
          await messages.write(signallingMessage(SDP_ANSWER, silentAnswer(offer)));
        },
        { runOnLimitedConnection: true },
      );
      const started = Date.now();
      await expect(smaller.endpoint.dial(larger.endpoint.nodeId)).rejects.toBeInstanceOf(
        DialFailedError,
      );
      // Three dials: the first two given up by the stall guard (after 0.5 s, then 1.5 s without
      // progress since the answer), the last one at the 3 s address timeout.
      expect(smaller.endpoint.metrics.dialsRetried).toBe(2);
      expect(smaller.endpoint.metrics.webRtcSetUpsStalled).toBe(2);
      expect(Date.now() - started).toBeLessThan(3 * 3_000);
    } finally {
      for (const peer of [smaller, larger]) {
        await peer.endpoint.stop();
        await peer.addressBook.close();
      }
    }
  });

  it("reports the reservation lost when the relay goes away", async () => {
    const lost = nextEvent(
      bob.endpoint.events$,
      "endpoint:relay-reservation",
      (e) => e.state === "lost",
    );
    const published = bob.endpoint.metrics.transportInfosPublished;
    const addresses = bob.endpoint.transportInfo()?.addresses;
    await boot.endpoint.stop();
    expect(await lost).toMatchObject({ relay: boot.endpoint.nodeId });
    expect(bob.endpoint.relays()).toEqual([]);
    // With its only relay gone Bob has no address; it does not publish that (a newer empty
    // info would replace its addresses everywhere): it keeps its last info until it has new ones.
    await vi.waitFor(() => expect(bob.endpoint.addresses()).toEqual([]));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(bob.endpoint.metrics.transportInfosPublished).toBe(published);
    expect(bob.endpoint.transportInfo()?.addresses).toEqual(addresses);
  });
});

describe("private addresses are neither advertised nor dialled unless allowed", () => {
  it("a loopback-only node advertises nothing and refuses loopback bootstrap addresses", async () => {
    const addressBook = await AddressBook.open(memoryAddressBookStore());
    const local = await createNodeEndpoint({
      identity: await Identity.generate(),
      addressBook,
      relay: false,
    });
    const otherBook = await AddressBook.open(memoryAddressBookStore());
    const other = await createNodeEndpoint({
      identity: await Identity.generate(),
      addressBook: otherBook,
      relay: false,
      allowPrivateAddresses: true,
    });
    try {
      expect(local.listenAddresses().length).toBe(3);
      expect(local.addresses()).toEqual([]);
      const kinds = other.addresses().map(transportKind).sort();
      expect(kinds).toEqual(["tcp", "webrtc-direct", "websockets"]);
      expect(local.transportInfo()?.addresses).toEqual([]);
      await addressBook.insertNodeInfo({
        nodeId: other.nodeId,
        bootstrap: true,
        metrics: { successes: 0, failures: 0 },
        transports: { kind: "trusted", addresses: other.addresses() },
      });
      const error = await local.dial(other.nodeId).catch((e) => e);
      expect(error).toBeInstanceOf(DialFailedError);
      expect(error.message).toMatch(/private addresses are not allowed/);
    } finally {
      await local.stop();
      await other.stop();
      await addressBook.close();
      await otherBook.close();
    }
  });
});

describe("a loopback bootstrap without allowPrivateAddresses says which option to set", () => {
  it("the dial failure names the option, in its error and event, and warns once", async () => {
    const otherBook = await AddressBook.open(memoryAddressBookStore());
    const other = await createNodeEndpoint({
      identity: await Identity.generate(),
      addressBook: otherBook,
      relay: false,
      allowPrivateAddresses: true,
    });
    const ws = other.addresses().find((a) => transportKind(a) === "websockets") as string;
    const warnings: string[] = [];
    const addressBook = await AddressBook.open(memoryAddressBookStore());
    const local = await createNodeEndpoint({
      identity: await Identity.generate(),
      addressBook,
      relay: false,
      bootstrap: [ws],
      warn: (message) => warnings.push(message),
    });
    try {
      const failed = nextEvent(local.events$, "endpoint:dial-failed");
      const error = await local.dial(other.nodeId).catch((e) => e);
      expect(error).toBeInstanceOf(DialFailedError);
      expect(error.message).toContain("private addresses are not allowed");
      expect(error.message).toContain("allowPrivateAddresses: true");
      expect(error.message).toContain("--allow-private-addresses");
      expect(error.message).toContain(ws);
      expect((await failed).message).toBe(error.message);
      // The walk dials the bootstrap again and again; the developer is told once.
      await local.dial(other.nodeId).catch(() => {});
      expect(warnings).toEqual([`p2panda-web: ${error.message}`]);
    } finally {
      await local.stop();
      await other.stop();
      await addressBook.close();
      await otherBook.close();
    }
  });
});

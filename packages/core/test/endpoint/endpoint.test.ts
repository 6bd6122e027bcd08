import { AddressBook, memoryAddressBookStore } from "@p2panda-web/address-book";
import {
  ChannelClosedError,
  createNodeInfo,
  encodeFrame,
  Identity,
  isStale,
  NetworkId,
  NodeId,
  protocolId,
  verifyTransportInfo,
} from "@p2panda-web/core";
import {
  DialFailedError,
  EndpointStoppedError,
  NodeDeniedError,
  NoTransportInfoError,
  ProtocolNotSupportedError,
} from "@p2panda-web/core/endpoint";
import { createMemoryEndpoint } from "@p2panda-web/core/memory";
import { lastValueFrom, toArray } from "rxjs";
import { afterEach, describe, expect, it, vi } from "vitest";
import { deferred, echo, introduce, memoryNode, nextEvent, stopAll } from "./helpers.ts";

afterEach(stopAll);

describe("sessions: one stream per session, seen as a MessageChannel", () => {
  it("exchanges messages both ways on a p2panda protocol, with the caller authenticated", async () => {
    const a = await memoryNode();
    const b = await memoryNode();
    const seen = deferred<NodeId>();
    a.endpoint.accept("test/echo/v1", (channel) => {
      seen.resolve(channel.remote);
      return echo(channel);
    });
    await introduce(b, a);

    const channel = await b.endpoint.connect(a.endpoint.nodeId, "test/echo/v1");
    expect(channel.remote).toBe(a.endpoint.nodeId);
    await channel.send({ hello: "world", bytes: new Uint8Array([1, 2, 3]) });
    await channel.send([1, 2]);
    expect(await channel.receive()).toEqual({ hello: "world", bytes: new Uint8Array([1, 2, 3]) });
    expect(await channel.receive()).toEqual([1, 2]);
    await channel.close();
    expect(await channel.receive()).toBeUndefined();
    expect(await seen.promise).toBe(b.endpoint.nodeId);
    expect(b.endpoint.metrics.streamsOpened).toBe(1);
    expect(a.endpoint.metrics.streamsAccepted).toBe(1);
  });

  it("carries large messages with backpressure (4 MiB through 64 KiB frames)", async () => {
    const a = await memoryNode();
    const b = await memoryNode();
    a.endpoint.accept("test/echo/v1", echo);
    await introduce(b, a);
    const channel = await b.endpoint.connect(a.endpoint.nodeId, "test/echo/v1");
    const chunk = new Uint8Array(64 * 1024).fill(7);
    const sending = (async () => {
      for (let i = 0; i < 64; i++) await channel.send(chunk);
      await channel.close();
    })();
    let received = 0;
    for (;;) {
      const message = await channel.receive();
      if (message === undefined) break;
      received += (message as Uint8Array).length;
    }
    await sending;
    expect(received).toBe(64 * chunk.length);
  });

  it("stops accepting new sessions after unaccept", async () => {
    const a = await memoryNode();
    const b = await memoryNode();
    a.endpoint.accept("test/echo/v1", echo);
    await introduce(b, a);
    const running = await b.endpoint.connect(a.endpoint.nodeId, "test/echo/v1");
    await a.endpoint.unaccept("test/echo/v1");
    await expect(b.endpoint.connect(a.endpoint.nodeId, "test/echo/v1")).rejects.toBeInstanceOf(
      ProtocolNotSupportedError,
    );
    await running.send("still running");
    expect(await running.receive()).toBe("still running");
  });

  it("refuses to accept the same protocol twice", async () => {
    const a = await memoryNode();
    a.endpoint.accept("test/echo/v1", echo);
    expect(() => a.endpoint.accept("test/echo/v1", echo)).toThrow(/already accepted/);
  });
});

describe("network ids separate networks", () => {
  it("gives a typed error, never a session, between networks A and B", async () => {
    const a = await memoryNode({ networkId: NetworkId.fromName("network A") });
    const b = await memoryNode({ networkId: NetworkId.fromName("network B") });
    let sessions = 0;
    a.endpoint.accept("test/echo/v1", (channel) => {
      sessions++;
      return echo(channel);
    });
    await introduce(b, a);

    const error = await b.endpoint.connect(a.endpoint.nodeId, "test/echo/v1").catch((e) => e);
    expect(error).toBeInstanceOf(ProtocolNotSupportedError);
    expect(error.code).toBe("PROTOCOL_NOT_SUPPORTED");
    expect(b.endpoint.metrics.protocolNotSupported).toBe(1);
    expect(sessions).toBe(0);
  });
});

describe("connect resolves addresses from the address book and reports every outcome", () => {
  it("throws NoTransportInfoError for a node it knows nothing about", async () => {
    const a = await memoryNode();
    const stranger = (await Identity.generate()).nodeId;
    const event = nextEvent(a.endpoint.events$, "endpoint:dial-failed");
    const error = await a.endpoint.connect(stranger, "test/echo/v1").catch((e) => e);
    expect(error).toBeInstanceOf(NoTransportInfoError);
    expect(error.code).toBe("NO_TRANSPORT_INFO");
    expect((await event).code).toBe("NO_TRANSPORT_INFO");
    expect(a.endpoint.metrics.dialsFailed).toBe(1);
  });

  it("a known node without transport info is not a failed connection (it does not turn stale)", async () => {
    const a = await memoryNode();
    const known = (await Identity.generate()).nodeId;
    await a.addressBook.insertNodeInfo(createNodeInfo(known));
    await expect(a.endpoint.connect(known, "test/echo/v1")).rejects.toBeInstanceOf(
      NoTransportInfoError,
    );
    const info = a.addressBook.nodeInfo(known);
    // Nothing was attempted: learning a node's id before its addresses (a tab whose relay
    // address does not exist yet) must not make walkers and gossip skip it afterwards.
    expect(info?.metrics.failures).toBe(0);
    expect(info && isStale(info)).toBe(false);
    expect(a.endpoint.metrics.dialsFailed).toBe(1);
  });

  it("reports a failure when no address answers", async () => {
    const a = await memoryNode();
    const gone = (await Identity.generate()).nodeId;
    const address = `/memory/nobody-here/p2p/${NodeId.toPeerId(gone).toString()}`;
    await a.addressBook.insertNodeInfo(
      createNodeInfo(gone, { transports: { kind: "trusted", addresses: [address] } }),
    );
    await expect(a.endpoint.connect(gone, "test/echo/v1")).rejects.toBeInstanceOf(DialFailedError);
    expect(a.addressBook.nodeInfo(gone)?.metrics.failures).toBe(1);
  });

  it("reports a success on both sides of a new connection", async () => {
    const a = await memoryNode();
    const b = await memoryNode();
    a.endpoint.accept("test/echo/v1", echo);
    await introduce(b, a);
    await introduce(a, b);
    const channel = await b.endpoint.connect(a.endpoint.nodeId, "test/echo/v1");
    expect(b.addressBook.nodeInfo(a.endpoint.nodeId)?.metrics.successes).toBe(1);
    await vi.waitFor(() =>
      expect(a.addressBook.nodeInfo(b.endpoint.nodeId)?.metrics.successes).toBe(1),
    );
    // A second session reuses the open connection: no new attempt, no new report.
    await channel.close();
    await b.endpoint.connect(a.endpoint.nodeId, "test/echo/v1");
    expect(b.addressBook.nodeInfo(a.endpoint.nodeId)?.metrics.successes).toBe(1);
  });

  it("refuses to dial itself", async () => {
    const a = await memoryNode();
    await expect(a.endpoint.connect(a.endpoint.nodeId, "x")).rejects.toThrow(/itself/);
  });
});

describe("allow and deny lists (connection gater)", () => {
  it("refuses a deny-listed node in both directions", async () => {
    const a = await memoryNode();
    const denier = await memoryNode({ deny: [a.endpoint.nodeId] });
    let sessions = 0;
    denier.endpoint.accept("test/echo/v1", (channel) => {
      sessions++;
      return echo(channel);
    });
    await introduce(a, denier);
    await introduce(denier, a);
    const refused = nextEvent(denier.endpoint.events$, "endpoint:connection-refused");

    const error = await a.endpoint.connect(denier.endpoint.nodeId, "test/echo/v1").catch((e) => e);
    expect(error).toBeInstanceOf(DialFailedError);
    expect(await refused).toMatchObject({ reason: "denied", remote: a.endpoint.nodeId });
    expect(denier.endpoint.metrics.connectionsDenied).toBeGreaterThanOrEqual(1);
    expect(sessions).toBe(0);
    expect(denier.endpoint.connections()).toEqual([]);

    await expect(denier.endpoint.connect(a.endpoint.nodeId, "test/echo/v1")).rejects.toBeInstanceOf(
      NodeDeniedError,
    );
  });

  it("with an allow list, refuses everyone else", async () => {
    const friend = await memoryNode();
    const stranger = await memoryNode();
    const picky = await memoryNode({ allow: [friend.endpoint.nodeId] });
    picky.endpoint.accept("test/echo/v1", echo);
    await introduce(friend, picky);
    await introduce(stranger, picky);

    const ok = await friend.endpoint.connect(picky.endpoint.nodeId, "test/echo/v1");
    await ok.send("hi");
    expect(await ok.receive()).toBe("hi");
    await expect(
      stranger.endpoint.connect(picky.endpoint.nodeId, "test/echo/v1"),
    ).rejects.toBeInstanceOf(DialFailedError);
    expect(picky.endpoint.metrics.connectionsDenied).toBeGreaterThanOrEqual(1);
  });
});

describe("the endpoint keeps its own signed transport info in the address book", () => {
  it("stores a verifiable info with its advertised addresses at start", async () => {
    const a = await memoryNode();
    const info = a.endpoint.transportInfo();
    expect(info).toBeDefined();
    expect(a.addressBook.nodeInfo(a.endpoint.nodeId)?.transports).toEqual(info);
    await verifyTransportInfo(a.endpoint.nodeId, info!);
    expect(info?.addresses).toEqual(a.endpoint.addresses());
    expect(info?.addresses[0]).toMatch(/^\/memory\/.+\/p2p\/12D3Koo/);
  });

  it("re-signs with a newer timestamp when its addresses change; the newer info wins elsewhere", async () => {
    const identity = await Identity.generate();
    const book = await AddressBook.open(memoryAddressBookStore());
    const first = await createMemoryEndpoint({ identity, addressBook: book, listen: "/memory/a1" });
    const before = first.transportInfo()!;
    await first.stop();
    // Same node, same (persistent) book, new address: as after a restart.
    const second = await createMemoryEndpoint({
      identity,
      addressBook: book,
      listen: "/memory/a2",
    });
    const after = second.transportInfo()!;
    expect(after.timestamp.isAfter(before.timestamp)).toBe(true);
    expect(after.addresses[0]).toContain("/memory/a2/");
    expect(book.nodeInfo(identity.nodeId)?.transports).toEqual(after);

    const other = await memoryNode();
    expect(await other.addressBook.insertTransportInfo(identity.nodeId, after)).toBe(true);
    expect(await other.addressBook.insertTransportInfo(identity.nodeId, before)).toBe(false);
    expect(other.addressBook.nodeInfo(identity.nodeId)?.transports?.addresses).toEqual(
      after.addresses,
    );
    await second.stop();
    await book.close();
  });
});

describe("limits and bad input end one session with a typed error, never the endpoint", () => {
  it("resets streams beyond the per-node limit and keeps serving", async () => {
    const a = await memoryNode();
    const b = await memoryNode();
    const c = await memoryNode();
    a.endpoint.accept("test/hold/v1", echo, { maxInboundStreamsPerNode: 2 });
    await introduce(b, a);
    await introduce(c, a);
    const refused = nextEvent(a.endpoint.events$, "endpoint:stream-refused");

    const first = await b.endpoint.connect(a.endpoint.nodeId, "test/hold/v1");
    const second = await b.endpoint.connect(a.endpoint.nodeId, "test/hold/v1");
    const third = await b.endpoint.connect(a.endpoint.nodeId, "test/hold/v1");
    await expect(third.receive()).rejects.toBeInstanceOf(ChannelClosedError);
    expect(await refused).toMatchObject({
      remote: b.endpoint.nodeId,
      protocol: "test/hold/v1",
      code: "TOO_MANY_STREAMS",
    });
    expect(a.endpoint.metrics.streamsRefused).toBe(1);

    // The first two sessions and other nodes are unaffected.
    await second.send("still here");
    expect(await second.receive()).toBe("still here");
    const fromC = await c.endpoint.connect(a.endpoint.nodeId, "test/hold/v1");
    await fromC.send(1);
    expect(await fromC.receive()).toBe(1);

    // Ending a session frees its slot.
    await first.close();
    expect(await first.receive()).toBeUndefined();
    await vi.waitFor(async () => {
      const again = await b.endpoint.connect(a.endpoint.nodeId, "test/hold/v1");
      await again.send("again");
      expect(await again.receive()).toBe("again");
    });
  });

  it("resets a session whose remote sends an oversized frame", async () => {
    const a = await memoryNode();
    const b = await memoryNode();
    a.endpoint.accept("test/small/v1", echo, { maxFrameSize: 1024 });
    await introduce(b, a);
    const failed = nextEvent(a.endpoint.events$, "endpoint:session-failed");

    const channel = await b.endpoint.connect(a.endpoint.nodeId, "test/small/v1");
    await channel.send(new Uint8Array(4096));
    await expect(channel.receive()).rejects.toBeInstanceOf(ChannelClosedError);
    expect(await failed).toMatchObject({ code: "FRAME_TOO_LARGE", remote: b.endpoint.nodeId });
    expect(a.endpoint.metrics.sessionErrors.FRAME_TOO_LARGE).toBe(1);

    const next = await b.endpoint.connect(a.endpoint.nodeId, "test/small/v1");
    await next.send("fine");
    expect(await next.receive()).toBe("fine");
  });

  it("resets a session whose remote stalls mid-frame", async () => {
    const a = await memoryNode();
    const b = await memoryNode();
    a.endpoint.accept("test/stall/v1", echo, { receiveTimeoutMs: 200 });
    await introduce(b, a);
    const failed = nextEvent(a.endpoint.events$, "endpoint:session-failed");

    // A raw stream: announce a 100-byte frame, send 3 bytes of it, then nothing.
    await b.endpoint.dial(a.endpoint.nodeId);
    const raw = await b.endpoint.libp2p.dialProtocol(
      NodeId.toPeerId(a.endpoint.nodeId),
      protocolId("test/stall/v1", b.endpoint.networkId),
    );
    const closed = new Promise<Error | undefined>((resolve) =>
      raw.addEventListener("close", (event) => resolve(event.error), { once: true }),
    );
    raw.send(encodeFrame(new Uint8Array(100)).subarray(0, 4));

    expect(await failed).toMatchObject({ code: "STREAM_STALLED" });
    expect(await closed).toBeInstanceOf(Error);
    expect(a.endpoint.metrics.sessionErrors.STREAM_STALLED).toBe(1);

    const next = await b.endpoint.connect(a.endpoint.nodeId, "test/stall/v1");
    await next.send("fine");
    expect(await next.receive()).toBe("fine");
  });

  it("refuses inbound connections beyond the limit", async () => {
    const a = await memoryNode({ limits: { maxInboundConnections: 1 } });
    const b = await memoryNode();
    const c = await memoryNode();
    a.endpoint.accept("test/echo/v1", echo);
    await introduce(b, a);
    await introduce(c, a);
    await b.endpoint.connect(a.endpoint.nodeId, "test/echo/v1");
    const refused = nextEvent(a.endpoint.events$, "endpoint:connection-refused");
    await expect(c.endpoint.connect(a.endpoint.nodeId, "test/echo/v1")).rejects.toBeInstanceOf(
      DialFailedError,
    );
    expect(await refused).toMatchObject({ reason: "inbound-limit" });
    // c dialled twice: once, and once more after a short random wait (a third dial follows
    // only a WebRTC set-up that stalled).
    expect(a.endpoint.metrics.inboundConnectionsRefused).toBe(2);
    expect(c.endpoint.metrics.dialsRetried).toBe(1);
  });

  it("a dial that fails is tried once more after a short wait, which may go through", async () => {
    const a = await memoryNode({ limits: { maxInboundConnections: 1 } });
    const b = await memoryNode();
    const c = await memoryNode();
    a.endpoint.accept("test/echo/v1", echo);
    await introduce(b, a);
    await introduce(c, a);
    await b.endpoint.dial(a.endpoint.nodeId);
    // c's first dial is refused (a is full); b leaves before c's second dial.
    const refused = nextEvent(a.endpoint.events$, "endpoint:connection-refused");
    const connecting = c.endpoint.connect(a.endpoint.nodeId, "test/echo/v1");
    await refused;
    await b.endpoint.stop();
    const channel = await connecting;
    await channel.send("second time lucky");
    expect(await channel.receive()).toBe("second time lucky");
    expect(c.endpoint.metrics.dialsRetried).toBe(1);
    expect(c.endpoint.metrics.dialsFailed).toBe(0);
  });
});

describe("a connection that closes under a stream being opened", () => {
  it("the stream is opened again, once, on a new connection", async () => {
    const a = await memoryNode({ latencyMs: 100 });
    const c = await memoryNode({ latencyMs: 100 });
    a.endpoint.accept("test/echo/v1", echo);
    await introduce(c, a);
    await c.endpoint.dial(a.endpoint.nodeId);
    const [first] = c.endpoint.libp2p.getConnections(NodeId.toPeerId(a.endpoint.nodeId));
    const before = first?.streams.length ?? 0;
    const connecting = c.endpoint.connect(a.endpoint.nodeId, "test/echo/v1");
    // The stream exists on the connection (its protocol still being negotiated: 100 ms each
    // way) …
    while ((first?.streams.length ?? 0) <= before) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    // … when the connection goes, as a WebRTC peer connection that gave up does.
    first?.abort(new Error("gone"));
    const channel = await connecting;
    await channel.send("again");
    expect(await channel.receive()).toBe("again");
    expect(c.endpoint.metrics.streamOpensRetried).toBe(1);
    expect(first?.status).not.toBe("open");
  });
});

describe("connection events and the synchronous connection list", () => {
  it("emits opened/closed with the remote node and transport", async () => {
    const a = await memoryNode();
    const b = await memoryNode();
    a.endpoint.accept("test/echo/v1", echo);
    await introduce(b, a);
    const opened = nextEvent(a.endpoint.events$, "endpoint:connection-opened");
    await b.endpoint.dial(a.endpoint.nodeId);
    expect(await opened).toMatchObject({
      remote: b.endpoint.nodeId,
      transport: "memory",
      direction: "inbound",
      limited: false,
    });
    expect(b.endpoint.connections()).toMatchObject([
      { remote: a.endpoint.nodeId, transport: "memory", direction: "outbound" },
    ]);
    const closed = nextEvent(a.endpoint.events$, "endpoint:connection-closed");
    await b.endpoint.stop();
    expect(await closed).toMatchObject({ remote: b.endpoint.nodeId, transport: "memory" });
    await vi.waitFor(() => expect(a.endpoint.connections()).toEqual([]));
  });

  it("closeConnections drops every connection to a node at once; the next dial makes a new one", async () => {
    const a = await memoryNode();
    const b = await memoryNode();
    await introduce(b, a);
    await b.endpoint.dial(a.endpoint.nodeId);
    const [first] = b.endpoint.libp2p.getConnections();
    const closed = nextEvent(b.endpoint.events$, "endpoint:connection-closed");
    b.endpoint.closeConnections(a.endpoint.nodeId);
    // At once: a dial right after must not be handed the closed connection back.
    expect(b.endpoint.connections()).toEqual([]);
    expect(await closed).toMatchObject({ remote: a.endpoint.nodeId });
    await b.endpoint.dial(a.endpoint.nodeId);
    const [second] = b.endpoint.libp2p.getConnections();
    expect(second?.id).not.toBe(first?.id);
    expect(second?.status).toBe("open");
    // No connection: nothing to do.
    b.endpoint.closeConnections((await Identity.generate()).nodeId);
  });

  it("suspend drops every connection at once and refuses dials until resume", async () => {
    const a = await memoryNode();
    const b = await memoryNode();
    const c = await memoryNode();
    await introduce(b, a);
    await introduce(b, c);
    await b.endpoint.dial(a.endpoint.nodeId);
    await b.endpoint.dial(c.endpoint.nodeId);
    const closed: string[] = [];
    b.endpoint.events$.subscribe((event) => {
      if (event.type === "endpoint:connection-closed") closed.push(event.remote);
    });
    expect(b.endpoint.suspend()).toBe(2);
    // At once: the page is stored in the bfcache as soon as its pagehide returns.
    expect(b.endpoint.connections()).toEqual([]);
    await vi.waitFor(() =>
      expect(closed.sort()).toEqual([a.endpoint.nodeId, c.endpoint.nodeId].sort()),
    );
    // Suspended: no dial out, and nobody gets in.
    await expect(b.endpoint.dial(a.endpoint.nodeId)).rejects.toThrow();
    await expect(a.endpoint.dial(b.endpoint.nodeId)).rejects.toThrow();
    expect(b.endpoint.connections()).toEqual([]);
    b.endpoint.resume();
    await b.endpoint.dial(a.endpoint.nodeId);
    expect(b.endpoint.connections()).toMatchObject([{ remote: a.endpoint.nodeId }]);
    expect(b.endpoint.suspend()).toBe(1);
    expect(b.endpoint.suspend()).toBe(0);
    b.endpoint.resume();
    // (WebRTC in real Chromium, where it lets the page into the bfcache: e2e/bfcache.spec.ts.)
  });
});

describe("stop", () => {
  it("completes events$ and refuses further use", async () => {
    const a = await memoryNode();
    const all = lastValueFrom(a.endpoint.events$.pipe(toArray()));
    await a.endpoint.stop();
    await all;
    await expect(a.endpoint.connect(a.endpoint.nodeId, "x")).rejects.toBeInstanceOf(
      EndpointStoppedError,
    );
    expect(() => a.endpoint.accept("x", echo)).toThrow(EndpointStoppedError);
    await a.endpoint.stop();
  });
});

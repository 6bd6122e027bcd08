import {
  type AuthenticatedTransportInfo,
  addressNodeId,
  createNodeInfo,
  DecodeError,
  decodeCbor,
  decodeNodeInfo,
  deduplicateTransportAddresses,
  encodeCbor,
  encodeNodeInfo,
  fromHex,
  HybridClock,
  HybridTimestamp,
  Identity,
  InvalidInputError,
  InvalidSignatureError,
  isNewerTransportInfo,
  isStale,
  MAX_ADDRESS_LENGTH,
  MAX_TRANSPORT_ADDRESSES,
  ManualClock,
  NodeId,
  NodeIdMismatchError,
  type NodeInfo,
  P2pandaError,
  signTransportInfo,
  type TransportInfo,
  transportInfoFromWire,
  transportInfoSigningBytes,
  transportInfoToWire,
  transportKind,
  verifyTransportInfo,
  withConnectionReport,
} from "@p2panda-web/core";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";

let alice: Identity;
let bob: Identity;
let alicePeer: string;
let bobPeer: string;
const RELAY = "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";

beforeAll(async () => {
  alice = await Identity.fromSecretKey(new Uint8Array(32).fill(1));
  bob = await Identity.fromSecretKey(new Uint8Array(32).fill(2));
  alicePeer = NodeId.toPeerId(alice.nodeId).toString();
  bobPeer = NodeId.toPeerId(bob.nodeId).toString();
});

const ts = (p: number, l = 0) => new HybridTimestamp(p, l);

describe("transport kinds: one address per kind", () => {
  it.each([
    ["/ip4/1.2.3.4/tcp/5/ws", "websockets"],
    ["/dns4/example.org/tcp/443/wss", "websockets"],
    ["/ip4/1.2.3.4/tcp/443/tls/ws", "websockets"],
    ["/ip4/1.2.3.4/tcp/5", "tcp"],
    ["/ip4/1.2.3.4/udp/5/webrtc-direct", "webrtc-direct"],
    ["/ip4/1.2.3.4/udp/5/quic-v1/webtransport", "webtransport"],
    [`/ip4/1.2.3.4/tcp/5/ws/p2p/${RELAY}/p2p-circuit/webrtc`, "webrtc"],
    [`/ip4/1.2.3.4/tcp/5/ws/p2p/${RELAY}/p2p-circuit`, "other"],
    ["/memory/test", "memory"],
    ["/ip4/1.2.3.4/udp/5/quic-v1", "other"],
    ["not a multiaddr", "other"],
  ])("%s is %s", (address, kind) => {
    expect(transportKind(address)).toBe(kind);
  });

  it("deduplicate_transport_address: a later address of a kind replaces the earlier one", () => {
    expect(
      deduplicateTransportAddresses([
        "/ip4/1.1.1.1/tcp/1/ws",
        "/ip4/1.1.1.1/udp/2/webrtc-direct",
        "/ip4/2.2.2.2/tcp/3/ws",
      ]),
    ).toEqual(["/ip4/2.2.2.2/tcp/3/ws", "/ip4/1.1.1.1/udp/2/webrtc-direct"]);
  });

  it("deduplicate_transport_address: webrtc circuits are kept one per relay", () => {
    const other = bobPeer; // a browser neighbour relaying for alice
    expect(
      deduplicateTransportAddresses([
        `/ip4/1.1.1.1/tcp/1/ws/p2p/${RELAY}/p2p-circuit/webrtc`,
        `/p2p/${other}/p2p-circuit/webrtc`,
        `/ip4/1.1.1.1/tcp/2/wss/p2p/${RELAY}/p2p-circuit/webrtc`,
      ]),
    ).toEqual([
      `/ip4/1.1.1.1/tcp/2/wss/p2p/${RELAY}/p2p-circuit/webrtc`,
      `/p2p/${other}/p2p-circuit/webrtc`,
    ]);
  });

  it("deduplicate_transport_address: signing keeps one per kind, the last given", async () => {
    const info = await signTransportInfo(alice, ts(1), [
      "/ip4/1.1.1.1/tcp/1/ws",
      "/ip4/2.2.2.2/tcp/3/ws",
    ]);
    expect(info.addresses).toEqual([`/ip4/2.2.2.2/tcp/3/ws/p2p/${alicePeer}`]);
    await expect(verifyTransportInfo(alice.nodeId, info)).resolves.toBeUndefined();
  });
});

describe("signing a transport info", () => {
  it("signs the deterministic CBOR of { timestamp: [physical, logical], addresses }", async () => {
    const info = await signTransportInfo(alice, ts(1000, 2), ["/ip4/1.2.3.4/tcp/5/ws"]);
    const expected = encodeCbor({ addresses: info.addresses, timestamp: [1000, 2] });
    expect(transportInfoSigningBytes(info.timestamp, info.addresses)).toEqual(expected);
    const again = await alice.sign(expected);
    expect(info.signature).toEqual(again);
    expect(info.kind).toBe("authenticated");
  });

  it("appends /p2p/<own peer id> when missing and keeps it when present", async () => {
    const info = await signTransportInfo(alice, ts(1), [
      "/ip4/1.2.3.4/tcp/5/ws",
      `/ip4/1.2.3.4/udp/6/webrtc-direct/p2p/${alicePeer}`,
    ]);
    expect(info.addresses).toEqual([
      `/ip4/1.2.3.4/tcp/5/ws/p2p/${alicePeer}`,
      `/ip4/1.2.3.4/udp/6/webrtc-direct/p2p/${alicePeer}`,
    ]);
    for (const address of info.addresses) expect(addressNodeId(address)).toBe(alice.nodeId);
  });

  it("keeps a relay's /p2p/ inside a circuit address", async () => {
    const info = await signTransportInfo(alice, ts(1), [
      `/ip4/1.2.3.4/tcp/5/ws/p2p/${RELAY}/p2p-circuit/webrtc`,
    ]);
    expect(info.addresses).toEqual([
      `/ip4/1.2.3.4/tcp/5/ws/p2p/${RELAY}/p2p-circuit/webrtc/p2p/${alicePeer}`,
    ]);
    await expect(verifyTransportInfo(alice.nodeId, info)).resolves.toBeUndefined();
  });

  it("refuses another node's /p2p/, non-multiaddrs, long addresses and too many kinds", async () => {
    await expect(
      signTransportInfo(alice, ts(1), [`/ip4/1.2.3.4/tcp/5/p2p/${bobPeer}`]),
    ).rejects.toBeInstanceOf(NodeIdMismatchError);
    await expect(signTransportInfo(alice, ts(1), ["garbage"])).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    await expect(
      signTransportInfo(alice, ts(1), [`/dns4/${"a".repeat(MAX_ADDRESS_LENGTH)}/tcp/1`]),
    ).rejects.toBeInstanceOf(P2pandaError);
  });
});

describe("authenticate_address_infos: anyone can verify against the node id", () => {
  it("a signed info verifies, and survives the wire", async () => {
    const info = await signTransportInfo(alice, ts(5, 1), [
      "/ip4/1.2.3.4/tcp/5/ws",
      "/ip4/1.2.3.4/udp/6/webrtc-direct",
    ]);
    await verifyTransportInfo(alice.nodeId, info);
    const wire = decodeCbor(encodeCbor(transportInfoToWire(info)));
    const back = transportInfoFromWire(wire);
    expect(back.timestamp.equals(info.timestamp)).toBe(true);
    expect(back.addresses).toEqual(info.addresses);
    expect(back.signature).toEqual(info.signature);
    await verifyTransportInfo(alice.nodeId, back);
  });

  it("a bad signature → InvalidSignatureError (INVALID_SIGNATURE)", async () => {
    const info = await signTransportInfo(alice, ts(5), ["/ip4/1.2.3.4/tcp/5/ws"]);
    const signature = info.signature.slice();
    signature[0] = (signature[0] as number) ^ 1;
    const error = await verifyTransportInfo(alice.nodeId, { ...info, signature }).catch((e) => e);
    expect(error).toBeInstanceOf(InvalidSignatureError);
    expect((error as P2pandaError).code).toBe("INVALID_SIGNATURE");
  });

  it("a changed timestamp or address breaks the signature", async () => {
    const info = await signTransportInfo(alice, ts(5), ["/ip4/1.2.3.4/tcp/5/ws"]);
    await expect(
      verifyTransportInfo(alice.nodeId, { ...info, timestamp: ts(6) }),
    ).rejects.toBeInstanceOf(InvalidSignatureError);
    await expect(
      verifyTransportInfo(alice.nodeId, {
        ...info,
        addresses: [`/ip4/6.6.6.6/tcp/5/ws/p2p/${alicePeer}`],
      }),
    ).rejects.toBeInstanceOf(InvalidSignatureError);
    await expect(
      verifyTransportInfo(alice.nodeId, { ...info, addresses: [] }),
    ).rejects.toBeInstanceOf(InvalidSignatureError);
  });
});

describe("node_id_mismatch: an info only verifies for the node that signed it", () => {
  it("alice's info checked as bob's → NodeIdMismatchError (NODE_ID_MISMATCH)", async () => {
    const info = await signTransportInfo(alice, ts(5), ["/ip4/1.2.3.4/tcp/5/ws"]);
    const error = await verifyTransportInfo(bob.nodeId, info).catch((e) => e);
    expect(error).toBeInstanceOf(NodeIdMismatchError);
    expect((error as P2pandaError).code).toBe("NODE_ID_MISMATCH");
  });

  it("a correctly signed info naming another node's /p2p/ is refused", async () => {
    // Alice signs, by hand, an address that dials Bob.
    const addresses = [`/ip4/1.2.3.4/tcp/5/ws/p2p/${bobPeer}`];
    const timestamp = ts(5);
    const signature = await alice.sign(transportInfoSigningBytes(timestamp, addresses));
    const info: AuthenticatedTransportInfo = {
      kind: "authenticated",
      timestamp,
      signature,
      addresses,
    };
    await expect(verifyTransportInfo(alice.nodeId, info)).rejects.toBeInstanceOf(
      NodeIdMismatchError,
    );
  });

  it("a correctly signed info with an address missing /p2p/ is refused", async () => {
    for (const addresses of [
      ["/ip4/1.2.3.4/tcp/5/ws"],
      ["not a multiaddr"],
      [`/p2p/${RELAY}/p2p-circuit`],
    ]) {
      const timestamp = ts(5);
      const signature = await alice.sign(transportInfoSigningBytes(timestamp, addresses));
      await expect(
        verifyTransportInfo(alice.nodeId, {
          kind: "authenticated",
          timestamp,
          signature,
          addresses,
        }),
      ).rejects.toBeInstanceOf(NodeIdMismatchError);
    }
  });
});

describe("latest_transport_info_wins: last write wins by timestamp", () => {
  it("only a strictly newer authenticated info replaces the current one", async () => {
    const clock = new HybridClock(new ManualClock(1000));
    const first = await signTransportInfo(alice, clock.now(), ["/ip4/1.1.1.1/tcp/1/ws"]);
    const second = await signTransportInfo(alice, clock.increment(first.timestamp), [
      "/ip4/2.2.2.2/tcp/1/ws",
    ]);
    expect(isNewerTransportInfo(first, undefined)).toBe(true);
    expect(isNewerTransportInfo(second, first)).toBe(true);
    expect(isNewerTransportInfo(first, second)).toBe(false);
    expect(isNewerTransportInfo(first, first)).toBe(false); // a replay is not newer
  });

  it("the node's own re-signed info always wins, even after its wall clock went back", async () => {
    const wall = new ManualClock(10_000);
    const clock = new HybridClock(wall);
    let current = await signTransportInfo(alice, clock.now(), ["/ip4/1.1.1.1/tcp/1/ws"]);
    for (const jump of [-5000, 0, -1, 3]) {
      wall.advance(jump);
      const next = await signTransportInfo(alice, clock.increment(current.timestamp), [
        `/ip4/1.1.1.${Math.abs(jump) % 250}/tcp/1/ws`,
      ]);
      expect(isNewerTransportInfo(next, current)).toBe(true);
      current = next;
    }
  });

  it("a trusted info always wins; an authenticated one replaces a trusted one", async () => {
    const trusted: TransportInfo = { kind: "trusted", addresses: ["/ip4/1.1.1.1/tcp/1/ws"] };
    const signed = await signTransportInfo(alice, ts(1), ["/ip4/1.1.1.1/tcp/1/ws"]);
    expect(isNewerTransportInfo(trusted, signed)).toBe(true);
    expect(isNewerTransportInfo(signed, trusted)).toBe(true);
  });
});

describe("transportInfoFromWire checks shape and caps first", () => {
  const good = () => ({
    timestamp: [1, 0],
    signature: new Uint8Array(64),
    addresses: [`/ip4/1.2.3.4/tcp/5/ws/p2p/${RELAY}`],
  });
  it.each([
    ["not a map", () => [1, 2, 3]],
    ["null", () => null],
    ["a missing key", () => ({ timestamp: [1, 0], signature: new Uint8Array(64) })],
    ["an extra key", () => ({ ...good(), extra: 1 })],
    ["a 63-byte signature", () => ({ ...good(), signature: new Uint8Array(63) })],
    ["a string signature", () => ({ ...good(), signature: "00".repeat(64) })],
    ["a bad timestamp", () => ({ ...good(), timestamp: [1] })],
    ["addresses not a list", () => ({ ...good(), addresses: "x" })],
    [
      "too many addresses",
      () => ({ ...good(), addresses: new Array(MAX_TRANSPORT_ADDRESSES + 1).fill("/memory/a") }),
    ],
    ["a long address", () => ({ ...good(), addresses: ["/".repeat(MAX_ADDRESS_LENGTH + 1)] })],
    ["a non-string address", () => ({ ...good(), addresses: [42] })],
  ])("refuses %s with DecodeError", (_, make) => {
    expect(() => transportInfoFromWire(make())).toThrow(DecodeError);
  });
  it("accepts the limits exactly", () => {
    const info = transportInfoFromWire({
      ...good(),
      addresses: new Array(MAX_TRANSPORT_ADDRESSES).fill("/".repeat(MAX_ADDRESS_LENGTH)),
    });
    expect(info.addresses).toHaveLength(MAX_TRANSPORT_ADDRESSES);
  });
  it("arbitrary values only ever throw DecodeError", () => {
    fc.assert(
      fc.property(fc.anything({ withTypedArray: true }), (value) => {
        try {
          transportInfoFromWire(value);
        } catch (error) {
          expect(error).toBeInstanceOf(DecodeError);
        }
      }),
      { numRuns: 500, seed: 9 },
    );
  });
  it("copies its input: later mutation of the decoded value changes nothing", () => {
    const value = good();
    const info = transportInfoFromWire(value);
    value.signature[0] = 1;
    value.addresses.push("x");
    expect(info.signature[0]).toBe(0);
    expect(info.addresses).toHaveLength(1);
  });
});

describe("stale_nodes: stale when the last recorded attempt failed", () => {
  const id = NodeId.fromHex("cc".repeat(32));
  it("no attempts: not stale", () => {
    expect(isStale(createNodeInfo(id))).toBe(false);
  });
  it("a failure and no success: stale", () => {
    expect(isStale(withConnectionReport(createNodeInfo(id), false, 10))).toBe(true);
  });
  it("a success after a failure: not stale; a failure after a success: stale", () => {
    let info = withConnectionReport(createNodeInfo(id), false, 10);
    info = withConnectionReport(info, true, 20);
    expect(isStale(info)).toBe(false);
    info = withConnectionReport(info, false, 30);
    expect(isStale(info)).toBe(true);
    expect(info.metrics).toMatchObject({
      successes: 1,
      failures: 2,
      lastSuccessAt: 20,
      lastFailureAt: 30,
    });
  });
  it("ties in the same millisecond resolve to the latest report", () => {
    let info = withConnectionReport(createNodeInfo(id), true, 10);
    info = withConnectionReport(info, false, 10);
    expect(isStale(info)).toBe(true);
    info = withConnectionReport(info, true, 10);
    expect(isStale(info)).toBe(false);
  });
  it("a late report of an older attempt does not override a newer outcome", () => {
    let info = withConnectionReport(createNodeInfo(id), true, 50);
    info = withConnectionReport(info, false, 40);
    expect(isStale(info)).toBe(false);
    expect(info.metrics.failures).toBe(1);
  });
  it("a bootstrap is never stale", () => {
    let info = createNodeInfo(id, { bootstrap: true });
    info = withConnectionReport(info, false, 10);
    expect(isStale(info)).toBe(false);
  });
  it("matches the spec rule on arbitrary report sequences", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.nat(20)), { maxLength: 20 }), (reports) => {
        let info = createNodeInfo(id);
        let latest: { ok: boolean; at: number } | undefined;
        for (const [ok, at] of reports) {
          info = withConnectionReport(info, ok, at);
          if (latest === undefined || at >= latest.at) latest = { ok, at };
        }
        expect(isStale(info)).toBe(latest !== undefined && !latest.ok);
      }),
      { seed: 12 },
    );
  });
});

describe("insert_node_and_transport_info (record part) and NodeInfo storage encoding", () => {
  it("a new node info has no history and the given transports", async () => {
    const transports = await signTransportInfo(alice, ts(1), ["/ip4/1.2.3.4/tcp/5/ws"]);
    const info = createNodeInfo(alice.nodeId, { transports });
    expect(info).toEqual({
      nodeId: alice.nodeId,
      bootstrap: false,
      metrics: { successes: 0, failures: 0 },
      transports,
    });
    expect(createNodeInfo(alice.nodeId)).not.toHaveProperty("transports");
  });

  const roundTrip = (info: NodeInfo) => decodeNodeInfo(encodeNodeInfo(info));

  it("encode → decode round-trips every field", async () => {
    const transports = await signTransportInfo(alice, ts(123, 4), [
      "/ip4/1.2.3.4/tcp/5/ws",
      "/ip4/1.2.3.4/udp/6/webrtc-direct",
    ]);
    let info = createNodeInfo(alice.nodeId, { bootstrap: true, transports });
    info = withConnectionReport(withConnectionReport(info, true, 7), false, 7);
    const back = roundTrip(info);
    expect(back).toEqual(info);
    if (back.transports?.kind !== "authenticated") throw new Error("lost transports");
    expect(back.transports.timestamp).toBeInstanceOf(HybridTimestamp);
    await verifyTransportInfo(alice.nodeId, back.transports);
    const trusted = createNodeInfo(bob.nodeId, {
      transports: { kind: "trusted", addresses: ["/ip4/9.9.9.9/tcp/1"] },
    });
    expect(roundTrip(trusted)).toEqual(trusted);
    expect(roundTrip(createNodeInfo(bob.nodeId))).toEqual(createNodeInfo(bob.nodeId));
  });

  it("round-trips arbitrary node infos", () => {
    const arbInfo = fc
      .record({
        id: fc.uint8Array({ minLength: 32, maxLength: 32 }),
        bootstrap: fc.boolean(),
        reports: fc.array(fc.tuple(fc.boolean(), fc.nat(1e12)), { maxLength: 6 }),
        transports: fc.option(
          fc.oneof(
            fc.record({
              kind: fc.constant("trusted" as const),
              addresses: fc.array(fc.string({ maxLength: 30 }), { maxLength: 4 }),
            }),
            fc.record({
              kind: fc.constant("authenticated" as const),
              timestamp: fc.tuple(fc.nat(), fc.nat()).map(([p, l]) => ts(p, l)),
              signature: fc.uint8Array({ minLength: 64, maxLength: 64 }),
              addresses: fc.array(fc.string({ maxLength: 30 }), { maxLength: 4 }),
            }),
          ),
          { nil: undefined },
        ),
      })
      .map(({ id, bootstrap, reports, transports }) => {
        let info = createNodeInfo(NodeId.fromBytes(id), { bootstrap, transports });
        for (const [ok, at] of reports) info = withConnectionReport(info, ok, at);
        return info;
      });
    fc.assert(
      fc.property(arbInfo, (info) => {
        expect(roundTrip(info)).toEqual(info);
      }),
      { numRuns: 200, seed: 21 },
    );
  });

  it("decoding arbitrary bytes only ever throws DecodeError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (input) => {
        try {
          decodeNodeInfo(input);
        } catch (error) {
          expect(error).toBeInstanceOf(DecodeError);
        }
      }),
      { numRuns: 1000, seed: 22 },
    );
  });

  it("decoding well-formed CBOR of the wrong shape throws DecodeError", () => {
    const good = decodeCbor(encodeNodeInfo(createNodeInfo(alice.nodeId))) as Record<
      string,
      unknown
    >;
    for (const patch of [
      { v: 2 },
      { nodeId: "xyz" },
      { bootstrap: 1 },
      { metrics: { successes: -1, failures: 0 } },
      { metrics: { successes: 0, failures: 0, lastOutcome: "maybe" } },
      { transports: { kind: "psychic" } },
      { transports: { kind: "trusted", addresses: [1] } },
      { transports: { kind: "authenticated", info: { timestamp: [1, 0] } } },
    ]) {
      expect(
        () => decodeNodeInfo(encodeCbor({ ...good, ...patch })),
        JSON.stringify(patch),
      ).toThrow(DecodeError);
    }
    expect(() => decodeNodeInfo(fromHex("ff"))).toThrow(DecodeError);
  });
});

describe("a transport info read from received bytes owns them", () => {
  it("its signature is a copy, not a view of a received Node Buffer", () => {
    const received = Buffer.from(new Uint8Array(64).fill(7));
    const info = transportInfoFromWire({ timestamp: [1, 0], signature: received, addresses: [] });
    expect(info.signature.buffer).not.toBe(received.buffer);
    received.fill(0);
    expect(info.signature).toEqual(new Uint8Array(64).fill(7));
  });
});

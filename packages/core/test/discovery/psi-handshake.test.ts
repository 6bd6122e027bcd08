import { describe, expect, it } from "vitest";
import { toHex } from "../../src/bytes.ts";
import { encodeCbor } from "../../src/codec/cbor.ts";
import { memoryChannelPair } from "../../src/codec/message-channel.ts";
import {
  type DiscoveryMessage,
  DiscoveryProtocolError,
  decodeDiscoveryMessage,
  PsiAlice,
  PsiBob,
  type PsiHandshake,
  type PsiState,
  runDiscoverySession,
  selectInfosToShare,
} from "../../src/discovery/index.ts";
import { hash } from "../../src/hash.ts";
import type { NodeId } from "../../src/ids/node-id.ts";
import { Topic } from "../../src/ids/topic.ts";
import { seededRng } from "../../src/random.ts";
import { alice, bob, nodeId, runPair, side, topic } from "./helpers.ts";

const A = nodeId(0xa1);
const B = nodeId(0xb2);

function expectReason(fn: () => unknown, reason: string): void {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(DiscoveryProtocolError);
    expect((error as DiscoveryProtocolError).reason).toBe(reason);
    expect((error as DiscoveryProtocolError).code).toBe("DISCOVERY_PROTOCOL");
    return;
  }
  throw new Error(`expected a DiscoveryProtocolError (${reason})`);
}

function includesBytes(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

describe("PSI-hash: both sides learn exactly the intersection (topic_discovery)", () => {
  it("finds {2, 99} between {1, 2, 98, 99} and {2, 3, 99, 100}", () => {
    const a = alice(side(A, B, [topic(1), topic(2), topic(98), topic(99)]));
    const b = bob(side(B, A, [topic(2), topic(3), topic(99), topic(100)]));
    const { aliceResult, bobResult } = runPair(a, b);
    const expected = new Set([topic(2), topic(99)]);
    expect(aliceResult?.topics).toEqual(expected);
    expect(bobResult?.topics).toEqual(expected);
    expect(aliceResult?.remoteNodeId).toBe(B);
    expect(bobResult?.remoteNodeId).toBe(A);
  });

  it("finds nothing when nothing is shared, and works with empty topic sets", () => {
    const r1 = runPair(alice(side(A, B, [topic(1)])), bob(side(B, A, [topic(2)])));
    expect(r1.aliceResult?.topics.size).toBe(0);
    expect(r1.bobResult?.topics.size).toBe(0);
    const r2 = runPair(alice(side(A, B, [])), bob(side(B, A, [])));
    expect(r2.aliceResult?.topics.size).toBe(0);
  });

  it("exchanges messages in the spec's order and Alice waits for Bob's close", () => {
    const { frames } = runPair(alice(side(A, B, [topic(1)])), bob(side(B, A, [topic(1)])));
    expect(
      frames.map((f) => `${f.from}:${f.message === "close" ? "close" : f.message.type}`),
    ).toEqual([
      "alice:alice-salt-half",
      "bob:bob-salt-half-and-hashes",
      "alice:alice-hashes",
      "bob:nodes",
      "alice:nodes",
      "alice:close",
      "bob:close",
    ]);
  });

  it("salts are aliceHalf ‖ bobHalf ‖ 0x00 / 0x01 and hashes are BLAKE3(topic ‖ salt)", () => {
    const { frames } = runPair(alice(side(A, B, [topic(7)])), bob(side(B, A, [topic(7)])));
    const m1 = frames[0]?.message as Extract<DiscoveryMessage, { type: "alice-salt-half" }>;
    const m2 = frames[1]?.message as Extract<
      DiscoveryMessage,
      { type: "bob-salt-half-and-hashes" }
    >;
    const m3 = frames[2]?.message as Extract<DiscoveryMessage, { type: "alice-hashes" }>;
    const t = Topic.toBytes(topic(7));
    const bobSalt = new Uint8Array([...m1.saltHalf, ...m2.saltHalf, 0x01]);
    const aliceSalt = new Uint8Array([...m1.saltHalf, ...m2.saltHalf, 0x00]);
    // One real hash among seven random ones (sets are padded to 8).
    const real = (hashes: readonly Uint8Array[], expected: Uint8Array) =>
      hashes.filter((h) => toHex(h) === toHex(expected));
    expect(m2.topicHashes).toHaveLength(8);
    expect(real(m2.topicHashes, hash(t, bobSalt))).toHaveLength(1);
    expect(m3.topicHashes).toHaveLength(8);
    expect(real(m3.topicHashes, hash(t, aliceSalt))).toHaveLength(1);
  });
});

describe("PSI-hash: confidentiality", () => {
  const T1 = Topic.random();
  const T2 = Topic.random();
  const T3 = Topic.random();

  function session(seed: number) {
    const a = new PsiAlice(side(A, B, [T1, T2], { rng: seededRng(seed) }));
    const b = new PsiBob(side(B, A, [T1, T3], { rng: seededRng(seed + 1000) }));
    const run = runPair(a, b);
    const bytes = run.frames.filter((f) => f.message !== "close").map((f) => encodeCbor(f.message));
    return { ...run, bytes };
  }

  it("both learn only T1", () => {
    const { aliceResult, bobResult } = session(1);
    expect(aliceResult?.topics).toEqual(new Set([T1]));
    expect(bobResult?.topics).toEqual(new Set([T1]));
  });

  it("no frame contains any topic or its unsalted BLAKE3 hash", () => {
    const { bytes } = session(2);
    expect(bytes.length).toBe(5);
    for (const t of [T1, T2, T3]) {
      const raw = Topic.toBytes(t);
      for (const needle of [raw, hash(raw)]) {
        for (const frame of bytes) expect(includesBytes(frame, needle)).toBe(false);
      }
    }
  });

  it("two sessions between the same nodes never repeat a hash", () => {
    const hashesOf = (run: ReturnType<typeof session>) =>
      run.frames.flatMap((f) =>
        f.message !== "close" && "topicHashes" in f.message
          ? f.message.topicHashes.map((h) => Topic.fromBytes(h))
          : [],
      );
    const first = hashesOf(session(3));
    const second = hashesOf(session(4));
    // Two topics on each side, each set padded to 8 hashes: 16 per session, 32 in both.
    expect(first.length).toBe(16);
    expect(second.length).toBe(16);
    expect(new Set([...first, ...second]).size).toBe(32);
  });

  it("Bob cannot pass Alice's own hashes back as his (the role byte)", () => {
    // A Bob who knows nothing replays Alice's hashes of step 3 into a second session: Alice must
    // not see a match, because her hashes are salted with 0x00 and Bob's with 0x01.
    const a = new PsiAlice(side(A, B, [T1], { rng: seededRng(9) }));
    const m1 = a.start().send[0] as Extract<DiscoveryMessage, { type: "alice-salt-half" }>;
    const bobHalf = new Uint8Array(32).fill(5);
    const aliceSalt = new Uint8Array([...m1.saltHalf, ...bobHalf, 0x00]);
    const replayed = [hash(Topic.toBytes(T1), aliceSalt)];
    a.receive({ type: "bob-salt-half-and-hashes", saltHalf: bobHalf, topicHashes: replayed });
    a.receive({ type: "nodes", transportInfos: [] });
    const out = a.remoteClosed();
    expect(out.result?.topics.size).toBe(0);
  });
});

describe("PSI-hash: transport infos (transport_info)", () => {
  // Alice {1}; Bob {1, 2}; Bob knows Charlie {1} and Daphne {2}. With shareNodesWithCommonTopics
  // Alice learns Bob and Charlie but not Daphne; Bob learns only Alice.
  const C = nodeId(0xc3);
  const D = nodeId(0xd4);
  const info = (id: NodeId) => ({ addresses: [`/memory/${id.slice(0, 4)}`], timestamp: 1 });

  function sharer(
    me: NodeId,
    remote: NodeId,
    infos: Map<NodeId, unknown>,
    topics: Map<NodeId, number[]>,
  ) {
    return (intersection: ReadonlySet<Topic>) =>
      selectInfosToShare({
        myNodeId: me,
        remoteNodeId: remote,
        intersection,
        shareNodesWithCommonTopics: true,
        allInfos: infos,
        nodesByTopics: (ts) =>
          [...topics].filter(([, t]) => t.some((n) => ts.has(topic(n)))).map(([id]) => id),
        max: 256,
        rng: seededRng(1),
      });
  }

  it("shares only nodes with a common topic, plus ourselves", () => {
    const aliceBook = new Map<NodeId, unknown>([[A, info(A)]]);
    const bobBook = new Map<NodeId, unknown>([
      [B, info(B)],
      [C, info(C)],
      [D, info(D)],
    ]);
    const bobTopics = new Map<NodeId, number[]>([
      [B, [1, 2]],
      [C, [1]],
      [D, [2]],
    ]);
    const a = alice(
      side(A, B, [topic(1)], { infosToShare: sharer(A, B, aliceBook, new Map([[A, [1]]])) }),
    );
    const b = bob(
      side(B, A, [topic(1), topic(2)], { infosToShare: sharer(B, A, bobBook, bobTopics) }),
    );
    const { aliceResult, bobResult } = runPair(a, b);
    expect([...(aliceResult?.transportInfos.keys() ?? [])].sort()).toEqual([B, C].sort());
    expect(aliceResult?.transportInfos.get(C)).toEqual(info(C));
    expect([...(bobResult?.transportInfos.keys() ?? [])]).toEqual([A]);
  });

  it("without the option shares every info, capped with a random sample that keeps our own", () => {
    const all = new Map<NodeId, unknown>();
    for (let i = 1; i <= 40; i++) all.set(nodeId(i), info(nodeId(i)));
    const picked = selectInfosToShare({
      myNodeId: nodeId(7),
      remoteNodeId: nodeId(8),
      intersection: new Set(),
      shareNodesWithCommonTopics: false,
      allInfos: all,
      nodesByTopics: () => [],
      max: 10,
      rng: seededRng(3),
    });
    expect(picked.size).toBe(10);
    expect(picked.has(nodeId(7))).toBe(true);
    expect(picked.has(nodeId(8))).toBe(false);
    const everything = selectInfosToShare({
      myNodeId: nodeId(7),
      remoteNodeId: nodeId(8),
      intersection: new Set(),
      shareNodesWithCommonTopics: false,
      allInfos: all,
      nodesByTopics: () => [],
      max: 256,
      rng: seededRng(3),
    });
    expect(everything.size).toBe(39);
  });

  it("cuts an oversized share to the cap, our own info first", () => {
    const many = new Map<NodeId, unknown>();
    for (let i = 1; i <= 20; i++) many.set(nodeId(i), { n: i });
    many.set(A, { own: true });
    const a = alice(side(A, B, [], { maxTransportInfos: 5, infosToShare: () => many }));
    const b = bob(side(B, A, [], { maxTransportInfos: 5 }));
    const { bobResult } = runPair(a, b);
    expect(bobResult?.transportInfos.size).toBe(5);
    expect(bobResult?.transportInfos.get(A)).toEqual({ own: true });
  });
});

// Valid sample messages of every kind, to feed where they do not belong.
const SAMPLES: Record<DiscoveryMessage["type"], DiscoveryMessage> = {
  "alice-salt-half": { type: "alice-salt-half", saltHalf: new Uint8Array(32) },
  "bob-salt-half-and-hashes": {
    type: "bob-salt-half-and-hashes",
    saltHalf: new Uint8Array(32),
    topicHashes: [],
  },
  "alice-hashes": { type: "alice-hashes", topicHashes: [] },
  nodes: { type: "nodes", transportInfos: [] },
};

/** Alice driven into each of her waiting states; `expected` is what that state accepts. */
function aliceAt(step: 0 | 1 | 2): {
  handshake: PsiHandshake;
  expected: DiscoveryMessage["type"] | "close";
} {
  const a = alice(side(A, B, [topic(1)]));
  a.start();
  if (step >= 1) a.receive(SAMPLES["bob-salt-half-and-hashes"]);
  if (step >= 2) a.receive(SAMPLES.nodes);
  const expected = (["bob-salt-half-and-hashes", "nodes", "close"] as const)[step];
  return { handshake: a, expected };
}

function bobAt(step: 0 | 1 | 2): { handshake: PsiHandshake; expected: DiscoveryMessage["type"] } {
  const b = bob(side(B, A, [topic(1)]));
  b.start();
  if (step >= 1) b.receive(SAMPLES["alice-salt-half"]);
  if (step >= 2) b.receive(SAMPLES["alice-hashes"]);
  const expected = (["alice-salt-half", "alice-hashes", "nodes"] as const)[step];
  return { handshake: b, expected };
}

describe("PSI-hash: each role's states, named by a closed union", () => {
  it("Alice and Bob go through their own states, in the spec's order", () => {
    const a = alice(side(A, B, [topic(1)]));
    const b = bob(side(B, A, [topic(1)]));
    const seen = { alice: [a.state], bob: [b.state] } as Record<"alice" | "bob", PsiState[]>;
    const note = () => {
      if (seen.alice.at(-1) !== a.state) seen.alice.push(a.state);
      if (seen.bob.at(-1) !== b.state) seen.bob.push(b.state);
    };
    const observed: PsiHandshake[] = [a, b];
    const step = <T>(fn: () => T): T => {
      const out = fn();
      note();
      return out;
    };
    const aOut = step(() => a.start());
    step(() => b.start());
    const bOut = step(() => b.receive(aOut.send[0] as DiscoveryMessage));
    const aOut2 = step(() => a.receive(bOut.send[0] as DiscoveryMessage));
    const bOut2 = step(() => b.receive(aOut2.send[0] as DiscoveryMessage));
    const aOut3 = step(() => a.receive(bOut2.send[0] as DiscoveryMessage));
    step(() => b.receive(aOut3.send[0] as DiscoveryMessage));
    step(() => a.remoteClosed());
    expect(seen.alice).toEqual([
      "initial",
      "awaiting-bob-salt-half-and-hashes",
      "awaiting-bob-nodes",
      "awaiting-bob-close",
      "finished",
    ]);
    expect(seen.bob).toEqual([
      "initial",
      "awaiting-alice-salt-half",
      "awaiting-alice-hashes",
      "awaiting-alice-nodes",
      "finished",
    ]);
    expect(observed.every((h) => h.finished)).toBe(true);
  });

  it("an unexpected input ends in failed; the error still names the state in words", () => {
    const a = alice(side(A, B, [topic(1)]));
    a.start();
    expect(() => a.receive(SAMPLES.nodes)).toThrow(
      `alice got "nodes" while awaiting bob's salt half and hashes`,
    );
    expect(a.state).toBe("failed");
    const b = bob(side(B, A, [topic(1)]));
    b.start();
    expect(() => b.remoteClosed()).toThrow(
      "remote closed while bob was awaiting alice's salt half",
    );
    expect(b.state).toBe("failed");
  });
});

describe("PSI-hash: any message out of order or of the wrong kind fails the session", () => {
  it("Alice answered with her own first message fails (topic_out_of_order_alice)", () => {
    const a = alice(side(A, B, [topic(1), topic(99)]));
    a.start();
    expectReason(
      () => a.receive({ type: "alice-salt-half", saltHalf: new Uint8Array(32) }),
      "unexpected-message",
    );
  });

  it("Bob opened with Alice's step 3 fails (topic_out_of_order_bob)", () => {
    const b = bob(side(B, A, [topic(1), topic(99)]));
    b.start();
    expectReason(() => b.receive({ type: "alice-hashes", topicHashes: [] }), "unexpected-message");
  });

  for (const step of [0, 1, 2] as const) {
    for (const kind of Object.keys(SAMPLES) as DiscoveryMessage["type"][]) {
      const probe = aliceAt(step);
      if (probe.expected === kind) continue;
      it(`Alice waiting for ${probe.expected} refuses ${kind}`, () => {
        const { handshake } = aliceAt(step);
        expectReason(() => handshake.receive(SAMPLES[kind]), "unexpected-message");
        // A failed handshake stays failed.
        expectReason(() => handshake.receive(SAMPLES[kind]), "unexpected-message");
        expect(handshake.finished).toBe(false);
      });
    }
    for (const kind of Object.keys(SAMPLES) as DiscoveryMessage["type"][]) {
      const probe = bobAt(step);
      if (probe.expected === kind) continue;
      it(`Bob waiting for ${probe.expected} refuses ${kind}`, () => {
        const { handshake } = bobAt(step);
        expectReason(() => handshake.receive(SAMPLES[kind]), "unexpected-message");
        expect(handshake.finished).toBe(false);
      });
    }
  }

  it("a finished Bob refuses anything more", () => {
    const { handshake } = bobAt(2);
    handshake.receive(SAMPLES.nodes);
    expect(handshake.finished).toBe(true);
    expectReason(() => handshake.receive(SAMPLES.nodes), "unexpected-message");
  });
});

describe("PSI-hash: the remote closing early fails the session", () => {
  for (const step of [0, 1] as const) {
    it(`Alice waiting for ${aliceAt(step).expected}`, () => {
      expectReason(() => aliceAt(step).handshake.remoteClosed(), "closed-early");
    });
  }
  for (const step of [0, 1, 2] as const) {
    it(`Bob waiting for ${bobAt(step).expected}`, () => {
      expectReason(() => bobAt(step).handshake.remoteClosed(), "closed-early");
    });
  }
  it("Alice's expected end is Bob's close", () => {
    const out = aliceAt(2).handshake.remoteClosed();
    expect(out.result).toBeDefined();
  });
});

describe("decodeDiscoveryMessage: shape and caps, checked before processing", () => {
  const id = (n: number) => new Uint8Array(32).fill(n);

  it("accepts every well-formed message", () => {
    for (const m of Object.values(SAMPLES)) expect(decodeDiscoveryMessage(m)).toBe(m);
    const nodes = { type: "nodes", transportInfos: [[id(1), { any: "thing" }]] };
    expect(decodeDiscoveryMessage(nodes)).toBe(nodes);
  });

  it("refuses a topic set over the cap (default 1,024) without looking at the elements", () => {
    const hashes = Array.from({ length: 1025 }, () => new Uint8Array(32));
    expectReason(
      () => decodeDiscoveryMessage({ type: "alice-hashes", topicHashes: hashes }),
      "too-many-topic-hashes",
    );
    expect(() =>
      decodeDiscoveryMessage({ type: "alice-hashes", topicHashes: hashes.slice(1) }),
    ).not.toThrow();
    const junk = new Array(2000).fill(null);
    expectReason(
      () =>
        decodeDiscoveryMessage({
          type: "bob-salt-half-and-hashes",
          saltHalf: id(0),
          topicHashes: junk,
        }),
      "too-many-topic-hashes",
    );
    expectReason(
      () =>
        decodeDiscoveryMessage(
          { type: "alice-hashes", topicHashes: hashes.slice(0, 11) },
          { maxTopicHashes: 10 },
        ),
      "too-many-topic-hashes",
    );
  });

  it("refuses a node list over the cap (default 256)", () => {
    const pairs = Array.from({ length: 257 }, (_, i) => [
      new Uint8Array(32).fill(0).map((_, j) => (j === 0 ? i & 255 : j === 1 ? i >> 8 : 0)),
      {},
    ]);
    expectReason(
      () => decodeDiscoveryMessage({ type: "nodes", transportInfos: pairs }),
      "too-many-transport-infos",
    );
    expect(() =>
      decodeDiscoveryMessage({ type: "nodes", transportInfos: pairs.slice(1) }),
    ).not.toThrow();
    expectReason(
      () =>
        decodeDiscoveryMessage(
          { type: "nodes", transportInfos: pairs.slice(0, 3) },
          { maxTransportInfos: 2 },
        ),
      "too-many-transport-infos",
    );
  });

  const malformed: [string, unknown][] = [
    ["undefined", undefined],
    ["null", null],
    ["a number", 7],
    ["a string", "alice-salt-half"],
    ["an array", ["alice-salt-half", new Uint8Array(32)]],
    ["bytes", new Uint8Array(32)],
    ["no type", { saltHalf: id(0) }],
    ["an unknown type", { type: "bob-hashes", topicHashes: [] }],
    ["a non-string type", { type: 1, saltHalf: id(0) }],
    ["a missing field", { type: "bob-salt-half-and-hashes", saltHalf: id(0) }],
    ["an extra field", { type: "alice-salt-half", saltHalf: id(0), topics: [] }],
    ["a short salt half", { type: "alice-salt-half", saltHalf: new Uint8Array(31) }],
    ["a long salt half", { type: "alice-salt-half", saltHalf: new Uint8Array(33) }],
    ["a salt half as array", { type: "alice-salt-half", saltHalf: Array.from(id(0)) }],
    ["topicHashes not an array", { type: "alice-hashes", topicHashes: id(0) }],
    ["a short topic hash", { type: "alice-hashes", topicHashes: [new Uint8Array(16)] }],
    ["a topic hash as string", { type: "alice-hashes", topicHashes: ["ab".repeat(32)] }],
    ["transportInfos not an array", { type: "nodes", transportInfos: {} }],
    ["a pair of three", { type: "nodes", transportInfos: [[id(1), {}, 1]] }],
    ["a pair as object", { type: "nodes", transportInfos: [{ id: id(1), info: {} }] }],
    ["a short node id", { type: "nodes", transportInfos: [[new Uint8Array(31), {}]] }],
    ["a hex node id", { type: "nodes", transportInfos: [["01".repeat(32), {}]] }],
    ["a null info", { type: "nodes", transportInfos: [[id(1), null]] }],
    [
      "the same node twice",
      {
        type: "nodes",
        transportInfos: [
          [id(1), {}],
          [id(2), {}],
          [id(1), {}],
        ],
      },
    ],
  ];
  for (const [what, value] of malformed) {
    it(`refuses ${what}`, () =>
      expectReason(() => decodeDiscoveryMessage(value), "malformed-message"));
  }

  it("tells apart distinct node ids that share their first bytes", () => {
    const a = id(1);
    const b = id(1);
    b[31] = 2;
    expect(() =>
      decodeDiscoveryMessage({
        type: "nodes",
        transportInfos: [
          [a, {}],
          [b, {}],
        ],
      }),
    ).not.toThrow();
  });
});

describe("runDiscoverySession over a MessageChannel", () => {
  it("runs both roles over framed CBOR and ends with both results", async () => {
    const [ca, cb] = memoryChannelPair(A, B);
    const infoA = { addresses: ["/memory/a"] };
    const [ra, rb] = await Promise.all([
      runDiscoverySession(
        ca,
        alice(side(A, B, [topic(1), topic(2)], { infosToShare: () => new Map([[A, infoA]]) })),
      ),
      runDiscoverySession(cb, bob(side(B, A, [topic(2), topic(3)]))),
    ]);
    expect(ra.topics).toEqual(new Set([topic(2)]));
    expect(rb.topics).toEqual(new Set([topic(2)]));
    expect(rb.transportInfos.get(A)).toEqual(infoA);
  });

  it("fails with closed-early when the remote closes mid-session", async () => {
    const [ca, cb] = memoryChannelPair(A, B);
    const running = runDiscoverySession(ca, alice(side(A, B, [topic(1)])));
    expect(await cb.receive()).toMatchObject({ type: "alice-salt-half" });
    await cb.close();
    await expect(running).rejects.toMatchObject({ reason: "closed-early" });
  });

  it("fails with malformed-message on a wrong shape and aborts the channel", async () => {
    const [ca, cb] = memoryChannelPair(A, B);
    const running = runDiscoverySession(cb, bob(side(B, A, [topic(1)])));
    await ca.send({ type: "alice-salt-half", saltHalf: new Uint8Array(3) });
    await expect(running).rejects.toMatchObject({ reason: "malformed-message" });
    await expect(ca.receive()).rejects.toThrow();
  });

  it("fails with the cap's reason when the remote sends too many hashes", async () => {
    const [ca, cb] = memoryChannelPair(A, B);
    const running = runDiscoverySession(cb, bob(side(B, A, [topic(1)])), { maxTopicHashes: 4 });
    await ca.send(SAMPLES["alice-salt-half"]);
    await ca.receive();
    await ca.send({
      type: "alice-hashes",
      topicHashes: Array.from({ length: 5 }, () => new Uint8Array(32)),
    });
    await expect(running).rejects.toMatchObject({ reason: "too-many-topic-hashes" });
  });

  it("a stalled peer: aborting the signal (the manager's timeout) fails the session with its reason", async () => {
    const [ca] = memoryChannelPair(A, B);
    const controller = new AbortController();
    const running = runDiscoverySession(ca, alice(side(A, B, [topic(1)])), {
      signal: controller.signal,
    });
    controller.abort(new DiscoveryProtocolError("timeout", "stalled"));
    await expect(running).rejects.toMatchObject({ reason: "timeout" });
  });

  it("a stalled peer: the channel's receive timeout fails the session with timeout", async () => {
    const [ca] = memoryChannelPair(A, B, { receiveTimeoutMs: 30 });
    const error = await runDiscoverySession(ca, alice(side(A, B, [topic(1)]))).catch((e) => e);
    expect(error).toBeInstanceOf(DiscoveryProtocolError);
    expect(error.reason).toBe("timeout");
    expect(error.cause?.code).toBe("STREAM_STALLED");
  });

  it("a stalled peer: no receive waits past the session's deadline, whatever the channel allows", async () => {
    const [ca] = memoryChannelPair(A, B, { receiveTimeoutMs: 0 });
    const started = Date.now();
    const error = await runDiscoverySession(ca, alice(side(A, B, [topic(1)])), {
      deadline: started + 50,
    }).catch((e) => e);
    expect(error.reason).toBe("timeout");
    expect(error.cause?.code).toBe("STREAM_STALLED");
  });
});

describe("PSI-hash: padded hash sets hide the number of topics", () => {
  const sentSizes = (myTopics: Topic[], maxTopicHashes?: number) => {
    const limits = maxTopicHashes !== undefined ? { maxTopicHashes } : {};
    const a = new PsiAlice(side(A, B, myTopics, { rng: seededRng(1), ...limits }));
    const b = new PsiBob(side(B, A, myTopics, { rng: seededRng(2), ...limits }));
    const { frames, aliceResult } = runPair(a, b);
    const sizes = frames.flatMap((f) =>
      f.message !== "close" && "topicHashes" in f.message ? [f.message.topicHashes.length] : [],
    );
    return { sizes, topics: aliceResult?.topics };
  };
  const distinct = (n: number) =>
    Array.from({ length: n }, (_, i) =>
      Topic.fromBytes(new Uint8Array(32).fill(i % 256, 0, 2).fill(i >> 8, 2, 3)),
    );

  it.each([
    [0, 8],
    [1, 8],
    [2, 8],
    [8, 8],
    [9, 16],
    [16, 16],
    [17, 32],
    [600, 1024],
    [1024, 1024],
  ])("%i topics go out as %i hashes, from both roles", (count, padded) => {
    const { sizes } = sentSizes(distinct(count));
    expect(sizes).toEqual([padded, padded]);
  });

  it("padding never matches: the intersection is exactly the shared topics", () => {
    const a = new PsiAlice(side(A, B, [topic(1), topic(2)], { rng: seededRng(5) }));
    const b = new PsiBob(side(B, A, [topic(2), topic(3), topic(4)], { rng: seededRng(6) }));
    const { aliceResult, bobResult } = runPair(a, b);
    expect(aliceResult?.topics).toEqual(new Set([topic(2)]));
    expect(bobResult?.topics).toEqual(new Set([topic(2)]));
  });

  it("pads at most to the cap on received sets, which still holds", () => {
    // A cap of 12: 9 topics are padded to 12, not 16, so a peer with the same cap accepts them.
    expect(sentSizes(distinct(9), 12).sizes).toEqual([12, 12]);
    expect(sentSizes(distinct(3), 4).sizes).toEqual([4, 4]);
    // Padding is new hashes each session: no padding hash repeats across two sessions.
    const padOf = (seed: number) => {
      const bob = new PsiBob(side(B, A, [topic(1)], { rng: seededRng(seed) }));
      bob.start();
      const [sent] = bob.receive({ type: "alice-salt-half", saltHalf: new Uint8Array(32) })
        .send as [Extract<DiscoveryMessage, { type: "bob-salt-half-and-hashes" }>];
      return sent.topicHashes.map((h) => Topic.fromBytes(h));
    };
    expect(new Set([...padOf(1), ...padOf(2)]).size).toBe(16);
    // And a remote's set above the cap is still refused (see the cap tests above).
    expectReason(
      () =>
        decodeDiscoveryMessage(
          {
            type: "alice-hashes",
            topicHashes: Array.from({ length: 9 }, () => new Uint8Array(32)),
          },
          { maxTopicHashes: 8 },
        ),
      "too-many-topic-hashes",
    );
  });
});

import { describe, expect, it } from "vitest";
import { concatBytes } from "../../src/bytes.ts";
import { framedChannel, type MessageChannel } from "../../src/codec/message-channel.ts";
import { streamDuplex } from "../../src/endpoint/stream-duplex.ts";
import type { GossipService } from "../../src/gossip/gossip-service.ts";
import { ProtocolName, protocolId } from "../../src/ids/network-id.ts";
import { NodeId } from "../../src/ids/node-id.ts";
import { Topic } from "../../src/ids/topic.ts";
import { transportKind } from "../../src/records/transport-info.ts";
import { encodeSyncMessage, type TopicSyncMessage } from "../../src/sync/messages.ts";
import { createOperation, type Operation } from "../../src/sync/operation.ts";
import type { SyncServiceEvent } from "../../src/sync/service-events.ts";
import { SyncSession } from "../../src/sync/session.ts";
import { MemoryLogStore, MemoryTopicStore } from "../../src/sync/store/memory.ts";
import type { SyncService } from "../../src/sync/sync-service.ts";
import { failOnUnhandledRejections } from "../unhandled-rejections.ts";
import { libp2pNodes, type Node } from "./libp2p-nodes.ts";

const topic = Topic.fromName("hostile sync peers");

interface Target extends Node {
  readonly sync: SyncService;
  readonly gossip: GossipService;
  readonly events: SyncServiceEvent[];
  readonly address: string;
  readonly published: Operation;
  readonly logStore: MemoryLogStore;
}

failOnUnhandledRejections();
const { node } = libp2pNodes();

/** A node that syncs `topic` (live mode) and holds one operation of its own. */
async function target(options: { maxAcceptedSessions?: number } = {}): Promise<Target> {
  const logStore = new MemoryLogStore();
  const n = await node([], {
    sync: { stores: { logStore, topicStore: new MemoryTopicStore() }, ...options },
  });
  const { gossip, sync } = n.node;
  const events: SyncServiceEvent[] = [];
  sync.events$.subscribe((e) => events.push(e));
  const handle = await sync.stream(topic);
  const published = await handle.publish(new TextEncoder().encode("the target's own"));
  const address = n.endpoint.addresses().find((a) => transportKind(a) === "websockets");
  if (address === undefined) throw new Error("no WebSocket address");
  return { ...n, sync, gossip, events, address, published, logStore };
}

/** A raw sync stream from `from` to `to`: bytes as we like them, and framed messages. */
async function rawStream(from: Node, to: Target) {
  const stream = await from.endpoint.libp2p.dialProtocol(
    NodeId.toPeerId(to.identity.nodeId),
    protocolId(ProtocolName.logSync, from.endpoint.networkId),
  );
  const duplex = streamDuplex(stream);
  const channel: MessageChannel = framedChannel(to.identity.nodeId, duplex);
  const send = (...messages: TopicSyncMessage[]) =>
    Promise.all(messages.map((m) => channel.send(encodeSyncMessage(m))));
  return { duplex, channel, send };
}

/** An honest peer syncs the topic once with `t`: resolves with how long it took, in ms. */
async function honestSync(t: Target): Promise<number> {
  const honest = await node([t.address]);
  const logStore = new MemoryLogStore();
  const begin = performance.now();
  const channel = await honest.endpoint.connect(t.identity.nodeId, ProtocolName.logSync);
  const session = new SyncSession({
    role: "initiator",
    topic,
    logStore,
    topicStore: new MemoryTopicStore(),
  });
  await session.run(channel);
  const elapsed = performance.now() - begin;
  const got = await logStore.latest(t.identity.nodeId, topic as string);
  expect(got?.hash).toEqual(t.published.hash);
  return elapsed;
}

/** Waits for the target to refuse `attacker` and checks the bookkeeping. */
async function expectRefused(t: Target, attacker: Node, code: string): Promise<void> {
  const remote = attacker.identity.nodeId;
  await expect
    .poll(() => t.events.find((e) => e.type === "sync:peer-refused" && e.remote === remote), {
      timeout: 15_000,
    })
    .toMatchObject({ code });
  expect(t.sync.isCoolingDown(remote)).toBe(true);
  expect(t.sync.metrics.protocolViolations).toBe(1);
  expect(t.events).toContainEqual(
    expect.objectContaining({
      type: "sync:failed",
      remote,
      error: expect.objectContaining({ code }),
    }),
  );
  // Its next session is refused at once.
  const again = await rawStream(attacker, t);
  await expect(again.channel.receive()).rejects.toBeDefined();
  expect(t.sync.metrics.sessionsRefused).toBe(1);
}

/** The error the target's session with `attacker` failed with. */
function failureOf(t: Target, attacker: Node): Error | undefined {
  const failed = t.events.find(
    (e) => e.type === "sync:failed" && e.remote === attacker.identity.nodeId,
  );
  return failed?.type === "sync:failed" ? failed.error : undefined;
}

const handshake: TopicSyncMessage[] = [{ type: "topic", topic }, { type: "done" }];

/** CBOR: `depth` nested one-entry maps `{"a": {"a": … null}}`. */
function nestedMaps(depth: number): Uint8Array {
  const out = new Uint8Array(depth * 3 + 1);
  for (let i = 0; i < depth; i++) out.set([0xa1, 0x61, 0x61], i * 3);
  out[depth * 3] = 0xf6;
  return out;
}

describe("malformed input is the remote's fault: session ended, counted, cool-down; the node syncs on", () => {
  it("(a) an operation header whose extensions nest 3,000 maps deep", async () => {
    const t = await target();
    const attacker = await node([t.address]);
    const { send } = await rawStream(attacker, t);
    // [version 1, key, signature, payloadSize 0, timestamp, seqNum 0, extensions]
    const header = concatBytes(
      new Uint8Array([0x87, 0x01, 0x58, 0x20]),
      attacker.identity.publicKey,
      new Uint8Array([0x58, 0x40]),
      new Uint8Array(64),
      new Uint8Array([0x00, 0x1a, 0x65, 0x00, 0x00, 0x00, 0x00]),
      nestedMaps(3_000),
    );
    await send(
      ...handshake,
      { type: "have", heights: [] },
      { type: "presync", totalOperations: 1, totalBytes: 100_000 },
      { type: "op", header },
    );
    await expectRefused(t, attacker, "DECODE_ERROR");
    expect(failureOf(t, attacker)?.message).toMatch(/nesting deeper than 32/);
    expect(await honestSync(t)).toBeLessThan(5_000);
  });

  it("(b) a map with a __proto__ key followed by a byte string", async () => {
    const t = await target();
    const attacker = await node([t.address]);
    const { duplex } = await rawStream(attacker, t);
    // {"__proto__": h'0102'}: a key that would reach Object.prototype if decoded naively.
    const message = new Uint8Array([
      0xa1,
      0x69,
      ...new TextEncoder().encode("__proto__"),
      0x42,
      0x01,
      0x02,
    ]);
    await duplex.write(concatBytes(new Uint8Array([message.length]), message));
    await expectRefused(t, attacker, "DECODE_ERROR");
    expect(failureOf(t, attacker)?.message).toMatch(/__proto__/);
    expect(await honestSync(t)).toBeLessThan(5_000);
  });

  it("(c) a frame announcing more than 1 MiB", async () => {
    const t = await target();
    const attacker = await node([t.address]);
    const { duplex } = await rawStream(attacker, t);
    // Varint 2 MiB, then a few bytes: refused from the prefix, before anything is buffered.
    await duplex.write(new Uint8Array([0x80, 0x80, 0x80, 0x01, 1, 2, 3]));
    await expectRefused(t, attacker, "FRAME_TOO_LARGE");
    expect(await honestSync(t)).toBeLessThan(5_000);
  });

  it("(d) messages out of protocol order", async () => {
    const t = await target();
    const attacker = await node([t.address]);
    const { send } = await rawStream(attacker, t);
    // PreSync before Have.
    await send(...handshake, { type: "presync", totalOperations: 1, totalBytes: 10 });
    await expectRefused(t, attacker, "UNEXPECTED_MESSAGE");
    expect(await honestSync(t)).toBeLessThan(5_000);
  });
});

describe("every sync stream has a receive deadline: a stalling peer is at fault", () => {
  it("(e) a peer that opens a session and stays silent", async () => {
    const t = await target();
    const attacker = await node([t.address]);
    const opened = performance.now();
    await rawStream(attacker, t);
    await expectRefused(t, attacker, "STREAM_STALLED");
    // The first message has a deadline of its own (3 s), shorter than the channel's 10 s.
    expect(performance.now() - opened).toBeLessThan(5_000);
    expect(await honestSync(t)).toBeLessThan(5_000);
  });

  it("(e) a peer that stalls in the middle of a frame during the sync phase", async () => {
    const t = await target();
    const attacker = await node([t.address]);
    const { send, duplex } = await rawStream(attacker, t);
    await send(...handshake);
    await duplex.write(new Uint8Array([0x40, 0x82]));
    await expectRefused(t, attacker, "STREAM_STALLED");
    const failed = t.events.find(
      (e) => e.type === "sync:failed" && e.remote === attacker.identity.nodeId,
    );
    expect(failed).toMatchObject({ error: { midFrame: true } });
    expect(await honestSync(t)).toBeLessThan(5_000);
  }, 20_000);

  it("(e) a peer that stalls in the middle of a frame in live mode (where idle is allowed)", async () => {
    const t = await target();
    const attacker = await node([t.address]);
    const { send, duplex } = await rawStream(attacker, t);
    await send(...handshake, { type: "have", heights: [] }, { type: "done" });
    await expect
      .poll(() =>
        t.events.some(
          (e) => e.type === "sync:live-started" && e.remote === attacker.identity.nodeId,
        ),
      )
      .toBe(true);
    const stalled = performance.now();
    await duplex.write(new Uint8Array([0x40, 0x82]));
    await expectRefused(t, attacker, "STREAM_STALLED");
    // The frame deadline (10 s) holds although live mode waits for messages without one.
    expect(performance.now() - stalled).toBeLessThan(12_000);
    const failed = t.events.find(
      (e) => e.type === "sync:failed" && e.remote === attacker.identity.nodeId,
    );
    expect(failed).toMatchObject({ error: { midFrame: true } });
    expect(await honestSync(t)).toBeLessThan(5_000);
  }, 20_000);
});

describe("live mode accepts only operations of the session topic's logs", () => {
  it("(f) in the sync phase, an operation of a log it did not announce", async () => {
    const t = await target();
    const attacker = await node([t.address]);
    const { send } = await rawStream(attacker, t);
    const unannounced = await createOperation(attacker.identity, {
      payload: new TextEncoder().encode("never announced"),
      logId: topic as string,
      seqNum: 0,
      timestamp: Date.now() * 1000,
    });
    await send(
      ...handshake,
      { type: "have", heights: [] },
      { type: "presync", totalOperations: 1, totalBytes: 10_000 },
      { type: "op", header: unannounced.headerBytes, body: unannounced.body as Uint8Array },
    );
    await expectRefused(t, attacker, "UNEXPECTED_OPERATION");
    expect(await t.logStore.latest(attacker.identity.nodeId, topic as string)).toBeUndefined();
    expect(await honestSync(t)).toBeLessThan(5_000);
  });

  it("(f) an operation of a foreign log in live mode", async () => {
    const t = await target();
    const attacker = await node([t.address]);
    const { send } = await rawStream(attacker, t);
    const foreign = await createOperation(attacker.identity, {
      payload: new TextEncoder().encode("not this topic's"),
      logId: "another topic's log",
      seqNum: 0,
      timestamp: Date.now() * 1000,
    });
    await send(...handshake, { type: "have", heights: [] }, { type: "done" });
    await expect
      .poll(() =>
        t.events.some(
          (e) => e.type === "sync:live-started" && e.remote === attacker.identity.nodeId,
        ),
      )
      .toBe(true);
    await send({ type: "live", header: foreign.headerBytes, body: foreign.body as Uint8Array });
    await expectRefused(t, attacker, "FOREIGN_LOG");
    expect(
      await t.logStore.latest(attacker.identity.nodeId, "another topic's log"),
    ).toBeUndefined();
    expect(await honestSync(t)).toBeLessThan(5_000);
  });
});

// A session that fails through the remote's fault puts the remote on cool-down: no new session
// with it in either direction for a while, counted, with an event carrying the typed reason.
// Failures that are not its fault are retried after the short delay, as before.
import { afterEach, describe, expect, it } from "vitest";
import { DecodeError } from "../../src/codec/cbor.ts";
import { FrameTooLargeError } from "../../src/codec/framing.ts";
import { ChannelClosedError, StreamStalledError } from "../../src/codec/message-channel.ts";
import { WriteStalledError } from "../../src/endpoint/errors.ts";
import { ProtocolName } from "../../src/ids/network-id.ts";
import type { NodeId } from "../../src/ids/node-id.ts";
import { Topic } from "../../src/ids/topic.ts";
import { MAX_COOL_DOWN_ENTRIES, PeerCoolDown } from "../../src/peer-cool-down.ts";
import { VirtualRuntime } from "../../src/runtime/runtime.ts";
import {
  AnnouncedTotalsExceededError,
  ForeignLogError,
  OperationTooLargeError,
  SessionAbortedError,
  SyncProtocolError,
  SyncSessionEvictedError,
  SyncStoppedError,
  TooManyLogsError,
  TopicNotSubscribedError,
  UnexpectedOperationError,
  UnexpectedStreamClosureError,
} from "../../src/sync/errors.ts";
import { isRemoteFault } from "../../src/sync/remote-fault.ts";
import type { SyncServiceEvent } from "../../src/sync/service-events.ts";
import { MemoryLogStore } from "../../src/sync/store/memory.ts";
import { SignatureMismatchError } from "../../src/sync/validation.ts";
import { holds, nextSyncEvent, SyncCluster, type SyncNode, text } from "./service-helpers.ts";

const topic = Topic.fromName("cool-down");
let cluster: SyncCluster;

afterEach(async () => {
  await cluster?.stop();
});

/** Two nodes; `a` has the smaller id, so it is the one that initiates their sessions. */
async function pair(
  options: { coolDownMs?: number; logStore?: MemoryLogStore; runtime?: VirtualRuntime } = {},
) {
  cluster = new SyncCluster();
  const node = {
    coolDownMs: options.coolDownMs ?? 60_000,
    ...(options.runtime !== undefined ? { runtime: options.runtime } : {}),
  };
  const n1 = await cluster.add(node);
  const n2 = await cluster.add(node);
  const [a, m] = n1.id < n2.id ? [n1, n2] : [n2, n1];
  return { a: a as SyncNode, m: m as SyncNode };
}

function refusedEvents(node: SyncNode) {
  return node.syncEvents.filter(
    (e): e is Extract<SyncServiceEvent, { type: "sync:peer-refused" }> =>
      e.type === "sync:peer-refused",
  );
}

describe("a session failed through the remote's fault puts the remote on cool-down", () => {
  it("counted, with an event carrying the typed reason; its new sessions are refused", async () => {
    const { a, m } = await pair();
    await a.sync.stream(topic);
    const refused = nextSyncEvent(a, (e) => e.type === "sync:peer-refused");
    const evil = await cluster.network.endpoint(m.id).connect(a.id, ProtocolName.logSync);
    await evil.send({ not: "a sync message" });
    const event = await refused;
    expect(event).toMatchObject({ remote: m.id, code: "DECODE_ERROR" });
    if (event.type === "sync:peer-refused") {
      expect(isRemoteFault(event.error)).toBe(true);
      expect(event.until).toBeGreaterThan(Date.now() + 50_000);
    }
    expect(a.sync.metrics).toMatchObject({ protocolViolations: 1, refusedPeers: 1 });
    expect(a.sync.isCoolingDown(m.id)).toBe(true);

    const again = await cluster.network.endpoint(m.id).connect(a.id, ProtocolName.logSync);
    await expect(again.receive()).rejects.toMatchObject({ code: "SYNC_SESSION_REFUSED" });
    expect(a.sync.metrics.sessionsRefused).toBe(1);
  });

  it("we initiate no session with it until the cool-down is over, then sync again", async () => {
    // In virtual time: the cool-down is waited out to the millisecond, without waiting.
    const runtime = new VirtualRuntime();
    const { a, m } = await pair({ coolDownMs: 1_500, runtime });
    const ha = await a.sync.stream(topic);
    const evil = await cluster.network.endpoint(m.id).connect(a.id, ProtocolName.logSync);
    const refused = nextSyncEvent(a, (e) => e.type === "sync:peer-refused");
    await evil.send({ not: "a sync message" });
    await refused;
    const scheduled = nextSyncEvent(a, (e) => e.type === "sync:retry-scheduled");
    const hm = await m.sync.stream(topic);
    await cluster.meshKnown(topic);
    const retry = await scheduled;
    // Not the 100 ms retry of an honest failure: what is left of the cool-down.
    expect(retry).toMatchObject({ remote: m.id });
    if (retry.type === "sync:retry-scheduled") expect(retry.delayMs).toBeGreaterThan(500);
    expect(a.sync.metrics.sessionsInitiated).toBe(0);
    await ha.publish(text("after the cool-down"));
    await runtime.advance(1_499);
    expect(a.sync.metrics.sessionsInitiated).toBe(0);
    await runtime.advance(1);
    await holds(hm, 1);
    expect(a.sync.metrics.sessionsInitiated).toBe(1);
  });
});

describe("a failure that is not the remote's fault costs it nothing", () => {
  it("our store failing: no cool-down, retried after the short delay", async () => {
    const failing = new MemoryLogStore();
    let broken = true;
    const heights = failing.heights.bind(failing);
    failing.heights = (logs) => (broken ? Promise.reject(new Error("disk full")) : heights(logs));
    cluster = new SyncCluster();
    const n1 = await cluster.add({ logStore: failing });
    const n2 = await cluster.add();
    const ha = await n1.sync.stream(topic);
    const hb = await n2.sync.stream(topic);
    const retried = nextSyncEvent(n1, (e) => e.type === "sync:retry-scheduled");
    const retriedB = nextSyncEvent(n2, (e) => e.type === "sync:retry-scheduled");
    await cluster.meshKnown(topic);
    const retry = await Promise.race([retried, retriedB]);
    if (retry.type === "sync:retry-scheduled") expect(retry.delayMs).toBe(100);
    broken = false;
    await ha.publish(text("stored at last"));
    await holds(hb, 1);
    for (const n of [n1, n2]) {
      expect(n.sync.metrics.protocolViolations).toBe(0);
      expect(refusedEvents(n)).toEqual([]);
    }
    expect(n2.sync.isCoolingDown(n1.id)).toBe(false);
  });

  it("the stream breaking (the remote's network goes away mid-session): no cool-down", async () => {
    const { a, m } = await pair();
    await a.sync.stream(topic);
    await m.sync.stream(topic);
    await cluster.meshKnown(topic);
    await Promise.all([
      nextSyncEvent(a, (e) => e.type === "sync:live-started"),
      nextSyncEvent(m, (e) => e.type === "sync:live-started"),
    ]);
    const failed = nextSyncEvent(a, (e) => e.type === "sync:failed");
    cluster.network.setOffline(m.id, true);
    await failed;
    // The service judges the failure once the session's run has settled.
    await expect.poll(() => a.sync.sessions().length).toBe(0);
    expect(a.sync.isCoolingDown(m.id)).toBe(false);
    expect(a.sync.metrics.protocolViolations).toBe(0);
    expect(refusedEvents(a)).toEqual([]);
  });
});

describe("isRemoteFault: which failures are the remote's doing", () => {
  const remote = "bb".repeat(32) as NodeId;
  it.each([
    ["malformed CBOR", new DecodeError("nesting deeper than 32")],
    ["an oversized frame", new FrameTooLargeError(2 ** 21, 2 ** 20)],
    ["a stall", new StreamStalledError(10_000, true)],
    ["a message out of order", new SyncProtocolError("log-sync/in:await-have", "presync")],
    ["an operation it was not asked for", new UnexpectedOperationError("log-sync", "no")],
    ["a foreign log in live mode", new ForeignLogError()],
    ["an invalid operation", new SignatureMismatchError()],
    ["an operation too large", new OperationTooLargeError(2, 1)],
    ["a Have too long", new TooManyLogsError(2, 1)],
    ["more than it announced", new AnnouncedTotalsExceededError("bytes", 1)],
    [
      "not reading what we write",
      new ChannelClosedError("stream closed while sending", { cause: new WriteStalledError(1) }),
    ],
  ])("%s is", (_, error) => {
    expect(isRemoteFault(error)).toBe(true);
  });

  it.each([
    ["the stream closing early", new UnexpectedStreamClosureError("sync")],
    [
      "the stream resetting",
      new ChannelClosedError("stream failed", { cause: new Error("reset") }),
    ],
    ["our own abort", new SessionAbortedError()],
    ["our stop", new SyncStoppedError()],
    ["eviction to make room", new SyncSessionEvictedError(remote)],
    ["a topic we do not sync", new TopicNotSubscribedError()],
    ["our store failing", new Error("disk full")],
    ["a bug of ours", new TypeError("x is undefined")],
  ])("%s is not", (_, error) => {
    expect(isRemoteFault(error)).toBe(false);
  });
});

describe("PeerCoolDown", () => {
  const node = (i: number) => i.toString(16).padStart(64, "0") as NodeId;

  it("ends after its duration", () => {
    const cool = new PeerCoolDown(1_000);
    cool.add(node(1), 5_000);
    expect(cool.has(node(1), 5_999)).toBe(true);
    expect(cool.has(node(1), 6_000)).toBe(false);
    expect(cool.has(node(2), 5_500)).toBe(false);
  });

  it("remembers a bounded number of peers, forgetting the oldest first", () => {
    const cool = new PeerCoolDown(60_000);
    for (let i = 0; i <= MAX_COOL_DOWN_ENTRIES; i++) cool.add(node(i), 0);
    expect(cool.size).toBe(MAX_COOL_DOWN_ENTRIES);
    expect(cool.has(node(0), 1)).toBe(false);
    expect(cool.has(node(MAX_COOL_DOWN_ENTRIES), 1)).toBe(true);
  });
});

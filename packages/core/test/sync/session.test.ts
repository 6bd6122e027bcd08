import { describe, expect, it } from "vitest";
import { memoryChannelPair } from "../../src/codec/message-channel.ts";
import { Topic } from "../../src/ids/topic.ts";
import {
  ForeignLogError,
  SyncProtocolError,
  TopicNotSubscribedError,
  UnexpectedStreamClosureError,
} from "../../src/sync/errors.ts";
import type { OperationReceivedEvent, SyncEvent } from "../../src/sync/events.ts";
import type { Operation } from "../../src/sync/operation.ts";
import { operationSize } from "../../src/sync/operation.ts";
import type { LogStore } from "../../src/sync/store/log-store.ts";
import { collect, handshake, Peer, runPair, runScripted, types } from "./helpers.ts";

const topic = Topic.fromName("session tests");
const opMsg = (op: Operation, type: "op" | "live" = "op") => ({
  type,
  header: op.headerBytes,
  ...(op.body !== undefined ? { body: op.body } : {}),
});
const received = (events: SyncEvent[]) =>
  events.filter((e): e is OperationReceivedEvent => e.type === "sync:operation-received");

describe("log sync (upstream log_sync.rs)", () => {
  it("log_sync_no_operations", async () => {
    const peer = await Peer.create(1);
    const session = peer.session({ role: "acceptor" });
    const events = collect(session);
    const { metrics, sent, error } = await runScripted(session, [
      ...handshake(topic),
      { type: "have", heights: [] },
      { type: "done" },
    ]);
    expect(error).toBeUndefined();
    expect(sent).toEqual([{ type: "done" }, { type: "have", heights: [] }, { type: "done" }]);
    expect(metrics).toMatchObject({
      outboundOperations: 0,
      inboundOperations: 0,
      outboundBytes: 0,
      inboundBytes: 0,
    });
    expect(types(events)).toEqual(["sync:session-started", "sync:started", "sync:finished"]);
  });

  it("log_sync_some_operations: Have, PreSync with exact totals, each operation as stored, Done", async () => {
    const peer = await Peer.create(1);
    const ops = [
      await peer.write("Hello, Sloth!", 0, topic),
      await peer.write("Hello, Sloth!", 0, topic),
      await peer.write("Hello, Sloth!", 0, topic),
    ];
    const expectedBytes = ops.reduce((n, o) => n + operationSize(o), 0);
    const session = peer.session({ role: "acceptor" });
    const events = collect(session);
    const { metrics, sent } = await runScripted(session, [
      ...handshake(topic),
      { type: "have", heights: [] },
      { type: "done" },
    ]);
    expect(sent).toHaveLength(7);
    expect(sent[1]).toEqual({ type: "have", heights: [{ author: peer.id, logId: 0, seqNum: 2 }] });
    expect(sent[2]).toEqual({ type: "presync", totalOperations: 3, totalBytes: expectedBytes });
    for (let i = 0; i < 3; i++) expect(sent[3 + i]).toEqual(opMsg(ops[i] as Operation));
    expect(sent[6]).toEqual({ type: "done" });
    expect(metrics).toMatchObject({
      outboundOperations: 3,
      outboundBytes: expectedBytes,
      sentSyncOperations: 3,
      sentSyncBytes: expectedBytes,
      receivedSyncOperations: 0,
    });
    const startedEvent = events.find((e) => e.type === "sync:started");
    expect(startedEvent).toMatchObject({
      metrics: { outboundOperations: 3, inboundOperations: 0 },
    });
  });

  it("log_sync_bidirectional_exchange", async () => {
    const a = await Peer.create(1);
    const b = await Peer.create(2);
    const aOps = [await a.write("From Alice", 0, topic), await a.write("From Alice", 0, topic)];
    const bOps = [await b.write("From Bob", 0, topic), await b.write("From Bob", 0, topic)];
    const sa = a.session({ role: "initiator", topic });
    const sb = b.session({ role: "acceptor" });
    const ea = collect(sa);
    const eb = collect(sb);
    const [ma, mb] = await runPair(sa, sb, a.id, b.id);
    expect(received(ea).map((e) => e.operation.hash)).toEqual(bOps.map((o) => o.hash));
    expect(received(eb).map((e) => e.operation.hash)).toEqual(aOps.map((o) => o.hash));
    expect(types(ea)).toEqual([
      "sync:session-started",
      "sync:started",
      "sync:operation-received",
      "sync:operation-received",
      "sync:finished",
    ]);
    for (const [local, remote] of [
      [ma, mb],
      [mb, ma],
    ] as const) {
      expect(local.inboundOperations).toBe(local.receivedSyncOperations);
      expect(local.inboundBytes).toBe(local.receivedSyncBytes);
      expect(local.outboundOperations).toBe(local.sentSyncOperations);
      expect(local.outboundBytes).toBe(local.sentSyncBytes);
      expect(local.outboundBytes).toBe(remote.inboundBytes);
      expect(local.outboundOperations).toBe(remote.inboundOperations);
      expect(local.storedOperations).toBe(2);
    }
    // Each now holds both logs, and has associated the received log with the topic.
    expect((await b.topicStore.resolve(topic)).get(a.id)).toEqual([0]);
    expect((await a.logStore.latest(b.id, 0))?.hash).toEqual(bOps[1]?.hash);
  });

  const unexpected = async (
    script: (peer: Peer, op: Operation) => Parameters<typeof runScripted>[1],
  ) => {
    const peer = await Peer.create(1);
    const remote = await Peer.create(2);
    await peer.write("mine", 1, topic);
    const op = await remote.next("unexpected", 1);
    const session = peer.session({ role: "acceptor" });
    const events = collect(session);
    const outcome = await runScripted(session, script(remote, op));
    expect(outcome.error).toBeInstanceOf(SyncProtocolError);
    expect(events.at(-1)?.type).toBe("sync:failed");
    expect(await peer.logStore.latest(remote.id, 1)).toBeUndefined();
  };

  it("log_sync_unexpected_operation_before_presend", () =>
    unexpected((remote, op) => [
      ...handshake(topic),
      { type: "have", heights: [{ author: remote.id, logId: 1, seqNum: 0 }] },
      opMsg(op),
      { type: "presync", totalOperations: 1, totalBytes: 100 },
      { type: "done" },
    ]));

  it("log_sync_unexpected_presend_twice", () =>
    unexpected((remote) => [
      ...handshake(topic),
      { type: "have", heights: [{ author: remote.id, logId: 1, seqNum: 0 }] },
      { type: "presync", totalOperations: 1, totalBytes: 32 },
      { type: "presync", totalOperations: 1, totalBytes: 32 },
      { type: "done" },
    ]));

  it("log_sync_unexpected_done_before_anything", () =>
    unexpected(() => [...handshake(topic), { type: "done" }]));

  it("log_sync_unexpected_have_after_presend", () =>
    unexpected((remote) => [
      ...handshake(topic),
      { type: "have", heights: [{ author: remote.id, logId: 1, seqNum: 0 }] },
      { type: "presync", totalOperations: 1, totalBytes: 64 },
      { type: "have", heights: [{ author: remote.id, logId: 1, seqNum: 99 }] },
      { type: "done" },
    ]));

  it("log_sync_with_concurrently_pruned_log: sends what is left; the receiver stores what attaches", async () => {
    const a = await Peer.create(1);
    const b = await Peer.create(2);
    const c = await Peer.create(3);
    const body = new Uint8Array(1000);
    for (let i = 0; i < 100; i++) await a.write(body, 0, topic);
    for (let i = 0; i < 100; i++) await a.write(body, 1, topic);
    for (let i = 0; i < 50; i++) await a.logStore.putMany([await c.next(body, 0)]);
    await a.topicStore.associate(topic, c.id, 0);
    // Prune C's first operation between counting (PreSync) and sending.
    const store = a.logStore;
    let pruned = false;
    const pruning: LogStore = {
      heights: (logs) => store.heights(logs),
      latest: (author, logId) => store.latest(author, logId),
      get: (author, logId, seqNum) => store.get(author, logId, seqNum),
      rangeSize: (...args) => store.rangeSize(...args),
      putMany: (ops) => store.putMany(ops),
      prune: (...args) => store.prune(...args),
      range: async (...args) => {
        if (!pruned) {
          pruned = true;
          await store.prune(c.id, 0, 1);
        }
        return store.range(...args);
      },
    };
    const sa = a.session({ role: "initiator", topic, logStore: pruning });
    const sb = b.session({ role: "acceptor" });
    const [, mb] = await runPair(sa, sb, a.id, b.id);
    expect(mb.inboundOperations).toBe(250);
    expect(mb.receivedSyncOperations).toBe(249);
    // C's log now starts at seqNum 1 for B: it cannot be verified as a chain, so it is not stored.
    expect(mb.storedOperations).toBe(200);
    expect(mb.detachedOperations).toBe(49);
    expect(await b.logStore.latest(c.id, 0)).toBeUndefined();
    expect((await b.logStore.latest(a.id, 1))?.header.seqNum).toBe(99);
  });
});

describe("topic log sync (upstream topic_log_sync.rs)", () => {
  it("sync_session_no_operations", async () => {
    const peer = await Peer.create(1);
    const session = peer.session({ role: "acceptor" });
    const events = collect(session);
    const { sent, error } = await runScripted(session, [
      ...handshake(topic),
      { type: "have", heights: [] },
      { type: "done" },
    ]);
    expect(error).toBeUndefined();
    expect(sent.slice(1)).toEqual([{ type: "have", heights: [] }, { type: "done" }]);
    expect(types(events).slice(1)).toEqual(["sync:started", "sync:finished"]);
  });

  it("sync_operations_accept: only the topic's logs are offered", async () => {
    const peer = await Peer.create(1);
    const ops = [await peer.write("a", 0, topic), await peer.write("b", 0, topic)];
    await peer.write("elsewhere", 9, Topic.fromName("other"));
    const session = peer.session({ role: "acceptor" });
    const { sent } = await runScripted(session, [
      ...handshake(topic),
      { type: "have", heights: [] },
      { type: "done" },
    ]);
    expect(sent[1]).toEqual({ type: "have", heights: [{ author: peer.id, logId: 0, seqNum: 1 }] });
    expect(sent.filter((m) => m.type === "op")).toEqual(ops.map((o) => opMsg(o)));
  });

  it("topic_log_sync_full_duplex", async () => {
    const a = await Peer.create(1);
    const b = await Peer.create(2);
    const ops = [
      await a.write("1", 0, topic),
      await a.write("2", 0, topic),
      await a.write("3", 0, topic),
    ];
    const sa = a.session({ role: "initiator", topic });
    const sb = b.session({ role: "acceptor" });
    const ea = collect(sa);
    const eb = collect(sb);
    await runPair(sa, sb, a.id, b.id);
    expect(types(ea)).toEqual(["sync:session-started", "sync:started", "sync:finished"]);
    expect(types(eb)).toEqual([
      "sync:session-started",
      "sync:started",
      "sync:operation-received",
      "sync:operation-received",
      "sync:operation-received",
      "sync:finished",
    ]);
    const got = received(eb).map((e) => e.operation);
    expect(got.map((o) => o.hash)).toEqual(ops.map((o) => o.hash));
    expect(got.map((o) => o.body)).toEqual(ops.map((o) => o.body));
    // The acceptor learns the topic in the handshake, after `session-started`.
    expect(eb.slice(1).every((e) => e.topic === topic && e.remote === a.id)).toBe(true);
  });

  const liveSetup = async () => {
    const a = await Peer.create(1);
    const b = await Peer.create(2);
    const op0 = await b.next("Hello, Sloth!");
    const op1 = await b.next("Hello, Sloth!");
    const op2 = await a.next("Hello, Sloth!");
    const session = a.session({ role: "acceptor", liveMode: true });
    session.publish(op2);
    session.close();
    return { a, b, op0, op1, op2, session };
  };

  it("live_mode", async () => {
    const { a, b, op0, op1, op2, session } = await liveSetup();
    const events = collect(session);
    const { sent, metrics, error } = await runScripted(session, [
      ...handshake(topic),
      { type: "have", heights: [{ author: b.id, logId: 0, seqNum: 0 }] },
      { type: "presync", totalOperations: 1, totalBytes: operationSize(op0) },
      opMsg(op0),
      { type: "done" },
      opMsg(op1, "live"),
      { type: "close" },
    ]);
    expect(error).toBeUndefined();
    expect(types(events)).toEqual([
      "sync:session-started",
      "sync:started",
      "sync:operation-received",
      "sync:finished",
      "sync:live-started",
      "sync:operation-received",
      "sync:live-finished",
    ]);
    const last = received(events).at(-1) as OperationReceivedEvent;
    expect(last.phase).toBe("live");
    expect(last.metrics.receivedSyncOperations + last.metrics.receivedLiveOperations).toBe(2);
    expect(last.metrics.sentLiveOperations).toBe(1);
    expect(last.metrics.receivedSyncBytes + last.metrics.receivedLiveBytes).toBe(
      operationSize(op0) + operationSize(op1),
    );
    expect(metrics?.sentLiveBytes).toBe(operationSize(op2));
    expect(sent.slice(1).map((m) => m.type)).toEqual(["have", "done", "live", "close"]);
    expect(sent[3]).toEqual(opMsg(op2, "live"));
    expect((await a.logStore.latest(b.id, 0))?.hash).toEqual(op1.hash);
  });

  it("dedup_live_mode_messages", async () => {
    const { b, op0, op1, session } = await liveSetup();
    session.publish((await b.next("not yet")) && op0); // already synced: never echoed back
    const events = collect(session);
    const { sent, metrics } = await runScripted(session, [
      ...handshake(topic),
      { type: "have", heights: [{ author: b.id, logId: 0, seqNum: 0 }] },
      { type: "presync", totalOperations: 1, totalBytes: operationSize(op0) },
      opMsg(op0),
      { type: "done" },
      opMsg(op1, "live"),
      opMsg(op0, "live"), // duplicate of the sync phase
      opMsg(op1, "live"), // duplicate within live mode
      { type: "close" },
    ]);
    expect(received(events)).toHaveLength(2);
    expect(metrics?.receivedLiveOperations).toBe(1);
    expect(metrics?.duplicateOperations).toBe(2);
    expect(sent.slice(1).map((m) => m.type)).toEqual(["have", "done", "live", "close"]);
  });

  it("unexpected_stream_closure_sync", async () => {
    const peer = await Peer.create(1);
    const session = peer.session({ role: "acceptor", liveMode: true });
    const events = collect(session);
    const { error } = await runScripted(session, [
      ...handshake(topic),
      { type: "have", heights: [] },
    ]);
    expect(error).toBeInstanceOf(UnexpectedStreamClosureError);
    expect((error as UnexpectedStreamClosureError).phase).toBe("sync");
    expect(events.at(-1)).toMatchObject({ type: "sync:failed", error });
  });

  it("unexpected_stream_closure_live_mode", async () => {
    const peer = await Peer.create(1);
    const session = peer.session({ role: "acceptor", liveMode: true });
    const events = collect(session);
    const { error } = await runScripted(session, [
      ...handshake(topic),
      { type: "have", heights: [] },
      { type: "done" },
    ]);
    expect(error).toBeInstanceOf(UnexpectedStreamClosureError);
    expect((error as UnexpectedStreamClosureError).phase).toBe("live");
    expect(events.at(-1)?.type).toBe("sync:failed");
  });

  it("the acceptor refuses a topic it is not subscribed to; the initiator sees the stream end", async () => {
    const a = await Peer.create(1);
    const b = await Peer.create(2);
    const sa = a.session({ role: "initiator", topic });
    const sb = b.session({ role: "acceptor", isSubscribed: () => false });
    const [ca, cb] = memoryChannelPair(a.id, b.id);
    const [ra, rb] = await Promise.allSettled([sa.run(ca), sb.run(cb)]);
    expect(ra?.status === "rejected" && ra.reason).toBeInstanceOf(UnexpectedStreamClosureError);
    expect(rb?.status === "rejected" && rb.reason).toBeInstanceOf(TopicNotSubscribedError);
  });
});

describe("live mode accepts only operations of the session topic's logs", () => {
  // B's logs: 0 is announced in the sync phase, 1 is the topic's by the app's rule, 2 is
  // associated with the topic by the app after the sync phase, 7 belongs to nothing we know.
  const liveWith = async (logId: number, associateLate = false) => {
    const a = await Peer.create(1);
    const b = await Peer.create(2);
    const op0 = await b.next("announced");
    const session = a.session({
      role: "acceptor",
      liveMode: true,
      isTopicLog: (_topic, _author, id) => id === 1,
    });
    const live = await b.next("live", logId);
    const events = collect(session);
    if (associateLate) {
      session.events$.subscribe((e) => {
        if (e.type === "sync:live-started")
          a.topicStore.associate(topic, b.id, logId).catch(() => {});
      });
    }
    const outcome = await runScripted(session, [
      ...handshake(topic),
      { type: "have", heights: [{ author: b.id, logId: 0, seqNum: 0 }] },
      { type: "presync", totalOperations: 1, totalBytes: operationSize(op0) },
      opMsg(op0),
      { type: "done" },
      opMsg(live, "live"),
      { type: "close" },
    ]);
    return { ...outcome, a, b, live, events };
  };

  it("a log the remote announced in the sync phase", async () => {
    const { error, a, b, live } = await liveWith(0);
    expect(error).toBeUndefined();
    expect((await a.logStore.latest(b.id, 0))?.hash).toEqual(live.hash);
  });

  it("a log the app's rule (isTopicLog) assigns to the topic", async () => {
    const { error, a, b } = await liveWith(1);
    expect(error).toBeUndefined();
    expect(await a.logStore.latest(b.id, 1)).toBeDefined();
  });

  it("a log associated with the topic after the sync phase (the topic store is read again)", async () => {
    const { error, a, b } = await liveWith(2, true);
    expect(error).toBeUndefined();
    expect(await a.logStore.latest(b.id, 2)).toBeDefined();
  });

  it("a foreign log ends the session with ForeignLogError, counted, and nothing of it is stored", async () => {
    const { error, a, b, events, metrics } = await liveWith(7);
    expect(metrics).toBeUndefined();
    expect(error).toBeInstanceOf(ForeignLogError);
    expect((error as ForeignLogError).code).toBe("FOREIGN_LOG");
    const failed = events.at(-1);
    expect(failed?.type).toBe("sync:failed");
    if (failed?.type === "sync:failed") expect(failed.metrics.foreignOperations).toBe(1);
    expect(await a.logStore.latest(b.id, 7)).toBeUndefined();
    expect(await a.topicStore.resolve(topic)).not.toContainEqual([b.id, [7]]);
  });
});

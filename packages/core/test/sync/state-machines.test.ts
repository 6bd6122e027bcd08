import { describe, expect, it } from "vitest";
import { DecodeError } from "../../src/codec/cbor.ts";
import type { NodeId } from "../../src/ids/node-id.ts";
import { Topic } from "../../src/ids/topic.ts";
import {
  AnnouncedTotalsExceededError,
  OperationTooLargeError,
  SyncProtocolError,
  TooManyLogsError,
  TopicNotSubscribedError,
  UnexpectedOperationError,
} from "../../src/sync/errors.ts";
import { LogSync } from "../../src/sync/log-sync.ts";
import {
  decodeSyncMessage,
  encodeSyncMessage,
  type TopicSyncMessage,
} from "../../src/sync/messages.ts";
import { TopicHandshake } from "../../src/sync/topic-handshake.ts";
import { Peer } from "./helpers.ts";

const topic = Topic.fromName("machines");
const X = "cc".repeat(32) as NodeId;
const msg = {
  topic: { type: "topic", topic } as TopicSyncMessage,
  done: { type: "done" } as TopicSyncMessage,
  have: { type: "have", heights: [] } as TopicSyncMessage,
  presync: { type: "presync", totalOperations: 1, totalBytes: 10 } as TopicSyncMessage,
  op: { type: "op", header: new Uint8Array(3) } as TopicSyncMessage,
  live: { type: "live", header: new Uint8Array(3) } as TopicSyncMessage,
  close: { type: "close" } as TopicSyncMessage,
};

describe("topic handshake: Topic → Done → Done (spec §6.3)", () => {
  it("runs initiator and acceptor to the same topic", () => {
    const i = TopicHandshake.initiator(topic);
    const a = TopicHandshake.acceptor(() => true);
    const [first] = i.start();
    expect(first).toEqual({ type: "send", message: msg.topic });
    expect(a.start()).toEqual([]);
    const aOut = a.handle(msg.topic);
    expect(aOut).toEqual([{ type: "send", message: msg.done }]);
    const iOut = i.handle(msg.done);
    expect(iOut).toEqual([
      { type: "send", message: msg.done },
      { type: "done", topic },
    ]);
    expect(a.handle(msg.done)).toEqual([{ type: "done", topic }]);
    expect(i.isDone && a.isDone).toBe(true);
    expect(a.topic).toBe(topic);
  });

  it("acceptor continues only if subscribed", () => {
    const a = TopicHandshake.acceptor((t) => t !== topic);
    a.start();
    expect(() => a.handle(msg.topic)).toThrow(TopicNotSubscribedError);
  });

  it("every unexpected message in every state is a SyncProtocolError", () => {
    const all = Object.values(msg);
    const states: [string, () => TopicHandshake, TopicSyncMessage[]][] = [
      [
        "initiator awaiting done",
        () => {
          const h = TopicHandshake.initiator(topic);
          h.start();
          return h;
        },
        [msg.done],
      ],
      [
        "acceptor awaiting topic",
        () => {
          const h = TopicHandshake.acceptor(() => true);
          h.start();
          return h;
        },
        [msg.topic],
      ],
      [
        "acceptor awaiting done",
        () => {
          const h = TopicHandshake.acceptor(() => true);
          h.start();
          h.handle(msg.topic);
          return h;
        },
        [msg.done],
      ],
    ];
    for (const [, make, allowed] of states) {
      for (const m of all.filter((x) => !allowed.includes(x))) {
        expect(() => make().handle(m)).toThrow(SyncProtocolError);
      }
    }
  });
});

describe("log sync machine: message order (spec §6.3)", () => {
  const started = () => {
    const m = new LogSync();
    m.start([]);
    return m;
  };
  const afterHave = () => {
    const m = started();
    m.handle(msg.have);
    return m;
  };
  const receiving = () => {
    const m = afterHave();
    m.handle({ type: "presync", totalOperations: 1, totalBytes: 10_000 });
    return m;
  };

  it("sends Have, plans on the remote's Have, announces PreSync or Done", () => {
    const m = new LogSync();
    expect(m.start([{ author: X, logId: 0, seqNum: 3 }])).toEqual([
      { type: "send", message: { type: "have", heights: [{ author: X, logId: 0, seqNum: 3 }] } },
    ]);
    const out = m.handle(msg.have);
    expect(out).toEqual([{ type: "plan", ranges: [{ author: X, logId: 0, until: 3 }] }]);
    const planned = m.planned({ operations: 4, bytes: 400 });
    expect(planned[0]).toEqual({
      type: "send",
      message: { type: "presync", totalOperations: 4, totalBytes: 400 },
    });
    expect(planned[1]?.type).toBe("stream");
    expect(m.handle(msg.done).map((o) => o.type)).toEqual(["sync-started", "inbound-done"]);
    expect(m.sendingDone().map((o) => o.type)).toEqual(["send", "finished"]);
    expect(m.isFinished).toBe(true);
  });

  it("unexpected_done_before_anything", () => {
    expect(() => started().handle(msg.done)).toThrow(SyncProtocolError);
  });
  it("unexpected_operation_before_presend", () => {
    expect(() => afterHave().handle(msg.op)).toThrow(SyncProtocolError);
  });
  it("unexpected_presend_twice", () => {
    expect(() => receiving().handle(msg.presync)).toThrow(SyncProtocolError);
  });
  it("unexpected_have_after_presend", () => {
    expect(() => receiving().handle(msg.have)).toThrow(SyncProtocolError);
  });
  it("live messages before live mode and anything after the remote's Done", () => {
    for (const m of [msg.live, msg.close, msg.topic]) {
      expect(() => started().handle(m)).toThrow(SyncProtocolError);
      expect(() => receiving().handle(m)).toThrow(SyncProtocolError);
    }
    const done = afterHave();
    done.handle(msg.done);
    for (const m of Object.values(msg)) expect(() => done.handle(m)).toThrow(SyncProtocolError);
  });

  it("checks the size cap before decoding anything", () => {
    const m = new LogSync({ maxOperationSize: 10 });
    m.start([]);
    m.handle(msg.have);
    m.handle({ type: "presync", totalOperations: 1, totalBytes: 100 });
    // Not a header at all, but too big: the size error wins, no DecodeError.
    expect(() => m.handle({ type: "op", header: new Uint8Array(11) })).toThrow(
      OperationTooLargeError,
    );
  });

  it("refuses more than the remote announced", async () => {
    const peer = await Peer.create(1);
    const op = await peer.next("x");
    const m = new LogSync();
    m.start([]);
    m.handle({ type: "have", heights: [{ author: peer.id, logId: 0, seqNum: 5 }] });
    m.handle({ type: "presync", totalOperations: 1, totalBytes: 10_000 });
    m.handle({ type: "op", header: op.headerBytes, ...(op.body ? { body: op.body } : {}) });
    expect(() => m.handle({ type: "op", header: op.headerBytes })).toThrow(
      AnnouncedTotalsExceededError,
    );
  });

  it("refuses operations of logs the remote did not announce or outside the range", async () => {
    const peer = await Peer.create(1);
    const op0 = await peer.next("x", 0);
    const other = await peer.next("y", 1);
    const m = new LogSync();
    m.start([{ author: peer.id, logId: 0, seqNum: 0 }]);
    m.handle({
      type: "have",
      heights: [
        { author: peer.id, logId: 0, seqNum: 3 },
        { author: peer.id, logId: 1, seqNum: 0 },
      ],
    });
    m.handle({ type: "presync", totalOperations: 9, totalBytes: 10_000 });
    // We hold seqNum 0 of log 0: the remote must start after it.
    expect(() => m.handle({ type: "op", header: op0.headerBytes })).toThrow(
      UnexpectedOperationError,
    );
    const n = new LogSync();
    n.start([]);
    n.handle({ type: "have", heights: [{ author: peer.id, logId: 0, seqNum: 3 }] });
    n.handle({ type: "presync", totalOperations: 9, totalBytes: 10_000 });
    expect(() => n.handle({ type: "op", header: other.headerBytes })).toThrow(
      UnexpectedOperationError,
    );
  });

  it("live mode: de-duplicates published and received operations; Close ends it", async () => {
    const peer = await Peer.create(1);
    const op = await peer.next("x");
    const m = afterHave();
    m.planned({ operations: 0, bytes: 0 });
    m.handle(msg.done);
    m.startLive();
    expect(m.publish(op)).toHaveLength(1);
    expect(m.publish(op)).toHaveLength(0);
    expect(m.handle({ type: "live", header: op.headerBytes })).toEqual([]);
    expect(m.metrics.duplicateOperations).toBe(1);
    expect(() => m.handle(msg.have)).toThrow(SyncProtocolError);
  });
});

describe("wire messages", () => {
  it("round-trip through their CBOR form", () => {
    const messages: TopicSyncMessage[] = [
      msg.topic,
      msg.done,
      {
        type: "have",
        heights: [
          { author: X, logId: "a", seqNum: 2 },
          { author: X, logId: 7, seqNum: 0 },
        ],
      },
      msg.presync,
      { type: "op", header: new Uint8Array([1]), body: new Uint8Array([2]) },
      { type: "live", header: new Uint8Array([1]) },
      msg.close,
    ];
    for (const m of messages) {
      expect(decodeSyncMessage(encodeSyncMessage(m), { maxLogsInHave: 10 })).toEqual(m);
    }
  });

  it("refuses malformed messages with DecodeError and an oversized Have before building it", () => {
    const limits = { maxLogsInHave: 2 };
    for (const bad of [
      null,
      [],
      ["nope"],
      ["done", 1],
      ["presync", -1, 0],
      ["op", "x", null],
      ["topic", new Uint8Array(3)],
      ["have", [[new Uint8Array(3), []]]],
      [
        "have",
        [
          [
            new Uint8Array(32),
            [
              [0, 1],
              [0, 2],
            ],
          ],
        ],
      ],
    ]) {
      expect(() => decodeSyncMessage(bad, limits)).toThrow(DecodeError);
    }
    const big = [
      "have",
      [
        [
          new Uint8Array(32),
          [
            [0, 1],
            [1, 1],
            [2, 1],
          ],
        ],
      ],
    ];
    expect(() => decodeSyncMessage(big, limits)).toThrow(TooManyLogsError);
  });
});

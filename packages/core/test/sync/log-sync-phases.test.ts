import { describe, expect, it } from "vitest";
import type { NodeId } from "../../src/ids/node-id.ts";
import { AnnouncedTotalsExceededError, OperationTooLargeError } from "../../src/sync/errors.ts";
import { LogSync, type LogSyncOutput } from "../../src/sync/log-sync.ts";
import type { TopicSyncMessage } from "../../src/sync/messages.ts";
import { type Operation, operationSize } from "../../src/sync/operation.ts";
import { Peer } from "./helpers.ts";

const opMsg = (op: Operation): TopicSyncMessage => ({
  type: "op",
  header: op.headerBytes,
  ...(op.body !== undefined ? { body: op.body } : {}),
});

const types = (outputs: readonly LogSyncOutput[]) => outputs.map((o) => o.type);

/** A machine that announced nothing and heard the remote announce `height` of `author`'s log 0. */
function receiving(author: NodeId, height: number, limits = {}) {
  const machine = new LogSync(limits);
  machine.start([]);
  machine.handle({ type: "have", heights: [{ author, logId: 0, seqNum: height }] });
  return machine;
}

// Spec §6.3 with the p2panda-web limits: what a remote announced in PreSync is exact, so a remote
// cannot make us take more bytes than it said, and the size cap is a maximum, not a bound below.
describe("log sync: received operations are held to the announced bytes and the size cap", () => {
  it("more bytes than PreSync announced fail the session, even within the announced count", async () => {
    const peer = await Peer.create(1);
    const op = await peer.next("a payload of some bytes");
    const machine = receiving(peer.id, 0);
    machine.handle({ type: "presync", totalOperations: 5, totalBytes: operationSize(op) - 1 });
    expect(() => machine.handle(opMsg(op))).toThrow(AnnouncedTotalsExceededError);
  });

  it("an operation of exactly the size cap is taken; one byte more is refused", async () => {
    const peer = await Peer.create(1);
    const op = await peer.next("x");
    const size = operationSize(op);
    const atCap = receiving(peer.id, 0, { maxOperationSize: size });
    atCap.handle({ type: "presync", totalOperations: 1, totalBytes: size });
    expect(types(atCap.handle(opMsg(op)))).toEqual(["receive"]);
    const belowCap = receiving(peer.id, 0, { maxOperationSize: size - 1 });
    belowCap.handle({ type: "presync", totalOperations: 1, totalBytes: size });
    expect(() => belowCap.handle(opMsg(op))).toThrow(OperationTooLargeError);
  });
});

// An operation is handed to the store once per session, and never sent back to the node it came
// from or sent twice to it: live mode would otherwise echo operations between two nodes.
describe("log sync: an operation is processed and sent once per session", () => {
  it("a repeated operation in the sync phase is dropped and counted, not handed on again", async () => {
    const peer = await Peer.create(1);
    const op = await peer.next("x");
    const machine = receiving(peer.id, 0);
    machine.handle({ type: "presync", totalOperations: 2, totalBytes: 2 * operationSize(op) });
    expect(types(machine.handle(opMsg(op)))).toEqual(["receive"]);
    expect(machine.handle(opMsg(op))).toEqual([]);
    expect(machine.metrics.duplicateOperations).toBe(1);
  });

  it("an operation sent in the sync phase is not published again in live mode", async () => {
    const peer = await Peer.create(1);
    const op = await peer.next("x");
    const machine = new LogSync();
    machine.start([{ author: peer.id, logId: 0, seqNum: 0 }]);
    machine.handle({ type: "have", heights: [] });
    machine.planned({ operations: 1, bytes: operationSize(op) });
    machine.send(op);
    machine.sendingDone();
    machine.handle({ type: "done" });
    machine.startLive();
    expect(machine.publish(op)).toEqual([]);
  });
});

// The driver reports progress from these outputs: sync-started once both totals are known,
// inbound-done when the remote finished, finished only when both directions did.
describe("log sync: sync-started once, finished only when both directions are done", () => {
  it("we finish sending first: finished comes with the remote's Done, not before", async () => {
    const peer = await Peer.create(1);
    const op = await peer.next("x");
    const machine = receiving(peer.id, 0);
    const outputs: LogSyncOutput[] = [];
    outputs.push(...machine.planned({ operations: 0, bytes: 0 }));
    expect(types(outputs)).not.toContain("finished");
    outputs.push(...machine.handle({ type: "presync", totalOperations: 1, totalBytes: 10_000 }));
    outputs.push(...machine.handle(opMsg(op)));
    expect(types(outputs)).not.toContain("finished");
    expect(machine.isFinished).toBe(false);
    const last = machine.handle({ type: "done" });
    expect(types(last)).toEqual(["inbound-done", "finished"]);
    expect(types([...outputs, ...last]).filter((t) => t === "sync-started")).toHaveLength(1);
  });

  it("the remote finishes first: finished comes with our last send, not before", async () => {
    const peer = await Peer.create(1);
    const op = await peer.next("x");
    const machine = new LogSync();
    machine.start([{ author: peer.id, logId: 0, seqNum: 0 }]);
    machine.handle({ type: "have", heights: [] });
    const announced = machine.handle({ type: "done" });
    expect(types(announced)).toEqual(["inbound-done"]);
    const planned = machine.planned({ operations: 1, bytes: operationSize(op) });
    expect(types(planned)).toEqual(["send", "stream", "sync-started"]);
    machine.send(op);
    expect(machine.isFinished).toBe(false);
    expect(types(machine.sendingDone())).toEqual(["send", "finished"]);
  });
});

describe("log sync live mode: each side closes once; the remote's close is reported", () => {
  it("close before live mode does nothing; in live mode it sends close once", async () => {
    const machine = new LogSync();
    machine.start([]);
    machine.handle({ type: "have", heights: [] });
    expect(machine.close()).toEqual([]);
    machine.planned({ operations: 0, bytes: 0 });
    machine.handle({ type: "done" });
    machine.startLive();
    expect(machine.closeSent).toBe(false);
    expect(machine.close()).toEqual([{ type: "send", message: { type: "close" } }]);
    expect(machine.closeSent).toBe(true);
    expect(machine.close()).toEqual([]);
    expect(machine.handle({ type: "close" })).toEqual([{ type: "remote-closed" }]);
  });
});

import { describe, expect, it } from "vitest";
import { Topic } from "../../src/ids/topic.ts";
import { UnexpectedOperationError } from "../../src/sync/errors.ts";
import type { TopicSyncMessage } from "../../src/sync/messages.ts";
import { decodeOperation, type Operation, operationSize } from "../../src/sync/operation.ts";
import { MemoryLogStore } from "../../src/sync/store/memory.ts";
import { handshake, Peer, runScripted } from "./helpers.ts";

const topic = Topic.fromName("range bounds");

const opMsg = (op: Operation): TopicSyncMessage => ({
  type: "op",
  header: op.headerBytes,
  ...(op.body !== undefined ? { body: op.body } : {}),
});

/** The seqNums of the operations in what a session sent. */
function sentSeqNums(sent: readonly TopicSyncMessage[]): number[] {
  return sent.flatMap((m) =>
    m.type === "op" ? [decodeOperation(m.header, m.body).header.seqNum] : [],
  );
}

/**
 * A log store that takes one more operation the first time the session counts what the remote
 * needs: a write that lands after our `Have` went out, as a concurrent `publish` would.
 */
class StoreWrittenToMidSession extends MemoryLogStore {
  #late: Operation | undefined;
  constructor(late: Operation) {
    super();
    this.#late = late;
  }
  override async rangeSize(...args: Parameters<MemoryLogStore["rangeSize"]>) {
    const late = this.#late;
    this.#late = undefined;
    if (late !== undefined) await this.putMany([late]);
    return super.rangeSize(...args);
  }
}

/** Our node holds seqNums 0..5 of its log 0 on the topic; seqNum 6 is written mid-session. */
async function senderWithLateWrite() {
  const peer = await Peer.create(1);
  const ops: Operation[] = [];
  for (let i = 0; i <= 5; i++) ops.push(await peer.next(`op ${i}`));
  const late = await peer.next("written after our Have");
  const store = new StoreWrittenToMidSession(late);
  await store.putMany(ops);
  await peer.topicStore.associate(topic, peer.id, 0);
  return { peer, store };
}

/** Runs our node as acceptor against a remote that announces these heights of our log 0 and sends nothing. */
async function sendTo(remoteHeights: { seqNum: number }[]) {
  const { peer, store } = await senderWithLateWrite();
  // Pages of 2, so a bound lost between pages shows too.
  const session = peer.session({ role: "acceptor", logStore: store, pageSize: 2 });
  const outcome = await runScripted(session, [
    ...handshake(topic),
    {
      type: "have",
      heights: remoteHeights.map((h) => ({ author: peer.id, logId: 0, seqNum: h.seqNum })),
    },
    { type: "done" },
  ]);
  expect(outcome.error).toBeUndefined();
  const have = outcome.sent.find((m) => m.type === "have");
  const presync = outcome.sent.find((m) => m.type === "presync");
  return { peer, have, presync, seqNums: sentSeqNums(outcome.sent) };
}

// Spec §6.2/§6.3: the remote gets (remoteHeight, ourHeight] of each log, with ourHeight as we
// announced it in `Have`. An operation above it was not counted in `PreSync` (the remote would
// fail the session on it), and one at or below the remote's height is one it already holds.
describe("log sync: the remote gets (its height, our height at Have], nothing above or below", () => {
  it("remote at seqNum 2 of our log at 5: gets exactly 3, 4, 5, not the 6 written after our Have", async () => {
    const { peer, have, presync, seqNums } = await sendTo([{ seqNum: 2 }]);
    expect(have).toEqual({ type: "have", heights: [{ author: peer.id, logId: 0, seqNum: 5 }] });
    expect(presync).toMatchObject({ totalOperations: 3 });
    expect(seqNums).toEqual([3, 4, 5]);
  });

  it("remote without the log: gets 0 to 5, not the 6 written after our Have", async () => {
    const { presync, seqNums } = await sendTo([]);
    expect(presync).toMatchObject({ totalOperations: 6 });
    expect(seqNums).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("remote at our height or above: gets nothing", async () => {
    for (const seqNum of [5, 9]) {
      const { presync, seqNums } = await sendTo([{ seqNum }]);
      expect(presync).toBeUndefined();
      expect(seqNums).toEqual([]);
    }
  });
});

/**
 * We hold seqNums 0 and 1 of the remote's log; the remote announces `height` and then sends
 * `send` (indices into its log). Returns the outcome and the seqNums we stored.
 */
async function receiveFrom(height: number, send: number[]) {
  const remote = await Peer.create(2);
  const log: Operation[] = [];
  for (let i = 0; i <= 6; i++) log.push(await remote.next(`op ${i}`));
  const local = await Peer.create(1);
  await local.logStore.putMany(log.slice(0, 2));
  await local.topicStore.associate(topic, remote.id, 0);
  const ops = send.map((i) => log[i] as Operation);
  const outcome = await runScripted(local.session({ role: "acceptor" }), [
    ...handshake(topic),
    { type: "have", heights: [{ author: remote.id, logId: 0, seqNum: height }] },
    {
      type: "presync",
      totalOperations: ops.length,
      totalBytes: ops.reduce((n, o) => n + operationSize(o), 0),
    },
    ...ops.map(opMsg),
    { type: "done" },
  ]);
  const stored = (await local.logStore.range(remote.id, 0)).map((o) => o.header.seqNum);
  return { ...outcome, stored };
}

// The receiving side holds the remote to the same range: an operation outside what the remote
// announced is refused before it is validated or stored.
describe("log sync: a received operation outside (our height, the remote's announced height] ends the session", () => {
  it("the remote announces 3 and sends 2, 3, 4: 2 and 3 are stored, 4 fails the session", async () => {
    const { error, stored } = await receiveFrom(3, [2, 3, 4]);
    expect(error).toBeInstanceOf(UnexpectedOperationError);
    expect(stored).toEqual([0, 1, 2, 3]);
  });

  it("the remote announces 3 and sends 1 (at our height): refused, nothing stored", async () => {
    const { error, stored } = await receiveFrom(3, [1]);
    expect(error).toBeInstanceOf(UnexpectedOperationError);
    expect(stored).toEqual([0, 1]);
  });

  it("the remote announces 3 and sends 2, 3: both stored, the session ends well", async () => {
    const { error, stored } = await receiveFrom(3, [2, 3]);
    expect(error).toBeUndefined();
    expect(stored).toEqual([0, 1, 2, 3]);
  });
});

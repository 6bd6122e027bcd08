import { describe, expect, it } from "vitest";
import { fromHex } from "../../src/bytes.ts";
import { DecodeError } from "../../src/codec/cbor.ts";
import { StreamStalledError } from "../../src/codec/message-channel.ts";
import { Topic } from "../../src/ids/topic.ts";
import {
  AnnouncedTotalsExceededError,
  OperationTooLargeError,
  TooManyLogsError,
  UnexpectedOperationError,
} from "../../src/sync/errors.ts";
import { encodeHeader, encodeUnsignedHeader, type Header } from "../../src/sync/header.ts";
import { decodeOperation, type Operation, operationSize } from "../../src/sync/operation.ts";
import {
  BacklinkMismatchError,
  PayloadMismatchError,
  SeqNumMismatchError,
  SignatureMismatchError,
  validateOperation,
} from "../../src/sync/validation.ts";
import { collect, handshake, Peer, runScripted, type Scripted } from "./helpers.ts";

const topic = Topic.fromName("bad input");
const opMsg = (op: Operation) => ({
  type: "op" as const,
  header: op.headerBytes,
  ...(op.body !== undefined ? { body: op.body } : {}),
});

async function resigned(remote: Peer, header: Header, body?: Uint8Array): Promise<Operation> {
  const signature = await remote.identity.sign(
    encodeUnsignedHeader({ ...header, signature: undefined }),
  );
  return decodeOperation(encodeHeader({ ...header, signature }), body);
}

/**
 * The local node (acceptor) syncs `ops` of the remote's log 0 sent by a scripted remote that
 * announces `height`. Returns the outcome and what the local node stored of that log.
 */
async function receive(
  remote: Peer,
  ops: readonly Operation[],
  options: { height?: number; limits?: object; batchSize?: number; extra?: Scripted[] } = {},
) {
  const local = await Peer.create(1);
  const session = local.session({
    role: "acceptor",
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.batchSize ? { batchSize: options.batchSize } : {}),
  });
  const events = collect(session);
  const bytes = ops.reduce((n, o) => n + operationSize(o), 0);
  const outcome = await runScripted(session, [
    ...handshake(topic),
    {
      type: "have",
      heights: [{ author: remote.id, logId: 0, seqNum: options.height ?? ops.length - 1 }],
    },
    { type: "presync", totalOperations: ops.length, totalBytes: bytes },
    ...ops.map(opMsg),
    ...(options.extra ?? []),
    { type: "done" },
  ]);
  const stored = await local.logStore.range(remote.id, 0);
  return { ...outcome, stored, events, local };
}

async function chain(remote: Peer, n: number): Promise<Operation[]> {
  const ops: Operation[] = [];
  for (let i = 0; i < n; i++) ops.push(await remote.next(`op ${i}`));
  return ops;
}

describe("bad input ends the session with a typed error; nothing invalid stored, nothing valid lost", () => {
  it("a forged signature", async () => {
    const remote = await Peer.create(2);
    const [op0, op1, op2] = await chain(remote, 3);
    const sig = ((op1 as Operation).header.signature as Uint8Array).slice();
    sig[0] = (sig[0] as number) ^ 0x80;
    const forged = decodeOperation(
      encodeHeader({ ...(op1 as Operation).header, signature: sig }),
      op1?.body,
    );
    const { error, stored, events } = await receive(remote, [op0, forged, op2] as Operation[]);
    expect(error).toBeInstanceOf(SignatureMismatchError);
    expect(stored.map((o) => o.hash)).toEqual([op0?.hash]);
    expect(events.at(-1)).toMatchObject({ type: "sync:failed" });
    expect(events.filter((e) => e.type === "sync:operation-received")).toHaveLength(1);
  });

  it("a wrong seqNum (a jump after an attached operation)", async () => {
    const remote = await Peer.create(2);
    const [op0, , op2] = await chain(remote, 3);
    const { error, stored } = await receive(remote, [op0, op2] as Operation[], { height: 2 });
    expect(error).toBeInstanceOf(SeqNumMismatchError);
    expect(stored.map((o) => o.header.seqNum)).toEqual([0]);
  });

  it("a wrong backlink (validly signed)", async () => {
    const remote = await Peer.create(2);
    const [op0, op1] = await chain(remote, 2);
    const bad = await resigned(
      remote,
      { ...(op1 as Operation).header, backlink: new Uint8Array(32).fill(9) },
      op1?.body,
    );
    const { error, stored } = await receive(remote, [op0, bad] as Operation[]);
    expect(error).toBeInstanceOf(BacklinkMismatchError);
    expect(stored.map((o) => o.header.seqNum)).toEqual([0]);
  });

  it("a payload that does not match its hash", async () => {
    const remote = await Peer.create(2);
    const [op0, op1] = await chain(remote, 2);
    const tampered = { ...(op1 as Operation), body: new TextEncoder().encode("op X") };
    const { error, stored } = await receive(remote, [op0, tampered] as Operation[]);
    expect(error).toBeInstanceOf(PayloadMismatchError);
    expect(stored).toHaveLength(1);
  });

  it("duplicate operations are dropped, not an error, and stored once", async () => {
    const remote = await Peer.create(2);
    const [op0, op1] = await chain(remote, 2);
    const { error, stored, metrics, events } = await receive(
      remote,
      [op0, op0, op1] as Operation[],
      { height: 1 },
    );
    expect(error).toBeUndefined();
    expect(stored.map((o) => o.header.seqNum)).toEqual([0, 1]);
    expect(metrics?.duplicateOperations).toBe(1);
    expect(events.filter((e) => e.type === "sync:operation-received")).toHaveLength(2);
  });

  it("an operation of a log nobody asked for", async () => {
    const remote = await Peer.create(2);
    const [op0] = await chain(remote, 1);
    const stray = await (await Peer.create(3)).next("stray");
    const { error, stored, local } = await receive(remote, [op0, stray] as Operation[], {
      height: 0,
    });
    expect(error).toBeInstanceOf(UnexpectedOperationError);
    expect(stored).toHaveLength(1);
    expect(
      await local.logStore.latest(stray.header.verifyingKey && (await Peer.create(3)).id, 0),
    ).toBeUndefined();
  });

  it("an operation above the size cap, refused before decoding", async () => {
    const remote = await Peer.create(2);
    const big = await remote.next(new Uint8Array(300));
    const { error, stored } = await receive(remote, [big], { limits: { maxOperationSize: 200 } });
    expect(error).toBeInstanceOf(OperationTooLargeError);
    expect(stored).toHaveLength(0);
  });

  it("a Have listing more logs than allowed", async () => {
    const local = await Peer.create(1);
    const session = local.session({ role: "acceptor", limits: { maxLogsInHave: 2 } });
    const author = fromHex("cd".repeat(32));
    const { error } = await runScripted(session, [
      ...handshake(topic),
      [
        "have",
        [
          [
            author,
            [
              [0, 1],
              [1, 1],
              [2, 1],
            ],
          ],
        ],
      ],
    ]);
    expect(error).toBeInstanceOf(TooManyLogsError);
  });

  it("more operations than announced", async () => {
    const remote = await Peer.create(2);
    const [op0, op1] = await chain(remote, 2);
    const local = await Peer.create(1);
    const session = local.session({ role: "acceptor" });
    const { error } = await runScripted(session, [
      ...handshake(topic),
      { type: "have", heights: [{ author: remote.id, logId: 0, seqNum: 1 }] },
      { type: "presync", totalOperations: 1, totalBytes: 10_000 },
      opMsg(op0 as Operation),
      opMsg(op1 as Operation),
      { type: "done" },
    ]);
    expect(error).toBeInstanceOf(AnnouncedTotalsExceededError);
    expect(await local.logStore.range(remote.id, 0)).toHaveLength(1);
  });

  it("a malformed message or header", async () => {
    const local = await Peer.create(1);
    const { error } = await runScripted(local.session({ role: "acceptor" }), [
      ...handshake(topic),
      ["have", "not a list"],
    ]);
    expect(error).toBeInstanceOf(DecodeError);
    const remote = await Peer.create(2);
    const other = await Peer.create(1);
    const { error: headerError } = await runScripted(other.session({ role: "acceptor" }), [
      ...handshake(topic),
      { type: "have", heights: [{ author: remote.id, logId: 0, seqNum: 0 }] },
      { type: "presync", totalOperations: 1, totalBytes: 100 },
      { type: "op", header: new Uint8Array([0x83, 1, 2, 3]) },
    ]);
    expect(headerError).toBeInstanceOf(DecodeError);
  });

  it("a peer that stalls (short receive timeout)", async () => {
    const local = await Peer.create(1);
    const session = local.session({ role: "acceptor" });
    const events = collect(session);
    const { error } = await runScripted(
      session,
      [...handshake(topic), { type: "have", heights: [] }],
      { receiveTimeoutMs: 100, keepOpen: true },
    );
    expect(error).toBeInstanceOf(StreamStalledError);
    expect(events.at(-1)?.type).toBe("sync:failed");
  });

  it("a batch interrupted mid-session leaves no gap and keeps every valid operation before it", async () => {
    const remote = await Peer.create(2);
    const ops = await chain(remote, 10);
    const sig = ((ops[7] as Operation).header.signature as Uint8Array).slice();
    sig[1] = (sig[1] as number) ^ 1;
    ops[7] = decodeOperation(
      encodeHeader({ ...(ops[7] as Operation).header, signature: sig }),
      ops[7]?.body,
    );
    const { error, stored } = await receive(remote, ops, { batchSize: 4 });
    expect(error).toBeInstanceOf(SignatureMismatchError);
    expect(stored.map((o) => o.header.seqNum)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    let previous: Operation | undefined;
    for (const op of stored) {
      await validateOperation(op, previous);
      previous = op;
    }
  });
});

import { describe, expect, it } from "vitest";
import { Topic } from "../../src/ids/topic.ts";
import { DEFAULT_INGEST_MAX_IN_FLIGHT } from "../../src/sync/ingest.ts";
import { authorOf, type Operation, operationSize } from "../../src/sync/operation.ts";
import type { SyncSession } from "../../src/sync/session.ts";
import { MemoryLogStore } from "../../src/sync/store/memory.ts";
import type { SignatureVerifier } from "../../src/sync/validation.ts";
import { collect, handshake, Peer, runScripted } from "./helpers.ts";
import { signedLog } from "./signed-log.ts";

const topic = Topic.fromName("ingest pipeline test");

/**
 * A memory store whose writes take a few turns of the event loop (as a disk does), and that
 * records, at each write, how many operations the session had received from the stream and not
 * yet stored: what a catch-up holds in memory between the stream and the store.
 */
class SlowStore extends MemoryLogStore {
  session: SyncSession | undefined;
  stored = 0;
  storedBytes = 0;
  readonly held: number[] = [];
  readonly heldBytes: number[] = [];
  override async putMany(operations: readonly Operation[]) {
    const received = this.session?.metrics.receivedSyncOperations ?? 0;
    const receivedBytes = this.session?.metrics.receivedSyncBytes ?? 0;
    this.held.push(received - this.stored);
    this.heldBytes.push(receivedBytes - this.storedBytes);
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setTimeout(resolve, 0));
    const result = await super.putMany(operations);
    this.stored += operations.length;
    for (const op of operations) this.storedBytes += operationSize(op);
    return result;
  }
}

async function catchUp(
  n: number,
  batchSize: number,
  verifier?: SignatureVerifier,
  sizes: { payloadBytes?: number; batchBytes?: number } = {},
) {
  const { ops } = await signedLog(
    n,
    sizes.payloadBytes !== undefined ? { payloadBytes: sizes.payloadBytes } : {},
  );
  const local = await Peer.create(1);
  const store = new SlowStore();
  const session = local.session({
    role: "acceptor",
    logStore: store,
    batchSize,
    ...(sizes.batchBytes !== undefined ? { batchBytes: sizes.batchBytes } : {}),
    ...(verifier !== undefined ? { verifier } : {}),
  });
  store.session = session;
  const events = collect(session);
  const author = authorOf((ops[0] as Operation).header);
  const outcome = await runScripted(
    session,
    [
      ...handshake(topic),
      { type: "have", heights: [{ author, logId: 0, seqNum: n - 1 }] },
      {
        type: "presync",
        totalOperations: n,
        totalBytes: ops.reduce((sum, op) => sum + operationSize(op), 0),
      },
      ...ops.map((op) => ({
        type: "op" as const,
        header: op.headerBytes,
        ...(op.body !== undefined ? { body: op.body } : {}),
      })),
      { type: "done" },
    ],
    verifier !== undefined ? { receiveTimeoutMs: 60_000 } : {},
  );
  return { ops, store, events, outcome, author };
}

describe("a catch-up flows from the stream to the store in batches", () => {
  it("holds at most (maxInFlight + 1) batches however long the log is, and stores in order", async () => {
    const n = 2_000;
    const batchSize = 32;
    // Everything is in the channel before the session reads: an unbounded reader would run ahead.
    const { ops, store, events, outcome, author } = await catchUp(n, batchSize);
    expect(outcome.error).toBeUndefined();
    const bound = (DEFAULT_INGEST_MAX_IN_FLIGHT + 1) * batchSize;
    expect(Math.max(...store.held)).toBeLessThanOrEqual(bound);
    // Pipelined: the next batches were received while one was being stored.
    expect(Math.max(...store.held)).toBeGreaterThan(batchSize);
    const stored = await store.range(author, 0);
    expect(stored.map((o) => o.hash)).toEqual(ops.map((o) => o.hash));
    const received = events.filter((e) => e.type === "sync:operation-received");
    expect(received.map((e) => e.operation.header.seqNum)).toEqual(ops.map((_, i) => i));
  });

  it("cuts batches at batchBytes too: large operations are held by bytes, not by the batch size", async () => {
    const n = 200;
    const payloadBytes = 20_000;
    const batchBytes = 100_000;
    const { ops, store, outcome, author } = await catchUp(n, 128, undefined, {
      payloadBytes,
      batchBytes,
    });
    expect(outcome.error).toBeUndefined();
    const opBytes = Math.max(...ops.map(operationSize));
    // A batch is submitted once it reaches batchBytes: at most one operation beyond it.
    const bound = (DEFAULT_INGEST_MAX_IN_FLIGHT + 1) * (batchBytes + opBytes);
    expect(Math.max(...store.heldBytes)).toBeLessThanOrEqual(bound);
    // By count alone (128 per batch) the whole log (4 MB) would have been one batch.
    expect(Math.max(...store.held)).toBeLessThan(n / 2);
    expect(store.heldBytes.length).toBeGreaterThanOrEqual(
      (n * payloadBytes) / (batchBytes + opBytes),
    );
    const stored = await store.range(author, 0);
    expect(stored.map((o) => o.hash)).toEqual(ops.map((o) => o.hash));
  });

  it("verifies on this thread one slice at a time: a synchronous verifier gets a turn of the event loop every few ms", {
    timeout: 60_000,
  }, async () => {
    // 3 ms of synchronous work per signature (noble on a slow device; the log's signatures are
    // valid, so the answer is not what this test is about). Batches verified side by
    // side would each run a slice per turn (4 × 32 here); one slice of at most 10 ms of issuing
    // is at most 4 of them.
    let turn = 0;
    let running = true;
    const tick = (): void => {
      turn++;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    const perTurn = new Map<number, number>();
    const slow: SignatureVerifier = {
      async verify() {
        perTurn.set(turn, (perTurn.get(turn) ?? 0) + 1);
        const until = performance.now() + 3;
        while (performance.now() < until) {}
        return true;
      },
    };
    try {
      const { outcome, store, author } = await catchUp(320, 32, slow);
      expect(outcome.error).toBeUndefined();
      expect((await store.range(author, 0)).length).toBe(320);
    } finally {
      running = false;
    }
    expect([...perTurn.values()].reduce((a, b) => a + b, 0)).toBe(320);
    expect(Math.max(...perTurn.values())).toBeLessThanOrEqual(4);
  });
});

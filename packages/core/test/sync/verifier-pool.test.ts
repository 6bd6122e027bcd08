import { describe, expect, it } from "vitest";
import { Topic } from "../../src/ids/topic.ts";
import { createNodeVerifierPool } from "../../src/node/node-verifier-pool.ts";
import { encodeHeader } from "../../src/sync/header.ts";
import { authorOf, decodeOperation, type Operation } from "../../src/sync/operation.ts";
import {
  answerSignatureBatch,
  packSignatureChecks,
  type SignatureCheck,
  unpackSignatureChecks,
} from "../../src/sync/signature-batch.ts";
import {
  checkSignature,
  SignatureMismatchError,
  signatureCheckOf,
  validateOperation,
} from "../../src/sync/validation.ts";
import {
  type SpawnVerifyWorker,
  VerifierPool,
  type VerifyWorkerListener,
} from "../../src/sync/verifier-pool.ts";
import { collect, handshake, Peer, runScripted } from "./helpers.ts";
import { signedLog } from "./signed-log.ts";

const topic = Topic.fromName("verifier pool");

/** A copy of `op` whose signature has one bit flipped. */
function forged(op: Operation): Operation {
  const signature = (op.header.signature as Uint8Array).slice();
  signature[3] = (signature[3] as number) ^ 0x10;
  return decodeOperation(encodeHeader({ ...op.header, signature }), op.body);
}

function checksOf(ops: readonly Operation[]): SignatureCheck[] {
  return ops.map((op) => signatureCheckOf(op) as SignatureCheck);
}

/**
 * In-process stand-ins for workers: each answers through `answerSignatureBatch` on a later turn,
 * as a real worker would, and records the batch sizes it was given.
 */
function fakeWorkers(): { spawn: SpawnVerifyWorker; posts: number[][]; terminated: number } {
  const posts: number[][] = [];
  const state = { terminated: 0 };
  const spawn: SpawnVerifyWorker = (listener: VerifyWorkerListener) => {
    const mine: number[] = [];
    posts.push(mine);
    return {
      post(id, checks) {
        mine.push(unpackSignatureChecks(checks).length);
        setTimeout(() => {
          answerSignatureBatch({ id, checks })
            .then((response) => listener.response(response))
            .catch(() => {});
        }, 1);
      },
      terminate() {
        state.terminated++;
      },
    };
  };
  return {
    spawn,
    posts,
    get terminated() {
      return state.terminated;
    },
  };
}

describe("signature batches cross to a worker in one buffer", () => {
  it("unpacks what was packed; a key or signature of the wrong length fails as before", async () => {
    const { ops } = await signedLog(3);
    const checks = checksOf(ops);
    checks[1] = { ...(checks[1] as SignatureCheck), publicKey: new Uint8Array(31) };
    const back = unpackSignatureChecks(packSignatureChecks(checks));
    expect(back.map((c) => c.message)).toEqual(checks.map((c) => c.message));
    expect(back[0]?.publicKey).toEqual(checks[0]?.publicKey);
    const answer = await answerSignatureBatch({ id: 9, checks: packSignatureChecks(checks) });
    expect(answer).toEqual({ id: 9, results: Uint8Array.from([1, 0, 1]) });
  });

  it("a truncated buffer is an error answer, not a crash", async () => {
    const { ops } = await signedLog(2);
    const packed = packSignatureChecks(checksOf(ops));
    const answer = await answerSignatureBatch({ id: 1, checks: packed.slice(0, 100) });
    expect(answer).toMatchObject({ id: 1, error: expect.stringContaining("truncated") });
  });
});

describe("VerifierPool", () => {
  it("spreads a batch over its workers and answers in the order given", async () => {
    const { ops } = await signedLog(100);
    const batch = [...ops];
    for (const i of [5, 50, 99]) batch[i] = forged(batch[i] as Operation);
    const workers = fakeWorkers();
    const pool = new VerifierPool({ spawn: workers.spawn, size: 3, minBatch: 16 });
    const valid = await pool.verifyMany(checksOf(batch));
    expect(valid.map((ok, i) => (ok ? -1 : i)).filter((i) => i !== -1)).toEqual([5, 50, 99]);
    expect(workers.posts.map((p) => p.reduce((a, b) => a + b, 0))).toEqual([34, 34, 32]);
    expect(pool.metrics).toMatchObject({ workerChecks: 100, mainThreadChecks: 0 });
    pool.close();
    expect(workers.terminated).toBe(3);
  });

  it("verifies small batches (a live operation) on the calling thread", async () => {
    const { ops } = await signedLog(4);
    const workers = fakeWorkers();
    const pool = new VerifierPool({ spawn: workers.spawn, minBatch: 16 });
    expect(await pool.verifyMany(checksOf(ops))).toEqual([true, true, true, true]);
    expect(workers.posts).toHaveLength(0);
    expect(pool.metrics.mainThreadChecks).toBe(4);
  });

  it("falls back to the calling thread where workers cannot start", async () => {
    const { ops } = await signedLog(40);
    const batch = [...ops];
    batch[33] = forged(batch[33] as Operation);
    let attempts = 0;
    const pool = new VerifierPool({
      spawn: () => {
        attempts++;
        throw new Error("no workers here");
      },
    });
    const valid = await pool.verifyMany(checksOf(batch));
    expect(valid.indexOf(false)).toBe(33);
    expect(valid.filter((ok) => !ok)).toHaveLength(1);
    await pool.verifyMany(checksOf(ops));
    expect(attempts).toBe(1);
    expect(pool.metrics).toMatchObject({ workerChecks: 0, mainThreadChecks: 80 });
  });

  it("redoes the work of a worker that fails on the calling thread, and stops spawning", async () => {
    const { ops } = await signedLog(40);
    let spawned = 0;
    const pool = new VerifierPool({
      size: 2,
      spawn: (listener) => {
        spawned++;
        return {
          // A worker whose script did not load: it reports an error instead of an answer.
          post: () => setTimeout(() => listener.error(new Error("404")), 1),
          terminate: () => {},
        };
      },
    });
    expect(await pool.verifyMany(checksOf(ops))).toEqual(ops.map(() => true));
    expect(pool.metrics.workerFailures).toBe(2);
    expect(pool.workers).toBe(0);
    await pool.verifyMany(checksOf(ops));
    expect(spawned).toBe(2);
    expect(pool.metrics.mainThreadChecks).toBe(80);
  });

  it("ends idle workers and starts them again on demand", async () => {
    const { ops } = await signedLog(20);
    const workers = fakeWorkers();
    const fired: (() => void)[] = [];
    const pool = new VerifierPool({
      spawn: workers.spawn,
      size: 1,
      timers: {
        after: (_ms, run) => {
          fired.push(run);
          return { cancel: () => {} };
        },
        every: () => ({ cancel: () => {} }),
      },
    });
    await pool.verifyMany(checksOf(ops));
    expect(pool.workers).toBe(1);
    fired.shift()?.();
    expect(pool.workers).toBe(0);
    expect(workers.terminated).toBe(1);
    await pool.verifyMany(checksOf(ops));
    expect(pool.metrics.workersStarted).toBe(2);
  });
});

describe("the Node pool (worker_threads)", () => {
  it("verifies in worker threads with the same answers as the calling thread", async () => {
    const { ops } = await signedLog(64);
    const batch = [...ops];
    batch[17] = forged(batch[17] as Operation);
    const pool = createNodeVerifierPool({ size: 2 });
    try {
      const valid = await pool.verifyMany(checksOf(batch));
      expect(valid.indexOf(false)).toBe(17);
      expect(valid.filter((ok) => !ok)).toHaveLength(1);
      expect(pool.metrics).toMatchObject({ workerChecks: 64, workerFailures: 0 });
    } finally {
      pool.close();
    }
  });
});

describe("the Node pool with synchronous crypto.verify in its workers", () => {
  it("gives the same answers as the calling thread, every check in a worker", async () => {
    const { ops } = await signedLog(96);
    const batch = [...ops];
    batch[5] = forged(batch[5] as Operation);
    batch[70] = forged(batch[70] as Operation);
    const pool = createNodeVerifierPool({ size: 2, engine: "node-crypto" });
    try {
      const valid = await pool.verifyMany(checksOf(batch));
      const expected = await Promise.all(
        batch.map((op) =>
          checkSignature(op).then(
            () => true,
            () => false,
          ),
        ),
      );
      expect(valid).toEqual(expected);
      expect(valid.filter((ok) => !ok)).toHaveLength(2);
      expect(pool.metrics).toMatchObject({
        workerChecks: 96,
        mainThreadChecks: 0,
        workerFailures: 0,
      });
    } finally {
      pool.close();
    }
  });
});

describe("a session verifying through a pool", () => {
  async function receive(verifier: VerifierPool, ops: readonly Operation[], batchSize = 32) {
    const local = await Peer.create(1);
    const session = local.session({ role: "acceptor", verifier, batchSize });
    const events = collect(session);
    const bytes = ops.reduce((n, o) => n + o.headerBytes.length + (o.body?.length ?? 0), 0);
    const author = authorOf((ops[0] as Operation).header);
    const outcome = await runScripted(session, [
      ...handshake(topic),
      { type: "have", heights: [{ author, logId: 0, seqNum: ops.length - 1 }] },
      { type: "presync", totalOperations: ops.length, totalBytes: bytes },
      ...ops.map((op) => ({
        type: "op" as const,
        header: op.headerBytes,
        ...(op.body !== undefined ? { body: op.body } : {}),
      })),
      { type: "done" },
    ]);
    return { ...outcome, events, stored: await local.logStore.range(author, 0) };
  }

  it("stores in stream order", async () => {
    const { ops } = await signedLog(200);
    const workers = fakeWorkers();
    const pool = new VerifierPool({ spawn: workers.spawn, size: 2 });
    const { error, stored, events } = await receive(pool, ops);
    expect(error).toBeUndefined();
    expect(stored.map((o) => o.hash)).toEqual(ops.map((o) => o.hash));
    const received = events.filter((e) => e.type === "sync:operation-received");
    expect(received.map((e) => e.operation.header.seqNum)).toEqual(ops.map((_, i) => i));
    // Six batches of 32 go to the workers; the last 8 are below the pool's minimum batch.
    expect(pool.metrics).toMatchObject({ workerChecks: 192, mainThreadChecks: 8 });
  });

  it("rejects a bad signature as before: SignatureMismatchError, the valid prefix stored", async () => {
    const { ops } = await signedLog(100);
    const batch = [...ops];
    batch[70] = forged(batch[70] as Operation);
    const pool = new VerifierPool({ spawn: fakeWorkers().spawn, size: 2 });
    const { error, stored } = await receive(pool, batch);
    expect(error).toBeInstanceOf(SignatureMismatchError);
    expect((error as SignatureMismatchError).code).toBe("SIGNATURE_MISMATCH");
    expect(stored.map((o) => o.header.seqNum)).toEqual(ops.slice(0, 70).map((_, i) => i));
    let previous: Operation | undefined;
    for (const op of stored) {
      await validateOperation(op, previous);
      previous = op;
    }
  });
});

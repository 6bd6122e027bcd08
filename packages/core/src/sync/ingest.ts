import { bytesEqual } from "../bytes.ts";
import { yieldToEventLoop } from "../event-loop.ts";
import type { NodeId } from "../ids/node-id.ts";
import type { Topic } from "../ids/topic.ts";
import { logKey } from "./log-heights.ts";
import type { LogId } from "./log-id.ts";
import type { SyncMetrics } from "./metrics.ts";
import { authorOf, logIdOf, type Operation, operationSize } from "./operation.ts";
import { LogForkError, type LogStore } from "./store/log-store.ts";
import type { TopicStore } from "./store/topic-store.ts";
import {
  checkAgainstPrevious,
  checkOperation,
  checkSignature,
  firstBadSignature,
  SeqNumMismatchError,
  SignatureMismatchError,
  type SignatureVerifier,
} from "./validation.ts";

/**
 * Signatures verified between two turns of the event loop: about 30 ms of noble verification
 * on a laptop, while WebCrypto still gets enough in parallel.
 */
const VERIFY_SLICE = 32;

/** Time a slice of signature checks may take to issue before the event loop gets a turn. */
const VERIFY_SLICE_MS = 10;

/** Default number of received operations validated and stored together. */
export const DEFAULT_INGEST_BATCH_SIZE = 128;

/**
 * Default bytes (headers and bodies) after which a batch is submitted even before it holds
 * {@link DEFAULT_INGEST_BATCH_SIZE} operations: 128 operations of up to 1 MB each would be
 * 128 MB in one batch, and a catch-up holds a few batches.
 */
export const DEFAULT_INGEST_BATCH_BYTES = 1024 * 1024;

/**
 * Default number of batches verified and stored while the next one is received: enough to keep
 * a few verify workers busy, few enough that a catch-up holds a few hundred operations at most.
 */
export const DEFAULT_INGEST_MAX_IN_FLIGHT = 4;

/** What became of one received operation. */
export type IngestResult = "pending" | "duplicate" | "detached";

/** Operations stored by a flush, and the error that stopped it, if any. */
export interface FlushResult {
  readonly stored: readonly Operation[];
  readonly error?: Error;
}

/**
 * Validates received operations and stores them in batches (the I/O half of receiving; the
 * protocol half is `LogSync`). Per operation, synchronously against the log's tip (the last
 * one held, else the store's latest): structure, `seqNum`, backlink. Per batch: all
 * signatures in parallel, then one atomic `putMany` of the prefix before the first bad
 * signature. So nothing invalid is stored, nothing valid before a failure is lost, and a
 * failure mid-batch leaves no gap.
 *
 * Batches are pipelined: a submitted batch is verified (in workers, given a `VerifierPool`)
 * while the next one is received, and stored after the one before it. The session keeps at
 * most {@link OperationIngest.maxInFlight} batches in flight, so a catch-up holds at most
 * `(maxInFlight + 1) × batchSize` operations here, however long it is; and since a batch is
 * full at `batchBytes` too, at most `(maxInFlight + 1) × (batchBytes + one operation)` bytes of
 * them, however large its operations are.
 *
 * An operation that cannot be attached to its log because its predecessors are missing (the
 * remote pruned them, or in live mode they have not arrived yet) is "detached": neither stored
 * nor an error. In the sync phase that is only allowed for the first operation of a log; a
 * jump after an attached operation is a {@link SeqNumMismatchError}.
 */
export class OperationIngest {
  readonly #store: LogStore;
  readonly #topics: TopicStore | undefined;
  readonly #topic: Topic | undefined;
  readonly #verifier: SignatureVerifier | undefined;
  readonly #metrics: SyncMetrics;
  readonly batchSize: number;
  readonly batchBytes: number;
  readonly maxInFlight: number;
  #pending: Operation[] = [];
  #pendingBytes = 0;
  readonly #inFlight: { operations: Operation[]; result: Promise<FlushResult>; done: boolean }[] =
    [];
  /** The verification of the last submitted batch on this thread (see `submit`). */
  #verifying: Promise<unknown> = Promise.resolve();
  /** The storing of the last submitted batch: each batch is stored after the one before. */
  #chain: Promise<unknown> = Promise.resolve();
  /** A batch failed: later ones are verified but not stored. */
  #failed = false;
  #highWater = 0;
  readonly #tips = new Map<string, Operation>();
  /** Logs with an operation attached in this session (a later jump is an error). */
  readonly #attached = new Set<string>();
  /** Logs whose first operation in this session could not be attached. */
  readonly #detached = new Set<string>();
  readonly #associated = new Set<string>();

  constructor(options: {
    store: LogStore;
    topicStore?: TopicStore;
    topic?: Topic;
    verifier?: SignatureVerifier;
    metrics: SyncMetrics;
    batchSize?: number;
    batchBytes?: number;
    maxInFlight?: number;
  }) {
    this.#store = options.store;
    this.#topics = options.topicStore;
    this.#topic = options.topic;
    this.#verifier = options.verifier;
    this.#metrics = options.metrics;
    this.batchSize = options.batchSize ?? DEFAULT_INGEST_BATCH_SIZE;
    this.batchBytes = options.batchBytes ?? DEFAULT_INGEST_BATCH_BYTES;
    this.maxInFlight = Math.max(0, options.maxInFlight ?? DEFAULT_INGEST_MAX_IN_FLIGHT);
  }

  /** How many validated operations wait for the next {@link OperationIngest.submit}. */
  get pending(): number {
    return this.#pending.length;
  }

  /** Whether the pending operations make a batch: `batchSize` of them, or `batchBytes`. */
  get batchFull(): boolean {
    return this.#pending.length >= this.batchSize || this.#pendingBytes >= this.batchBytes;
  }

  /**
   * Checks one operation and queues it. Throws an `InvalidOperationError` (or `LogForkError`)
   * when it does not fit its log. Does not flush: call {@link OperationIngest.flush} when
   * {@link OperationIngest.batchFull}.
   */
  async add(operation: Operation, phase: "sync" | "live"): Promise<IngestResult> {
    checkOperation(operation);
    const { header } = operation;
    const author = authorOf(header);
    const logId = logIdOf(header);
    const key = logKey(author, logId);
    if (this.#detached.has(key) && phase === "sync") {
      this.#metrics.detachedOperations++;
      return "detached";
    }
    const tip = this.#tips.get(key) ?? (await this.#store.latest(author, logId));
    const height = tip?.header.seqNum ?? -1;
    const { seqNum } = header;
    if (seqNum === height + 1) {
      if (tip !== undefined) checkAgainstPrevious(operation, tip);
    } else if (seqNum <= height) {
      const held = (p: Operation) => p.header.seqNum === seqNum && logKeyOf(p) === key;
      const existing =
        this.#pending.find(held) ??
        this.#inFlight.map((b) => b.operations.find(held)).find((p) => p !== undefined) ??
        (await this.#store.get(author, logId, seqNum));
      if (existing !== undefined && !bytesEqual(existing.hash, operation.hash)) {
        throw new LogForkError(seqNum);
      }
      this.#metrics.duplicateOperations++;
      return "duplicate";
    } else {
      if (phase === "sync" && this.#attached.has(key)) {
        throw new SeqNumMismatchError(height + 1, seqNum);
      }
      if (phase === "sync") this.#detached.add(key);
      this.#metrics.detachedOperations++;
      return "detached";
    }
    this.#attached.add(key);
    this.#tips.set(key, operation);
    this.#pending.push(operation);
    this.#pendingBytes += operationSize(operation);
    return "pending";
  }

  /**
   * Starts verifying the pending operations now and queues their storing behind the batches
   * submitted before (so operations are stored in stream order), without waiting: the caller
   * receives the next batch meanwhile. Collect each batch's outcome with
   * {@link OperationIngest.settleOldest}; keep {@link OperationIngest.inFlight} at most
   * {@link OperationIngest.maxInFlight} so that what is held stays bounded by the batch size.
   */
  submit(): void {
    const batch = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    if (batch.length === 0) return;
    // A batch verifier (a worker pool) takes batches as they come. Verification on this thread
    // goes one batch after the other: batches verified side by side would each run a slice per
    // turn of the event loop, and a synchronous verifier (noble) would hold the loop for all of
    // them at once.
    const verified =
      this.#verifier?.verifyMany !== undefined
        ? this.#verify(batch)
        : this.#verifying.then(() => this.#verify(batch));
    this.#verifying = verified.catch(() => {});
    // Never rejects: #storeBatch reports errors in its result.
    const result = this.#chain.then(() => this.#storeBatch(verified));
    this.#chain = result;
    const entry = { operations: batch, result, done: false };
    const markDone = (): void => {
      entry.done = true;
    };
    // Neither handler throws, so the returned promise cannot reject.
    void result.then(markDone, markDone);
    this.#inFlight.push(entry);
    this.#highWater = Math.max(this.#highWater, this.held);
  }

  /** Batches submitted and not yet settled. */
  get inFlight(): number {
    return this.#inFlight.length;
  }

  /** Whether the oldest batch in flight is verified and stored (settling it will not wait). */
  get oldestDone(): boolean {
    return this.#inFlight[0]?.done ?? false;
  }

  /** Operations held now: pending and in flight (verifying or storing). */
  get held(): number {
    let held = this.#pending.length;
    for (const b of this.#inFlight) held += b.operations.length;
    return held;
  }

  /** The most operations held at once so far (what bounds a catch-up's memory here). */
  get highWater(): number {
    return Math.max(this.#highWater, this.held);
  }

  /**
   * Waits for the oldest submitted batch to be verified and stored: what it stored, and the
   * error that stopped it (a bad signature, a store failure), if any. After an error, later
   * batches store nothing. `undefined` when nothing is in flight. Never throws.
   */
  async settleOldest(): Promise<FlushResult | undefined> {
    const oldest = this.#inFlight[0];
    if (oldest === undefined) return undefined;
    const result = await oldest.result;
    if (this.#inFlight[0] === oldest) this.#inFlight.shift();
    // With nothing held, the store is the truth again (another session may append meanwhile).
    if (this.#inFlight.length === 0 && this.#pending.length === 0) this.#tips.clear();
    return result;
  }

  /**
   * Verifies and stores everything pending and in flight, in order. Never throws: returns what
   * was stored and the first error (bad signature, store failure).
   */
  async flush(): Promise<FlushResult> {
    this.submit();
    const stored: Operation[] = [];
    let error: Error | undefined;
    for (;;) {
      const result = await this.settleOldest();
      if (result === undefined) break;
      stored.push(...result.stored);
      error ??= result.error;
    }
    return error === undefined ? { stored } : { stored, error };
  }

  /** Stores the valid prefix of a verified batch atomically, unless an earlier batch failed. */
  async #storeBatch(
    verified: Promise<{ valid: Operation[]; error?: Error }>,
  ): Promise<FlushResult> {
    let outcome: { valid: Operation[]; error?: Error };
    try {
      outcome = await verified;
    } catch (verifyError) {
      // A verifier that fails (rather than answering false) stores nothing of the batch.
      outcome = { valid: [], error: verifyError as Error };
    }
    const { valid, error: signatureError } = outcome;
    // Nothing after a failure is stored: the log would go on past an invalid operation.
    if (this.#failed) return { stored: [] };
    let error = signatureError;
    let stored: Operation[] = [];
    try {
      if (valid.length > 0) {
        const result = await this.#store.putMany(valid);
        // Another session may have stored some of them meanwhile: report only ours.
        stored = [...result.inserted];
        this.#metrics.storedOperations += stored.length;
        this.#metrics.duplicateOperations += result.duplicates;
        await this.#associate(valid);
      }
    } catch (storeError) {
      error = storeError as Error;
    }
    if (error !== undefined) this.#failed = true;
    return error === undefined ? { stored } : { stored, error };
  }

  /** The prefix of `batch` before the first bad signature, and that signature's error. */
  async #verify(batch: Operation[]): Promise<{ valid: Operation[]; error?: Error }> {
    const verifier = this.#verifier;
    if (verifier?.verifyMany !== undefined) {
      // A batch verifier (a worker pool) takes the whole batch at once and answers in order.
      const bad = await firstBadSignature(batch, {
        verify: verifier.verify.bind(verifier),
        verifyMany: verifier.verifyMany.bind(verifier),
      });
      return bad === -1
        ? { valid: batch }
        : { valid: batch.slice(0, bad), error: new SignatureMismatchError() };
    }
    let start = 0;
    while (start < batch.length) {
      // Verification may be synchronous (noble): give timers and I/O a turn between slices, or
      // a long catch-up would hold the event loop until the connection's liveness ping fails.
      await yieldToEventLoop();
      // A slice ends after VERIFY_SLICE checks or once issuing them took VERIFY_SLICE_MS: an
      // asynchronous verifier (WebCrypto) issues a whole slice in well under that and checks
      // it in parallel; a synchronous one verifies while issuing, so on a slow device (or a
      // machine that gives us little CPU) a turn of the event loop still comes every few ms.
      const began = performance.now();
      const checks: Promise<void>[] = [];
      let end = start;
      while (end < batch.length && end - start < VERIFY_SLICE) {
        checks.push(checkSignature(batch[end] as Operation, this.#verifier));
        end++;
        if (performance.now() - began >= VERIFY_SLICE_MS) break;
      }
      const settled = await Promise.allSettled(checks);
      const bad = settled.findIndex((c) => c.status === "rejected");
      if (bad !== -1) {
        const error = (settled[bad] as PromiseRejectedResult).reason as Error;
        return { valid: batch.slice(0, start + bad), error };
      }
      start = end;
    }
    return { valid: batch };
  }

  async #associate(operations: readonly Operation[]): Promise<void> {
    if (this.#topics === undefined || this.#topic === undefined) return;
    const fresh = new Map<string, [NodeId, LogId]>();
    for (const op of operations) {
      const key = logKeyOf(op);
      if (!this.#associated.has(key)) fresh.set(key, [authorOf(op.header), logIdOf(op.header)]);
    }
    for (const [key, [author, logId]] of fresh) {
      await this.#topics.associate(this.#topic, author, logId);
      this.#associated.add(key);
    }
  }
}

function logKeyOf(operation: Operation): string {
  return logKey(authorOf(operation.header), logIdOf(operation.header));
}

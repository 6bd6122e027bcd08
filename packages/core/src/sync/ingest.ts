import { bytesEqual } from "../bytes.ts";
import { yieldToEventLoop } from "../event-loop.ts";
import type { NodeId } from "../ids/node-id.ts";
import type { Topic } from "../ids/topic.ts";
import { logKey } from "./log-heights.ts";
import type { LogId } from "./log-id.ts";
import type { SyncMetrics } from "./metrics.ts";
import { authorOf, logIdOf, type Operation } from "./operation.ts";
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

/** Default number of received operations validated and stored together. */
export const DEFAULT_INGEST_BATCH_SIZE = 128;

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
 * pending one, else the store's latest): structure, `seqNum`, backlink. Per batch: all
 * signatures in parallel, then one atomic `putMany` of the prefix before the first bad
 * signature. So nothing invalid is stored, nothing valid before a failure is lost, and a
 * failure mid-batch leaves no gap.
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
  #pending: Operation[] = [];
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
  }) {
    this.#store = options.store;
    this.#topics = options.topicStore;
    this.#topic = options.topic;
    this.#verifier = options.verifier;
    this.#metrics = options.metrics;
    this.batchSize = options.batchSize ?? DEFAULT_INGEST_BATCH_SIZE;
  }

  /** How many validated operations wait for the next {@link OperationIngest.flush}. */
  get pending(): number {
    return this.#pending.length;
  }

  /**
   * Checks one operation and queues it. Throws an `InvalidOperationError` (or `LogForkError`)
   * when it does not fit its log. Does not flush: call {@link OperationIngest.flush} when
   * {@link OperationIngest.pending} reaches the batch size.
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
      const existing =
        this.#pending.find((p) => p.header.seqNum === seqNum && logKeyOf(p) === key) ??
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
    return "pending";
  }

  /**
   * Verifies the signatures of the pending operations and stores the valid prefix atomically.
   * Never throws: returns what was stored and the first error (bad signature, store failure).
   */
  async flush(): Promise<FlushResult> {
    const batch = this.#pending;
    this.#pending = [];
    this.#tips.clear();
    if (batch.length === 0) return { stored: [] };
    const { valid, error: signatureError } = await this.#verify(batch);
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
    for (let start = 0; start < batch.length; start += VERIFY_SLICE) {
      // Verification may be synchronous (noble): give timers and I/O a turn between slices, or
      // a long catch-up would hold the event loop until the connection's liveness ping fails.
      await yieldToEventLoop();
      const slice = batch.slice(start, start + VERIFY_SLICE);
      const checks = await Promise.allSettled(
        slice.map((op) => checkSignature(op, this.#verifier)),
      );
      const bad = checks.findIndex((c) => c.status === "rejected");
      if (bad !== -1) {
        const error = (checks[bad] as PromiseRejectedResult).reason as Error;
        return { valid: batch.slice(0, start + bad), error };
      }
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

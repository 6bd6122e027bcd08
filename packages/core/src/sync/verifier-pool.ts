import { yieldToEventLoop } from "../event-loop.ts";
import type { ScheduledTimer, Timers } from "../runtime/timers.ts";
import {
  packSignatureChecks,
  type SignatureBatchResponse,
  type SignatureCheck,
} from "./signature-batch.ts";
import { defaultVerifier, type SignatureVerifier } from "./validation.ts";

/** A worker as the pool sees it: Web Worker and `worker_threads` adapters implement this. */
export interface VerifyWorker {
  /** Sends a batch; `checks` is transferred (the caller's buffer is emptied). */
  post(id: number, checks: ArrayBuffer): void;
  /** Ends the worker now. */
  terminate(): void;
}

/** What a worker reports back to the pool. */
export interface VerifyWorkerListener {
  /** The worker answered a batch (matched to its request by id). */
  response(response: SignatureBatchResponse): void;
  /** The worker failed (its script did not load, it crashed): it is dropped. */
  error(error: Error): void;
}

/**
 * Starts one worker that answers with `answerSignatureBatch`. Throws when the runtime cannot
 * (no `Worker`): the pool then verifies on the calling thread.
 */
export type SpawnVerifyWorker = (listener: VerifyWorkerListener) => VerifyWorker;

/** Options of {@link VerifierPool}. */
export interface VerifierPoolOptions {
  readonly spawn: SpawnVerifyWorker;
  /** Workers at most. Default {@link defaultVerifierPoolSize}. */
  readonly size?: number;
  /** Batches smaller than this are verified on the calling thread (a live operation). Default 16. */
  readonly minBatch?: number;
  /** Verifies on the calling thread (small batches, no workers, a failed worker). Default: strict Ed25519. */
  readonly fallback?: SignatureVerifier;
  /** Workers end after this long without work and start again on demand. Default 30,000 ms. */
  readonly idleMs?: number;
  readonly timers?: Timers;
}

/** Counters of a {@link VerifierPool}. */
export interface VerifierPoolMetrics {
  /** Signatures verified in workers. */
  workerChecks: number;
  /** Signatures verified on the calling thread (small batches, fallback). */
  mainThreadChecks: number;
  /** Workers that failed (did not start or crashed); their work was redone on the calling thread. */
  workerFailures: number;
  /** Workers started so far. */
  workersStarted: number;
}

/**
 * The platform's timers, except that a pending idle timer does not keep a Node process alive
 * (the workers themselves do not either).
 */
const unrefTimers: Timers = {
  after(delayMs, run) {
    const handle = setTimeout(run, Math.max(0, delayMs)) as unknown as { unref?: () => void };
    handle.unref?.();
    return { cancel: () => clearTimeout(handle as unknown as number) };
  },
  every(intervalMs, run) {
    const handle = setInterval(run, intervalMs) as unknown as { unref?: () => void };
    handle.unref?.();
    return { cancel: () => clearInterval(handle as unknown as number) };
  },
};

/** Signatures checked on the calling thread between two turns of the event loop. */
const MAIN_THREAD_SLICE = 32;

/**
 * One worker per core beside the one the calling thread needs, at least one, at most four (the
 * calling thread decodes, hashes and stores what the workers verify; more workers than that
 * only wait for it).
 */
export function defaultVerifierPoolSize(): number {
  const cores = (globalThis.navigator as { hardwareConcurrency?: number } | undefined)
    ?.hardwareConcurrency;
  return Math.max(1, Math.min(4, (cores ?? 2) - 1));
}

interface Job {
  readonly checks: readonly SignatureCheck[];
  readonly resolve: (valid: boolean[]) => void;
}

interface Slot {
  readonly worker: VerifyWorker;
  readonly jobs: Map<number, Job>;
  /** Whether it has answered once (a worker that fails before that never will). */
  answered: boolean;
}

/**
 * A {@link SignatureVerifier} that spreads batches of signature checks over a few workers (Web
 * Workers in browsers, `worker_threads` in Node), so that a catch-up verifies on other cores
 * while this thread decodes and stores. Results come back in the order given, so callers store
 * in stream order as before; the accepted set is the same (workers run the same strict
 * Ed25519). Where workers cannot start, or one fails, the checks run on this thread instead:
 * slower, never a different answer.
 *
 * Workers start on the first large batch and end after {@link VerifierPoolOptions.idleMs}
 * without work, so an idle node holds no threads.
 */
export class VerifierPool implements SignatureVerifier {
  readonly size: number;
  readonly minBatch: number;
  readonly metrics: VerifierPoolMetrics = {
    workerChecks: 0,
    mainThreadChecks: 0,
    workerFailures: 0,
    workersStarted: 0,
  };
  readonly #spawn: SpawnVerifyWorker;
  readonly #fallback: SignatureVerifier;
  readonly #idleMs: number;
  readonly #timers: Timers;
  readonly #slots: Slot[] = [];
  #idleTimer: ScheduledTimer | undefined;
  #nextId = 1;
  /** Workers cannot start here (or the pool is closed): everything runs on this thread. */
  #unavailable = false;

  constructor(options: VerifierPoolOptions) {
    this.#spawn = options.spawn;
    this.size = Math.max(1, options.size ?? defaultVerifierPoolSize());
    this.minBatch = options.minBatch ?? 16;
    this.#fallback = options.fallback ?? defaultVerifier;
    this.#idleMs = options.idleMs ?? 30_000;
    this.#timers = options.timers ?? unrefTimers;
  }

  /** Workers running now. */
  get workers(): number {
    return this.#slots.length;
  }

  /** One check, on this thread (a worker round trip costs more than it saves). */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
    this.metrics.mainThreadChecks++;
    return this.#fallback.verify(publicKey, message, signature).catch(() => false);
  }

  /** Verifies `checks`, spread over the workers; one result per check, in order. */
  async verifyMany(checks: readonly SignatureCheck[]): Promise<boolean[]> {
    if (checks.length < this.minBatch || !this.#ensureWorkers()) {
      return this.#onThisThread(checks);
    }
    this.#idleTimer?.cancel();
    this.#idleTimer = undefined;
    const parts = Math.min(this.#slots.length, Math.ceil(checks.length / this.minBatch));
    const per = Math.ceil(checks.length / parts);
    const pending: Promise<boolean[]>[] = [];
    for (let start = 0; start < checks.length; start += per) {
      pending.push(this.#dispatch(checks.slice(start, start + per)));
    }
    const results = (await Promise.all(pending)).flat();
    this.#maybeIdle();
    return results;
  }

  /** Ends every worker; later batches run on this thread. Work in flight is finished here. */
  close(): void {
    this.#unavailable = true;
    this.#idleTimer?.cancel();
    for (const slot of [...this.#slots]) this.#drop(slot);
  }

  /** Starts workers up to the size; false when none can run. */
  #ensureWorkers(): boolean {
    while (!this.#unavailable && this.#slots.length < this.size) {
      let slot: Slot | undefined;
      try {
        const worker = this.#spawn({
          response: (response) => {
            if (slot !== undefined) this.#onResponse(slot, response);
          },
          error: () => {
            if (slot !== undefined) this.#onError(slot);
          },
        });
        slot = { worker, jobs: new Map(), answered: false };
      } catch {
        this.#unavailable = true;
        break;
      }
      this.metrics.workersStarted++;
      this.#slots.push(slot);
    }
    return this.#slots.length > 0;
  }

  #dispatch(checks: readonly SignatureCheck[]): Promise<boolean[]> {
    // The least busy worker; they all verify at the same rate.
    let slot = this.#slots[0] as Slot;
    for (const s of this.#slots) if (s.jobs.size < slot.jobs.size) slot = s;
    const id = this.#nextId++;
    return new Promise<boolean[]>((resolve) => {
      slot.jobs.set(id, { checks, resolve });
      try {
        slot.worker.post(id, packSignatureChecks(checks));
      } catch {
        this.#onError(slot);
      }
    });
  }

  #onResponse(slot: Slot, response: SignatureBatchResponse): void {
    const job = slot.jobs.get(response.id);
    if (job === undefined) return;
    slot.jobs.delete(response.id);
    slot.answered = true;
    if ("error" in response || response.results.length !== job.checks.length) {
      // Never expected: redo it here rather than trust a partial answer.
      this.#redo(job);
      return;
    }
    this.metrics.workerChecks += job.checks.length;
    job.resolve(Array.from(response.results, (r) => r === 1));
  }

  #onError(slot: Slot): void {
    this.metrics.workerFailures++;
    // A worker that fails before answering anything will not start here at all (its script
    // did not load, workers are forbidden): stop trying.
    if (!slot.answered) this.#unavailable = true;
    this.#drop(slot);
  }

  /** Removes a worker; its unanswered jobs are redone on this thread. */
  #drop(slot: Slot): void {
    const at = this.#slots.indexOf(slot);
    if (at !== -1) this.#slots.splice(at, 1);
    const jobs = [...slot.jobs.values()];
    slot.jobs.clear();
    try {
      slot.worker.terminate();
    } catch {
      // Already gone.
    }
    for (const job of jobs) this.#redo(job);
  }

  #redo(job: Job): void {
    this.#onThisThread(job.checks).then(job.resolve, () =>
      job.resolve(job.checks.map(() => false)),
    );
  }

  #maybeIdle(): void {
    if (this.#slots.some((s) => s.jobs.size > 0) || this.#idleTimer !== undefined) return;
    this.#idleTimer = this.#timers.after(this.#idleMs, () => {
      this.#idleTimer = undefined;
      if (this.#slots.some((s) => s.jobs.size > 0)) return;
      for (const slot of [...this.#slots]) this.#drop(slot);
    });
  }

  async #onThisThread(checks: readonly SignatureCheck[]): Promise<boolean[]> {
    const results: boolean[] = [];
    for (let start = 0; start < checks.length; start += MAIN_THREAD_SLICE) {
      // The fallback may be synchronous (noble): let timers and I/O run between slices.
      if (start > 0) await yieldToEventLoop();
      const slice = checks.slice(start, start + MAIN_THREAD_SLICE);
      results.push(
        ...(await Promise.all(
          slice.map((c) =>
            this.#fallback.verify(c.publicKey, c.message, c.signature).catch(() => false),
          ),
        )),
      );
    }
    this.metrics.mainThreadChecks += checks.length;
    return results;
  }
}

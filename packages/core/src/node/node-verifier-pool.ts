import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { SignatureBatchResponse } from "../sync/signature-batch.ts";
import { VerifierPool, type VerifierPoolOptions } from "../sync/verifier-pool.ts";

/**
 * The worker's file: `verify-worker.js` beside this module in the built package; run from the
 * TypeScript sources (tests, `--conditions=source`), the `.ts` file, which Node ≥ 22.18 runs
 * with its type stripping.
 */
const WORKER_URL = new URL(
  import.meta.url.endsWith(".ts") ? "./verify-worker.ts" : "./verify-worker.js",
  import.meta.url,
);

/**
 * How a Node verify worker checks signatures: `"webcrypto"`, with `crypto.subtle` (each check a
 * job on libuv's thread pool, which the whole process shares), or `"node-crypto"`, with the
 * synchronous `crypto.verify` on the worker's own thread (the same OpenSSL check under the same
 * strict rule, so the same answers).
 */
export type NodeVerifyEngine = "webcrypto" | "node-crypto";

/** Options of {@link createNodeVerifierPool}. */
export interface NodeVerifierPoolOptions extends Omit<VerifierPoolOptions, "spawn"> {
  /** How the workers verify. Default {@link DEFAULT_NODE_VERIFY_ENGINE}. */
  readonly engine?: NodeVerifyEngine;
}

/**
 * The engine of Node verify workers unless told otherwise. Still WebCrypto: in four runs of the
 * sync catch-up bench (2 cores, load 1–20) `crypto.verify` took less CPU per signature
 * (126–172 µs against WebCrypto's 138–248), but its pools caught up faster than WebCrypto
 * pools of the same size in only 4 of 8 pairs.
 */
export const DEFAULT_NODE_VERIFY_ENGINE: NodeVerifyEngine = "webcrypto";

/**
 * A {@link VerifierPool} of `worker_threads` workers (Node). The workers do not keep the
 * process alive; where one cannot start, the pool verifies on the main thread.
 */
export function createNodeVerifierPool(options: NodeVerifierPoolOptions = {}): VerifierPool {
  const { engine = DEFAULT_NODE_VERIFY_ENGINE, ...poolOptions } = options;
  return new VerifierPool({
    size: Math.max(1, Math.min(4, availableParallelism() - 1)),
    ...poolOptions,
    spawn: (listener) => {
      const worker = new Worker(WORKER_URL, { name: "p2panda-verify", workerData: { engine } });
      worker.unref();
      worker.on("message", (response: SignatureBatchResponse) => listener.response(response));
      worker.on("error", (error) => listener.error(error));
      worker.on("exit", (code) => {
        if (code !== 0) listener.error(new Error(`verify worker exited with ${code}`));
      });
      return {
        post: (id, checks) => worker.postMessage({ id, checks }, [checks]),
        terminate: () => {
          worker.terminate().catch(() => {});
        },
      };
    },
  });
}

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
 * A {@link VerifierPool} of `worker_threads` workers (Node). The workers do not keep the
 * process alive; where one cannot start, the pool verifies on the main thread.
 */
export function createNodeVerifierPool(
  options: Omit<VerifierPoolOptions, "spawn"> = {},
): VerifierPool {
  return new VerifierPool({
    size: Math.max(1, Math.min(4, availableParallelism() - 1)),
    ...options,
    spawn: (listener) => {
      const worker = new Worker(WORKER_URL, { name: "p2panda-verify" });
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

// Its own entry point (`@p2panda-web/core/web-verifier-pool`), not part of `core/sync`: a bundler
// emits the worker file for every module graph this file is in, used or not (+15 KB gzip in
// the example app's bundle when it sat in core/sync).
import type { SignatureBatchResponse } from "./signature-batch.ts";
import { VerifierPool, type VerifierPoolOptions } from "./verifier-pool.ts";

/**
 * A {@link VerifierPool} of module Web Workers (browsers). Where `Worker` is missing, or the
 * worker script does not load (a bundler that did not emit it, a strict CSP), the pool verifies
 * on the page's thread as before.
 *
 * The worker is started as `new Worker(new URL("./verify-worker.js", import.meta.url), { type:
 * "module" })`, the form Vite and other bundlers recognise: an app that bundles this package
 * gets the worker emitted as a file of its own.
 */
export function createWebVerifierPool(
  options: Omit<VerifierPoolOptions, "spawn"> = {},
): VerifierPool {
  return new VerifierPool({
    ...options,
    spawn: (listener) => {
      if (typeof Worker === "undefined") throw new Error("no Web Workers here");
      const worker = new Worker(new URL("./verify-worker.js", import.meta.url), {
        type: "module",
        name: "p2panda-verify",
      });
      worker.onmessage = (event: MessageEvent<SignatureBatchResponse>) =>
        listener.response(event.data);
      worker.onerror = (event) => {
        event.preventDefault();
        listener.error(new Error(event.message || "verify worker failed"));
      };
      worker.onmessageerror = () => listener.error(new Error("verify worker message error"));
      return {
        post: (id, checks) => worker.postMessage({ id, checks }, [checks]),
        terminate: () => worker.terminate(),
      };
    },
  });
}

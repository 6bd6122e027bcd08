// The entry of a verify worker in browsers (a module Web Worker started by
// `createWebVerifierPool`): answers each batch of signature checks it is sent.
import { answerSignatureBatch, type SignatureBatchRequest } from "./signature-batch.ts";

/** The part of a dedicated worker's global scope used here (the DOM lib lacks its type). */
interface WorkerScope {
  onmessage: ((event: MessageEvent<SignatureBatchRequest>) => void) | null;
  postMessage(message: unknown, transfer: Transferable[]): void;
}

const scope = globalThis as unknown as WorkerScope;
scope.onmessage = (event) => {
  answerSignatureBatch(event.data)
    .then((response) =>
      scope.postMessage(response, "results" in response ? [response.results.buffer] : []),
    )
    .catch(() => {});
};

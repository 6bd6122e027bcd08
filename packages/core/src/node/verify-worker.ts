// The entry of a verify worker in Node (a `worker_threads` worker started by
// `createNodeVerifierPool`): answers each batch of signature checks it is sent.
import { parentPort } from "node:worker_threads";
import { answerSignatureBatch, type SignatureBatchRequest } from "../sync/signature-batch.ts";

const port = parentPort;
if (port === null) throw new Error("verify-worker runs as a worker thread");
port.on("message", (request: SignatureBatchRequest) => {
  answerSignatureBatch(request)
    .then((response) =>
      port.postMessage(response, "results" in response ? [response.results.buffer] : []),
    )
    .catch(() => {});
});

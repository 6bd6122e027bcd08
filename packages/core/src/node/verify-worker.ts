// The entry of a verify worker in Node (a `worker_threads` worker started by
// `createNodeVerifierPool`): answers each batch of signature checks it is sent, with the engine
// the pool chose (`workerData.engine`).
import { parentPort, workerData } from "node:worker_threads";
import {
  answerSignatureBatch,
  type SignatureBatchRequest,
  type SignatureBatchResponse,
} from "../sync/signature-batch.ts";
import { createNodeCryptoVerify } from "./node-crypto-ed25519.ts";

const port = parentPort;
if (port === null) throw new Error("verify-worker runs as a worker thread");

const engine = (workerData as { engine?: string } | null)?.engine;
const verifySync = engine === "node-crypto" ? createNodeCryptoVerify() : undefined;

const reply = (response: SignatureBatchResponse): void =>
  port.postMessage(response, "results" in response ? [response.results.buffer] : []);

port.on("message", (request: SignatureBatchRequest) => {
  answerSignatureBatch(request, verifySync)
    .then(reply)
    .catch(() => {});
});

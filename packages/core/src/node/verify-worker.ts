// The entry of a verify worker in Node (a `worker_threads` worker started by
// `createNodeVerifierPool`): answers each batch of signature checks it is sent, with the engine
// the pool chose (`workerData.engine`).
import { parentPort, workerData } from "node:worker_threads";
import {
  answerSignatureBatch,
  type SignatureBatchRequest,
  type SignatureBatchResponse,
  unpackSignatureChecks,
} from "../sync/signature-batch.ts";
import { createNodeCryptoVerify, type SyncEd25519Verify } from "./node-crypto-ed25519.ts";

const port = parentPort;
if (port === null) throw new Error("verify-worker runs as a worker thread");

const engine = (workerData as { engine?: string } | null)?.engine;
const verifySync = engine === "node-crypto" ? createNodeCryptoVerify() : undefined;

/** The whole batch on this thread, one check after the other: this worker is one core of it. */
function answerSync(
  request: SignatureBatchRequest,
  verify: SyncEd25519Verify,
): SignatureBatchResponse {
  try {
    const checks = unpackSignatureChecks(request.checks);
    const results = new Uint8Array(checks.length);
    for (const [i, c] of checks.entries()) {
      results[i] = verify(c.publicKey, c.message, c.signature) ? 1 : 0;
    }
    return { id: request.id, results };
  } catch (error) {
    return { id: request.id, error: String(error) };
  }
}

const reply = (response: SignatureBatchResponse): void =>
  port.postMessage(response, "results" in response ? [response.results.buffer] : []);

port.on("message", (request: SignatureBatchRequest) => {
  if (verifySync !== undefined) {
    reply(answerSync(request, verifySync));
    return;
  }
  answerSignatureBatch(request)
    .then(reply)
    .catch(() => {});
});

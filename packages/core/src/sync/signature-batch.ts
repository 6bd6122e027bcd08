import { verifySignature } from "../identity/ed25519.ts";

/** One Ed25519 signature to check: what `SignatureVerifier.verify` takes. */
export interface SignatureCheck {
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
}

/** A batch of checks sent to a verify worker: packed into one transferable buffer. */
export interface SignatureBatchRequest {
  readonly id: number;
  readonly checks: ArrayBuffer;
}

/** A verify worker's answer: one byte per check (1 valid, 0 not), in the order sent. */
export type SignatureBatchResponse =
  | { readonly id: number; readonly results: Uint8Array<ArrayBuffer> }
  | { readonly id: number; readonly error: string };

const KEY = 32;
const SIGNATURE = 64;

/**
 * Packs checks into one buffer, `count` then per check `messageLength ‖ key ‖ signature ‖
 * message` (lengths u32 little-endian), so a batch crosses to a worker as one transfer instead
 * of a structured clone of three arrays per check. A key or signature of the wrong length is
 * packed as zeros: it then fails the strict pre-checks in the worker exactly as it would here.
 */
export function packSignatureChecks(checks: readonly SignatureCheck[]): ArrayBuffer {
  let size = 4;
  for (const c of checks) size += 4 + KEY + SIGNATURE + c.message.length;
  const buffer = new ArrayBuffer(size);
  const bytes = new Uint8Array(buffer);
  const view = new DataView(buffer);
  view.setUint32(0, checks.length, true);
  let at = 4;
  for (const c of checks) {
    view.setUint32(at, c.message.length, true);
    at += 4;
    if (c.publicKey.length === KEY) bytes.set(c.publicKey, at);
    at += KEY;
    if (c.signature.length === SIGNATURE) bytes.set(c.signature, at);
    at += SIGNATURE;
    bytes.set(c.message, at);
    at += c.message.length;
  }
  return buffer;
}

/** The checks of a packed buffer (views into it). Throws `RangeError` on a malformed buffer. */
export function unpackSignatureChecks(buffer: ArrayBuffer): SignatureCheck[] {
  const view = new DataView(buffer);
  const bytes = new Uint8Array(buffer);
  const count = view.getUint32(0, true);
  const checks: SignatureCheck[] = [];
  let at = 4;
  for (let i = 0; i < count; i++) {
    const length = view.getUint32(at, true);
    at += 4;
    const end = at + KEY + SIGNATURE + length;
    if (end > bytes.length) throw new RangeError("truncated signature batch");
    checks.push({
      publicKey: bytes.subarray(at, at + KEY),
      signature: bytes.subarray(at + KEY, at + KEY + SIGNATURE),
      message: bytes.subarray(at + KEY + SIGNATURE, end),
    });
    at = end;
  }
  return checks;
}

/**
 * A worker's side: verifies every check of a request and answers. Never throws. By default with
 * strict Ed25519 (WebCrypto where the worker has it, all in flight at once); `verify` may be a
 * synchronous check instead, which then runs the whole batch on the worker's own thread.
 */
export async function answerSignatureBatch(
  request: SignatureBatchRequest,
  verify: (
    publicKey: Uint8Array,
    message: Uint8Array,
    signature: Uint8Array,
  ) => boolean | Promise<boolean> = verifySignature,
): Promise<SignatureBatchResponse> {
  try {
    const checks = unpackSignatureChecks(request.checks);
    const valid = await Promise.all(checks.map((c) => verify(c.publicKey, c.message, c.signature)));
    return { id: request.id, results: Uint8Array.from(valid, (ok) => (ok ? 1 : 0)) };
  } catch (error) {
    return { id: request.id, error: String(error) };
  }
}

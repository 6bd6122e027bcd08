import { decodeHeader, type Operation } from "@p2panda-web/core/sync";
import { LogStoreError } from "./errors.ts";

/**
 * Rebuilds an operation from what a backend keeps: its id, the exact header bytes and the body.
 * The header is decoded again (strictly) instead of being stored a second time in another form,
 * so what a store hands out is always exactly what was signed.
 */
export function operationFromStored(
  hash: Uint8Array,
  headerBytes: Uint8Array,
  body: Uint8Array | null | undefined,
): Operation {
  let header: Operation["header"];
  try {
    header = decodeHeader(headerBytes);
  } catch (error) {
    throw new LogStoreError("a stored operation header cannot be decoded", { cause: error });
  }
  return {
    hash,
    header,
    headerBytes,
    ...(body !== undefined && body !== null ? { body } : {}),
  };
}

/**
 * `bytes` as a standalone array. A view into a larger buffer (a decoded network frame) would
 * make IndexedDB's structured clone store the whole buffer.
 */
export function ownBytes(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? bytes
    : bytes.slice();
}

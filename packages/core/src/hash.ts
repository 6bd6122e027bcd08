import { concatBytes } from "./bytes.ts";
import { blake3 } from "./crypto/blake3.ts";

/** Length of a {@link hash} in bytes. */
export const HASH_LENGTH = 32;

/** BLAKE3 (32 bytes) of the concatenation of `parts`. */
export function hash(...parts: Uint8Array[]): Uint8Array {
  return blake3(parts.length === 1 ? (parts[0] as Uint8Array) : concatBytes(...parts));
}

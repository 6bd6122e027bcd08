import { encodedCborSize } from "../codec/cbor.ts";
import { framedSize } from "../codec/framing.ts";

/** Bytes `message` takes on the wire: its CBOR encoding in a length-prefixed frame. */
export function frameSize(message: unknown): number {
  return framedSize(encodedCborSize(message));
}

/**
 * Bytes on the wire of a message whose bulk is one list, measured without encoding the list:
 * `emptySize` is the CBOR size of the message with that list empty, `entriesSize` the sum of
 * the CBOR sizes of its `count` entries (a simulator caches the size of each shared entry, so
 * a message of 256 transport infos costs 256 lookups instead of an encoding). Exactly
 * {@link frameSize} of the full message: a CBOR array's head grows with its length the same way
 * an unsigned integer's does, and the rest is the entries' bytes in a row.
 */
export function frameSizeWithList(emptySize: number, count: number, entriesSize: number): number {
  return framedSize(emptySize - encodedCborSize(0) + encodedCborSize(count) + entriesSize);
}

import { compareBytes, toHex } from "../bytes.ts";
import { encodeCbor } from "../codec/cbor.ts";
import { isBytes } from "../codec/message-shape.ts";
import { InvalidInputError } from "../errors.ts";

/**
 * Identifies one of an author's logs. App-defined (one log per author, one per document, one per
 * channel…): a safe integer, a string, bytes, or a short array of these. Log ids are ordered by
 * their deterministic CBOR encoding.
 */
export type LogId = number | string | Uint8Array | readonly LogId[];

/** The log id of operations that do not name one (see {@link logIdOf}). */
export const DEFAULT_LOG_ID: LogId = 0;

/** Largest CBOR encoding of a log id we accept, in bytes. */
export const MAX_LOG_ID_SIZE = 256;
const MAX_LOG_ID_DEPTH = 4;

function isLogIdShape(value: unknown, depth: number): value is LogId {
  if (typeof value === "number") return Number.isSafeInteger(value);
  if (typeof value === "string" || isBytes(value)) return true;
  if (Array.isArray(value) && depth < MAX_LOG_ID_DEPTH) {
    return value.every((item) => isLogIdShape(item, depth + 1));
  }
  return false;
}

/** Whether `value` is a well-formed {@link LogId} of at most {@link MAX_LOG_ID_SIZE} encoded bytes. */
export function isLogId(value: unknown): value is LogId {
  return isLogIdShape(value, 0) && encodeCbor(value).length <= MAX_LOG_ID_SIZE;
}

/** Throws {@link InvalidInputError} unless `value` is a {@link LogId}. */
export function assertLogId(value: unknown): asserts value is LogId {
  if (!isLogId(value)) throw new InvalidInputError("not a valid log id");
}

/** A string that is equal for equal log ids: the hex of its CBOR encoding. For map keys. */
export function logIdKey(logId: LogId): string {
  // Computed for every operation received and stored: the default log's key without encoding.
  return logId === 0 ? "00" : toHex(encodeCbor(logId));
}

/** Total order of log ids (by their CBOR encoding). */
export function compareLogIds(a: LogId, b: LogId): number {
  return compareBytes(encodeCbor(a), encodeCbor(b));
}

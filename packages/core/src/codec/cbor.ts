import { decode, encode } from "cborg";
import { P2pandaError } from "../errors.ts";

/** Bytes could not be decoded as the expected CBOR value. */
export class DecodeError extends P2pandaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("DECODE_ERROR", message, options);
  }
}

const STRICT_DECODE = {
  strict: true,
  rejectDuplicateMapKeys: true,
  allowIndefinite: false,
  allowUndefined: false,
  allowInfinity: false,
  allowNaN: false,
  allowBigInt: true,
  useMaps: false,
} as const;

/**
 * Deterministic CBOR encoding (map keys sorted, shortest integer and float forms), so the same
 * value always gives the same bytes: what we sign and hash.
 */
export function encodeCbor(value: unknown): Uint8Array {
  return encode(value);
}

/**
 * Strict CBOR decoding of exactly one value: no indefinite lengths, no undefined, NaN or
 * infinities, no duplicate map keys, no trailing bytes, minimal integer encodings. Throws only
 * {@link DecodeError}, whatever the input.
 */
export function decodeCbor(bytes: Uint8Array): unknown {
  try {
    return decode(bytes, STRICT_DECODE);
  } catch (error) {
    throw new DecodeError(`invalid CBOR: ${(error as Error).message ?? String(error)}`, {
      cause: error,
    });
  }
}

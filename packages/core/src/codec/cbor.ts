import { decode, encode } from "cborg";
import { InvalidInputError, P2pandaError } from "../errors.ts";

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

// `undefined` has no place on our wire (decodeCbor refuses it): object properties holding it are
// left out, as JSON.stringify does, and anywhere else it is a programming error caught at the
// sender instead of failing the session at the receiver.
const ENCODE_OPTIONS = {
  ignoreUndefinedProperties: true,
  typeEncoders: {
    undefined: (): never => {
      throw new InvalidInputError("cannot encode undefined as CBOR (outside an object property)");
    },
  },
};

/**
 * Deterministic CBOR encoding (map keys sorted, shortest integer and float forms), so the same
 * value always gives the same bytes: what we sign and hash. Object properties whose value is
 * `undefined` are omitted; `undefined` anywhere else throws `InvalidInputError`.
 */
export function encodeCbor(value: unknown): Uint8Array {
  return encode(value, ENCODE_OPTIONS);
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

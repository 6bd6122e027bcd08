import { concatBytes } from "../bytes.ts";
import { DecodeError, decodeCbor, encodeCbor } from "../codec/cbor.ts";
import { InvalidInputError } from "../errors.ts";
import { HASH_LENGTH } from "../hash.ts";

/** The operation format version this implementation writes and accepts. */
export const OPERATION_VERSION = 1;
/** Length of an Ed25519 public key (the author). */
export const VERIFYING_KEY_LENGTH = 32;
/** Length of an Ed25519 signature. */
export const SIGNATURE_LENGTH = 64;

/**
 * Application data carried in a header, any CBOR value (`null` when there is none). The sync
 * layer reads one field from it, the log id (see `logIdOf`).
 */
export type Extensions = unknown;

/**
 * The signed metadata of an operation (spec §6.1). Integers are JavaScript numbers: values above
 * 2^53 − 1 cannot be created and are refused when decoding.
 */
export interface Header {
  /** Format version, {@link OPERATION_VERSION}. */
  readonly version: number;
  /** The author's Ed25519 public key (32 bytes). */
  readonly verifyingKey: Uint8Array;
  /** Ed25519 signature over the encoding without this field (64 bytes); absent before signing. */
  readonly signature?: Uint8Array;
  /** Length of the body in bytes; 0 when there is no payload. */
  readonly payloadSize: number;
  /** BLAKE3 of the body; present iff `payloadSize > 0`. */
  readonly payloadHash?: Uint8Array;
  /** Microseconds since the Unix epoch. */
  readonly timestamp: number;
  /** Position in the author's log, 0 for the first operation. */
  readonly seqNum: number;
  /** Hash of the previous operation of the same author and log; present iff `seqNum > 0`. */
  readonly backlink?: Uint8Array;
  /** Application data; `null` when none. */
  readonly extensions: Extensions;
}

/** Largest encoded header we decode, in bytes (extensions included). */
export const MAX_HEADER_SIZE = 64 * 1024;

function checkUint(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidInputError(`${what} must be a non-negative safe integer`);
  }
  return value;
}

function checkBytes(value: unknown, length: number, what: string): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== length) {
    throw new InvalidInputError(`${what} must be ${length} bytes`);
  }
  return value;
}

/** The header's fields as a CBOR array in wire order, leaving out absent optional fields. */
function headerFields(header: Header, withSignature: boolean): unknown[] {
  const fields: unknown[] = [
    checkUint(header.version, "version"),
    checkBytes(header.verifyingKey, VERIFYING_KEY_LENGTH, "verifyingKey"),
  ];
  if (withSignature && header.signature !== undefined) {
    fields.push(checkBytes(header.signature, SIGNATURE_LENGTH, "signature"));
  }
  fields.push(checkUint(header.payloadSize, "payloadSize"));
  if (header.payloadHash !== undefined) {
    fields.push(checkBytes(header.payloadHash, HASH_LENGTH, "payloadHash"));
  }
  fields.push(checkUint(header.timestamp, "timestamp"), checkUint(header.seqNum, "seqNum"));
  if (header.backlink !== undefined)
    fields.push(checkBytes(header.backlink, HASH_LENGTH, "backlink"));
  fields.push(header.extensions === undefined ? null : header.extensions);
  return fields;
}

/**
 * Encodes a header as upstream p2panda-core 0.6 does: a CBOR array of the present fields in order
 * (version, verifyingKey, signature?, payloadSize, payloadHash?, timestamp, seqNum, backlink?,
 * extensions), byte strings as CBOR bytes, integers in their shortest form. Includes the
 * signature when the header has one. Throws `InvalidInputError` on a malformed field.
 */
export function encodeHeader(header: Header): Uint8Array {
  return plain(encodeCbor(headerFields(header, true)));
}

/** A plain `Uint8Array` view (Node's encoder may hand out a `Buffer`). */
function plain(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The bytes the author signs: {@link encodeHeader} without the signature field. */
export function encodeUnsignedHeader(header: Header): Uint8Array {
  return plain(encodeCbor(headerFields(header, false)));
}

/**
 * The unsigned encoding of a signed header, cut out of its canonical bytes: the array length
 * drops by one and the 66 bytes of the signature field go. Saves a re-encoding per verification.
 */
export function unsignedBytesOf(headerBytes: Uint8Array): Uint8Array {
  // Array header (1 byte, < 24 fields), version 1 (1 byte), key (2 + 32 bytes), signature (2 + 64).
  const head = headerBytes[0] as number;
  const keyEnd = 1 + 1 + 2 + VERIFYING_KEY_LENGTH;
  if (head < 0x87 || head > 0x89 || headerBytes[1] !== OPERATION_VERSION) {
    return encodeUnsignedHeader(decodeHeader(headerBytes));
  }
  return concatBytes(
    Uint8Array.of(head - 1),
    headerBytes.subarray(1, keyEnd),
    headerBytes.subarray(keyEnd + 2 + SIGNATURE_LENGTH),
  );
}

function decodeUint(value: unknown, what: string): number {
  if (typeof value === "bigint") throw new DecodeError(`${what} exceeds 2^53 - 1`);
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new DecodeError(`${what} must be an unsigned integer`);
  }
  return value;
}

function decodeBytes(value: unknown, length: number, what: string): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== length) {
    throw new DecodeError(`${what} must be ${length} bytes`);
  }
  // Already a copy of its own: `decodeCbor` copies every byte string out of the input.
  return value;
}

/**
 * Decodes a signed header, strictly: exactly one CBOR array with the fields `payloadSize` and
 * `seqNum` imply, each of the right type and length, in canonical encoding (re-encoding gives
 * the same bytes, so the hash and signature are over what we hold). Throws `DecodeError`
 * otherwise. Does not verify the signature (see `validateOperation`).
 */
export function decodeHeader(bytes: Uint8Array): Header {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError("header must be bytes");
  if (bytes.length > MAX_HEADER_SIZE) {
    throw new DecodeError(`header of ${bytes.length} bytes exceeds ${MAX_HEADER_SIZE}`);
  }
  const value = decodeCbor(bytes);
  if (!Array.isArray(value)) throw new DecodeError("header must be a CBOR array");
  const fields = value as unknown[];
  let i = 0;
  const next = (what: string): unknown => {
    if (i >= fields.length) throw new DecodeError(`header: ${what} missing`);
    return fields[i++];
  };
  const version = decodeUint(next("version"), "version");
  const verifyingKey = decodeBytes(next("verifyingKey"), VERIFYING_KEY_LENGTH, "verifyingKey");
  const signature = decodeBytes(next("signature"), SIGNATURE_LENGTH, "signature");
  const payloadSize = decodeUint(next("payloadSize"), "payloadSize");
  const payloadHash =
    payloadSize > 0 ? decodeBytes(next("payloadHash"), HASH_LENGTH, "payloadHash") : undefined;
  const timestamp = decodeUint(next("timestamp"), "timestamp");
  const seqNum = decodeUint(next("seqNum"), "seqNum");
  const backlink = seqNum > 0 ? decodeBytes(next("backlink"), HASH_LENGTH, "backlink") : undefined;
  const extensions = next("extensions");
  if (i !== fields.length) {
    throw new DecodeError(`header: ${fields.length - i} excess field(s)`);
  }
  const header: Header = {
    version,
    verifyingKey,
    signature,
    payloadSize,
    timestamp,
    seqNum,
    extensions,
    ...(payloadHash !== undefined ? { payloadHash } : {}),
    ...(backlink !== undefined ? { backlink } : {}),
  };
  const canonical = encodeHeader(header);
  let same = canonical.length === bytes.length;
  for (let k = 0; same && k < bytes.length; k++) same = canonical[k] === bytes[k];
  if (!same) throw new DecodeError("header is not canonically encoded");
  return header;
}

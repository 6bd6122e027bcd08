import { InvalidInputError } from "./errors.ts";

const HEX = /^[0-9a-f]*$/;

/** The ASCII codes of the hex digits 0–f. */
const HEX_DIGITS = Uint8Array.from("0123456789abcdef", (c) => c.charCodeAt(0));
/** The hex digits of an input of up to 64 bytes, reused: node ids, hashes and keys. */
const hexScratch = new Uint8Array(128);
const asciiDecoder = new TextDecoder();

/**
 * Lower-case hex of `bytes`. Node ids, operation ids and log keys are keyed by it on hot paths:
 * the digits go into a reused buffer and become one flat string in one decode (appending two
 * characters at a time built a chain of 32 strings for a 32-byte id, flattened again when the
 * string was first used as a key: 6× the garbage, half the speed).
 */
export function toHex(bytes: Uint8Array): string {
  const digits = bytes.length <= 64 ? hexScratch : new Uint8Array(2 * bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    digits[2 * i] = HEX_DIGITS[b >> 4] as number;
    digits[2 * i + 1] = HEX_DIGITS[b & 15] as number;
  }
  return asciiDecoder.decode(digits.subarray(0, 2 * bytes.length));
}

/**
 * Bytes of a hex string (upper or lower case). Throws {@link InvalidInputError} on odd length or
 * a non-hex character, and when `expectedLength` is given and does not match.
 */
export function fromHex(hex: string, expectedLength?: number): Uint8Array {
  const lower = hex.toLowerCase();
  if (lower.length % 2 !== 0 || !HEX.test(lower)) {
    throw new InvalidInputError("not a hex string");
  }
  if (expectedLength !== undefined && lower.length !== expectedLength * 2) {
    throw new InvalidInputError(`expected ${expectedLength} bytes of hex, got ${lower.length / 2}`);
  }
  const out = new Uint8Array(lower.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(lower.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Whether two byte arrays hold the same bytes. Not constant-time. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Lexicographic comparison of two byte arrays: negative, zero or positive. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** One new array holding `parts` one after the other. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Throws {@link InvalidInputError} unless `value` is a Uint8Array of exactly `length` bytes. */
export function assertBytes(
  value: unknown,
  length: number,
  what: string,
): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== length) {
    throw new InvalidInputError(`${what} must be ${length} bytes`);
  }
}

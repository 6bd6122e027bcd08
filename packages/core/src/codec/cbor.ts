// Our own CBOR codec (RFC 8949), for the subset a p2panda-web message is made of: maps with text
// keys, arrays, byte strings, integers, text, booleans, null and (in application data) floats.
// It replaced cborg to keep the browser bundle small; the dev tests compare it with cborg
// (test/cbor-cborg-parity.test.ts): the same bytes for every value, the same accept/reject
// decision for every input.
import { InvalidInputError, P2pandaError } from "../errors.ts";

/** Bytes could not be decoded as the expected CBOR value. */
export class DecodeError extends P2pandaError {
  static override readonly name: string = "DecodeError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("DECODE_ERROR", message, options);
  }
}

/**
 * Deepest nesting of arrays and maps {@link decodeCbor} accepts by default. Every p2panda
 * message nests a few levels; application data inside operation headers (`extensions`) gets the
 * rest. The limit is checked before a container's entries are read, so no input can make
 * decoding (or re-encoding what was decoded) recurse deeper than this.
 */
export const DEFAULT_MAX_CBOR_DEPTH = 32;

/** Options of {@link decodeCbor}. */
export interface DecodeCborOptions {
  /** Deepest nesting of arrays and maps. Default {@link DEFAULT_MAX_CBOR_DEPTH}. */
  maxDepth?: number;
}

const MAJOR_UINT = 0;
const MAJOR_NEGINT = 1;
const MAJOR_BYTES = 2;
const MAJOR_TEXT = 3;
const MAJOR_ARRAY = 4;
const MAJOR_MAP = 5;
const MAJOR_TAG = 6;

const textEncoder = new TextEncoder();
// Not `fatal`: ill-formed UTF-8 becomes U+FFFD rather than an error, as it did with cborg, so
// peers keep accepting what they accepted before.
const textDecoder = new TextDecoder();

/** Where encoded bytes go: a growing buffer, or nowhere when only their count is wanted. */
class Sink {
  length = 0;
  #buffer: Uint8Array | undefined;

  constructor(write: boolean) {
    this.#buffer = write ? new Uint8Array(256) : undefined;
  }

  /** The buffer with room for `count` more bytes at `length`; `undefined` when only counting. */
  #room(count: number): Uint8Array | undefined {
    const buffer = this.#buffer;
    if (buffer === undefined || this.length + count <= buffer.length) return buffer;
    const grown = new Uint8Array(Math.max(this.length + count, buffer.length * 2));
    grown.set(buffer.subarray(0, this.length));
    this.#buffer = grown;
    return grown;
  }

  byte(value: number): void {
    const buffer = this.#room(1);
    if (buffer !== undefined) buffer[this.length] = value;
    this.length++;
  }

  push(bytes: Uint8Array): void {
    this.#room(bytes.length)?.set(bytes, this.length);
    this.length += bytes.length;
  }

  /** The low bytes of `value`, big-endian, `count` of them. */
  uint(value: number, count: number): void {
    const buffer = this.#room(count);
    if (buffer !== undefined) {
      for (let i = count - 1; i >= 0; i--) {
        buffer[this.length + i] = value & 0xff;
        value = Math.floor(value / 256);
      }
    }
    this.length += count;
  }

  /** A string of ASCII characters, one byte each. */
  ascii(text: string): void {
    const buffer = this.#room(text.length);
    if (buffer !== undefined) {
      for (let i = 0; i < text.length; i++) buffer[this.length + i] = text.charCodeAt(i);
    }
    this.length += text.length;
  }

  bytes(): Uint8Array {
    return (this.#buffer as Uint8Array).slice(0, this.length);
  }
}

/** The head of an item: major type and argument, in the shortest form (as deterministic CBOR asks). */
function writeHead(sink: Sink, major: number, n: number | bigint): void {
  const m = major << 5;
  if (n < 24) sink.byte(m | Number(n));
  else if (n < 0x100) {
    sink.byte(m | 24);
    sink.byte(Number(n));
  } else if (n < 0x10000) {
    sink.byte(m | 25);
    sink.uint(Number(n), 2);
  } else if (n < 0x100000000) {
    sink.byte(m | 26);
    sink.uint(Number(n), 4);
  } else {
    const x = BigInt(n);
    if (x >= 1n << 64n) throw new InvalidInputError(`cannot encode ${x} in CBOR (beyond 64 bits)`);
    sink.byte(m | 27);
    sink.uint(Number(x >> 32n), 4);
    sink.uint(Number(x & 0xffffffffn), 4);
  }
}

/** Whether every character of `text` is ASCII (then its UTF-8 bytes are its char codes). */
function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

function writeText(sink: Sink, text: string): void {
  // Most keys and values are short ASCII: written directly, without a TextEncoder call each.
  if (text.length < 64 && isAscii(text)) {
    writeHead(sink, MAJOR_TEXT, text.length);
    sink.ascii(text);
  } else {
    const bytes = textEncoder.encode(text);
    writeHead(sink, MAJOR_TEXT, bytes.length);
    sink.push(bytes);
  }
}

/**
 * Map keys as encoded text items, cached: messages use a few dozen names over and over. Sorting
 * encoded items length first, then bytewise, is sorting their UTF-8 bytes that way (a longer
 * string never has a shorter head).
 */
const encodedKeys = new Map<string, Uint8Array>();
const MAX_CACHED_KEYS = 4096;

function encodedKey(key: string): Uint8Array {
  let bytes = encodedKeys.get(key);
  if (bytes === undefined) {
    const sink = new Sink(true);
    writeText(sink, key);
    bytes = sink.bytes();
    if (encodedKeys.size < MAX_CACHED_KEYS) encodedKeys.set(key, bytes);
  }
  return bytes;
}

const floatView = new DataView(new ArrayBuffer(8));

/**
 * The half-precision bits of `value` when a half holds it exactly, else `undefined`. Halves too
 * small for a normal exponent are used only for powers of two, as cborg did, so the bytes of
 * every value stay what they were.
 */
function halfBits(value: number): number | undefined {
  if (Number.isNaN(value)) return 0x7e00;
  if (Math.fround(value) !== value) return undefined;
  floatView.setFloat32(0, value);
  const bits = floatView.getUint32(0);
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127;
  const mantissa = bits & 0x7fffff;
  if (exponent === 128) return sign | 0x7c00; // ±Infinity (NaN was handled above)
  if (exponent >= -14 && exponent <= 15 && (mantissa & 0x1fff) === 0) {
    return sign | ((exponent + 15) << 10) | (mantissa >>> 13);
  }
  if (exponent >= -24 && exponent < -14 && mantissa === 0) return sign | (1 << (exponent + 24));
  return undefined;
}

/** A number that is not a safe integer: the shortest IEEE 754 form that holds it exactly. */
function writeFloat(sink: Sink, value: number): void {
  const half = halfBits(value);
  if (half !== undefined) {
    sink.byte(0xf9);
    sink.uint(half, 2);
  } else if (Math.fround(value) === value) {
    floatView.setFloat32(0, value);
    sink.byte(0xfa);
    sink.push(new Uint8Array(floatView.buffer, 0, 4));
  } else {
    floatView.setFloat64(0, value);
    sink.byte(0xfb);
    sink.push(new Uint8Array(floatView.buffer, 0, 8));
  }
}

/** Deterministic map order: keys by the length of their UTF-8 bytes, then bytewise (on encoded keys). */
function compareKeys(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return a.length - b.length;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  }
  return 0;
}

function writeItem(sink: Sink, value: unknown, parents: unknown[]): void {
  switch (typeof value) {
    case "boolean":
      sink.byte(value ? 0xf5 : 0xf4);
      return;
    case "number":
      if (!Number.isSafeInteger(value)) writeFloat(sink, value);
      else if (value >= 0) writeHead(sink, MAJOR_UINT, value);
      else writeHead(sink, MAJOR_NEGINT, -1 - value);
      return;
    case "bigint":
      if (value >= 0n) writeHead(sink, MAJOR_UINT, value);
      else writeHead(sink, MAJOR_NEGINT, -1n - value);
      return;
    case "string":
      writeText(sink, value);
      return;
    case "object":
      if (value === null) {
        sink.byte(0xf6);
        return;
      }
      if (value instanceof Uint8Array) {
        writeHead(sink, MAJOR_BYTES, value.length);
        sink.push(value);
        return;
      }
      if (parents.includes(value)) {
        throw new InvalidInputError("cannot encode a value that contains itself as CBOR");
      }
      parents.push(value);
      if (Array.isArray(value)) {
        writeHead(sink, MAJOR_ARRAY, value.length);
        for (const item of value) {
          // A hole or `undefined` in an array is a programming error: refused, not skipped.
          if (item === undefined) {
            throw new InvalidInputError(
              "cannot encode undefined as CBOR (outside an object property)",
            );
          }
          writeItem(sink, item, parents);
        }
      } else if (Object.prototype.toString.call(value) === "[object Object]") {
        // `undefined` has no place on our wire (decodeCbor refuses it): properties holding it
        // are left out, as JSON.stringify does.
        const entries: [Uint8Array, unknown][] = [];
        for (const [key, item] of Object.entries(value)) {
          if (item !== undefined) entries.push([encodedKey(key), item]);
        }
        entries.sort((a, b) => compareKeys(a[0], b[0]));
        writeHead(sink, MAJOR_MAP, entries.length);
        for (const [key, item] of entries) {
          sink.push(key);
          writeItem(sink, item, parents);
        }
      } else {
        throw new InvalidInputError(
          `cannot encode ${Object.prototype.toString.call(value)} as CBOR`,
        );
      }
      parents.pop();
      return;
    case "undefined":
      throw new InvalidInputError("cannot encode undefined as CBOR (outside an object property)");
    default:
      throw new InvalidInputError(`cannot encode a ${typeof value} as CBOR`);
  }
}

/**
 * Deterministic CBOR encoding (map keys sorted by length, then bytewise; shortest integer and
 * float forms), so the same value always gives the same bytes: what we sign and hash. Encodes
 * plain objects (as maps with text keys), arrays, `Uint8Array`s, strings, numbers, bigints,
 * booleans and `null`. Object properties whose value is `undefined` are omitted; `undefined`
 * anywhere else, other kinds of objects and values that contain themselves throw
 * `InvalidInputError`.
 */
export function encodeCbor(value: unknown): Uint8Array {
  const sink = new Sink(true);
  writeItem(sink, value, []);
  return sink.bytes();
}

/**
 * The length in bytes of {@link encodeCbor}`(value)`, computed without building the bytes
 * (simulators count what a message would cost on the wire). Throws as `encodeCbor` does.
 */
export function encodedCborSize(value: unknown): number {
  const sink = new Sink(false);
  writeItem(sink, value, []);
  return sink.length;
}

/** Reads one item after another from the input, with every check of {@link decodeCbor}. */
class Reader {
  readonly #data: Uint8Array;
  readonly #maxDepth: number;
  pos = 0;

  constructor(data: Uint8Array, maxDepth: number) {
    this.#data = data;
    this.#maxDepth = maxDepth;
  }

  /** The position of the next `count` bytes, which must be there. */
  #take(count: number): number {
    const at = this.pos;
    if (count > this.#data.length - at) throw new DecodeError("invalid CBOR: input ends early");
    this.pos = at + count;
    return at;
  }

  #byte(): number {
    return this.#data[this.#take(1)] as number;
  }

  #uint32(at: number): number {
    const d = this.#data;
    return (
      (d[at] as number) * 0x1000000 +
      (((d[at + 1] as number) << 16) | ((d[at + 2] as number) << 8) | (d[at + 3] as number))
    );
  }

  /** The argument of a head, refused unless in its shortest form; beyond 2^53 − 1 a bigint. */
  #argument(minor: number): number | bigint {
    if (minor < 24) return minor;
    let value: number | bigint;
    let least: number;
    if (minor === 24) {
      value = this.#byte();
      least = 24;
    } else if (minor === 25) {
      const at = this.#take(2);
      value = ((this.#data[at] as number) << 8) | (this.#data[at + 1] as number);
      least = 0x100;
    } else if (minor === 26) {
      value = this.#uint32(this.#take(4));
      least = 0x10000;
    } else if (minor === 27) {
      const at = this.#take(8);
      const high = this.#uint32(at);
      const low = this.#uint32(at + 4);
      value = high < 0x200000 ? high * 0x100000000 + low : (BigInt(high) << 32n) | BigInt(low);
      least = 0x100000000;
    } else {
      throw new DecodeError(
        minor === 31
          ? "invalid CBOR: indefinite lengths are not allowed"
          : `invalid CBOR: reserved additional information ${minor}`,
      );
    }
    if (value < least) throw new DecodeError("invalid CBOR: integer not in its shortest form");
    return value;
  }

  /**
   * The entry count of an array or map, refused from the head when the entries (each at least
   * one byte, two per map entry) cannot fit in what is left of the input.
   */
  #count(minor: number, perEntry: number): number {
    const count = this.#argument(minor);
    if (typeof count === "bigint" || count * perEntry > this.#data.length - this.pos) {
      throw new DecodeError(`invalid CBOR: a container declares ${count} entries beyond the input`);
    }
    return count;
  }

  item(depth: number): unknown {
    const initial = this.#byte();
    const major = initial >> 5;
    const minor = initial & 31;
    switch (major) {
      case MAJOR_UINT:
        return this.#argument(minor);
      case MAJOR_NEGINT: {
        const n = this.#argument(minor);
        if (typeof n === "bigint") return -1n - n;
        return Number.isSafeInteger(-1 - n) ? -1 - n : -1n - BigInt(n);
      }
      case MAJOR_BYTES:
      case MAJOR_TEXT: {
        const length = this.#argument(minor);
        if (typeof length === "bigint") throw new DecodeError("invalid CBOR: input ends early");
        const at = this.#take(length);
        // A copy: a decoded byte string does not keep the whole input alive, nor change with it.
        if (major === MAJOR_BYTES) return this.#data.slice(at, at + length);
        return textDecoder.decode(this.#data.subarray(at, at + length));
      }
      case MAJOR_ARRAY: {
        const count = this.#count(minor, 1);
        this.#enter(count, depth);
        const array: unknown[] = [];
        for (let i = 0; i < count; i++) array.push(this.item(depth + 1));
        return array;
      }
      case MAJOR_MAP: {
        const count = this.#count(minor, 2);
        this.#enter(count, depth);
        const map: Record<string, unknown> = {};
        for (let i = 0; i < count; i++) {
          const key = this.item(depth + 1);
          if (typeof key !== "string") throw new DecodeError("invalid CBOR: a map key is not text");
          // A key that names a property of Object.prototype (`__proto__`, `constructor`, …)
          // would give the decoded object a prototype or a method a peer chose.
          if (key in Object.prototype) {
            throw new DecodeError(`invalid CBOR: map key "${key}" is not allowed`);
          }
          if (Object.hasOwn(map, key)) {
            throw new DecodeError(`invalid CBOR: map key "${key}" repeats`);
          }
          map[key] = this.item(depth + 1);
        }
        return map;
      }
      case MAJOR_TAG:
        throw new DecodeError("invalid CBOR: tags are not allowed");
      default:
        return this.#simple(minor);
    }
  }

  /** Refuses a non-empty container `depth` levels down when that is the deepest allowed. */
  #enter(count: number, depth: number): void {
    if (count > 0 && depth >= this.#maxDepth) {
      throw new DecodeError(`invalid CBOR: nesting deeper than ${this.#maxDepth} levels`);
    }
  }

  /** Major type 7: false, true, null and finite floats; nothing else. */
  #simple(minor: number): unknown {
    if (minor === 20) return false;
    if (minor === 21) return true;
    if (minor === 22) return null;
    let value: number;
    if (minor === 25) {
      const at = this.#take(2);
      const half = ((this.#data[at] as number) << 8) | (this.#data[at + 1] as number);
      const exponent = (half >> 10) & 0x1f;
      const mantissa = half & 0x3ff;
      const magnitude =
        exponent === 0
          ? mantissa * 2 ** -24
          : exponent === 31
            ? Number.NaN // or infinite: refused below either way
            : (mantissa + 1024) * 2 ** (exponent - 25);
      value = half & 0x8000 ? -magnitude : magnitude;
    } else if (minor === 26 || minor === 27) {
      const size = minor === 26 ? 4 : 8;
      const view = new DataView(this.#data.buffer, this.#data.byteOffset + this.#take(size), size);
      value = size === 4 ? view.getFloat32(0) : view.getFloat64(0);
    } else {
      throw new DecodeError(
        minor === 23
          ? "invalid CBOR: undefined is not allowed"
          : minor === 31
            ? "invalid CBOR: indefinite lengths are not allowed"
            : "invalid CBOR: simple values are not allowed",
      );
    }
    if (!Number.isFinite(value))
      throw new DecodeError("invalid CBOR: NaN and infinities are not allowed");
    return value;
  }
}

/**
 * Strict CBOR decoding of exactly one value: no indefinite lengths, no undefined, NaN or
 * infinities, no duplicate map keys, no trailing bytes, minimal integer encodings, no tags.
 * Integers beyond ±(2^53 − 1) become bigints. Maps become plain objects with string keys; a key
 * that names a property of `Object.prototype` (`__proto__`, `constructor`, `toString`, …) is
 * refused, so a decoded value never carries a prototype or a method a peer chose. Arrays and maps
 * nest at most `maxDepth` deep, and a container that declares more entries than bytes are left
 * is refused from its head. Throws only {@link DecodeError}, whatever the input.
 */
export function decodeCbor(bytes: Uint8Array, options: DecodeCborOptions = {}): unknown {
  try {
    if (!(bytes instanceof Uint8Array)) throw new DecodeError("invalid CBOR: not a byte array");
    // A plain view of the same bytes: a Node Buffer (what some transports deliver) would make
    // every decoded byte string a Buffer too, whose `slice` does not copy.
    const data =
      bytes.constructor === Uint8Array
        ? bytes
        : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const reader = new Reader(data, options.maxDepth ?? DEFAULT_MAX_CBOR_DEPTH);
    const value = reader.item(0);
    if (reader.pos !== bytes.length) throw new DecodeError("invalid CBOR: bytes after the value");
    return value;
  } catch (error) {
    if (error instanceof DecodeError) throw error;
    throw new DecodeError(`invalid CBOR: ${messageOf(error)}`, { cause: error });
  }
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

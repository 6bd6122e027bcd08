// The CBOR codec as it was before our own (packages/core/src/codec/cbor.ts) replaced it: cborg
// with the options and the guarded tokenizer we used. The reference the parity tests compare
// the new codec with (test/cbor-cborg-parity.test.ts, test/fuzz); never shipped.
import { decode, encode, Tokenizer, Type } from "cborg";
import { encodedLength } from "cborg/length";
import { DecodeError } from "../src/codec/cbor.ts";
import { InvalidInputError } from "../src/errors.ts";

/**
 * Deepest nesting of arrays and maps {@link decodeCbor} accepts by default. Every p2panda
 * message nests a few levels; application data inside operation headers (`extensions`) gets the
 * rest. The limit is checked while tokenising, so no input can make decoding (or re-encoding
 * what was decoded) recurse deeper than this.
 */
const DEFAULT_MAX_CBOR_DEPTH = 32;

/** Options of {@link decodeCbor}. */
interface DecodeCborOptions {
  /** Deepest nesting of arrays and maps. Default {@link DEFAULT_MAX_CBOR_DEPTH}. */
  maxDepth?: number;
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
export function cborgEncode(value: unknown): Uint8Array {
  return encode(value, ENCODE_OPTIONS);
}

/**
 * The length in bytes of {@link encodeCbor}`(value)`, computed without building the bytes
 * (simulators count what a message would cost on the wire). Throws as `encodeCbor` does.
 */
export function cborgEncodedSize(value: unknown): number {
  return encodedLength(value, ENCODE_OPTIONS);
}

/**
 * Strict CBOR decoding of exactly one value: no indefinite lengths, no undefined, NaN or
 * infinities, no duplicate map keys, no trailing bytes, minimal integer encodings, no tags.
 * Maps become plain objects with string keys; a key that names a property of
 * `Object.prototype` (`__proto__`, `constructor`, `toString`, …) is refused, so a decoded value
 * never carries a prototype or a method a peer chose. Arrays and maps nest at most
 * `maxDepth` deep. Throws only {@link DecodeError}, whatever the input.
 */
export function cborgDecode(bytes: Uint8Array, options: DecodeCborOptions = {}): unknown {
  try {
    if (!(bytes instanceof Uint8Array)) throw new Error("input is not a byte array");
    // A plain view of the same bytes: byte strings are cut out of the input, and a Node Buffer
    // (what some transports deliver) would make every decoded byte string a Buffer too.
    const data =
      bytes.constructor === Uint8Array
        ? bytes
        : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const tokenizer = new GuardedTokenizer(data, options.maxDepth ?? DEFAULT_MAX_CBOR_DEPTH);
    return decode(data, { ...STRICT_DECODE, tokenizer });
  } catch (error) {
    if (error instanceof DecodeError) throw error;
    throw new DecodeError(`invalid CBOR: ${messageOf(error)}`, { cause: error });
  }
}

/**
 * cborg's tokenizer with the checks its object builder lacks, made as the tokens stream by (the
 * builder recurses once per level, so the depth must be refused before it gets there):
 * - the nesting depth of arrays and maps;
 * - a container that declares more entries than bytes are left (each entry takes at least one);
 * - map keys that would reach `Object.prototype` when assigned to a plain object.
 */
class GuardedTokenizer {
  readonly #inner: InstanceType<typeof Tokenizer>;
  readonly #length: number;
  readonly #maxDepth: number;
  /** Per open container: tokens still to come as its direct entries, and whether it is a map. */
  readonly #open: { remaining: number; map: boolean }[] = [];

  constructor(bytes: Uint8Array, maxDepth: number) {
    this.#inner = new Tokenizer(bytes, STRICT_DECODE);
    this.#length = bytes.length;
    this.#maxDepth = maxDepth;
  }

  pos(): number {
    return this.#inner.pos();
  }

  done(): boolean {
    return this.#inner.done();
  }

  next(): ReturnType<InstanceType<typeof Tokenizer>["next"]> {
    const token = this.#inner.next();
    const parent = this.#open[this.#open.length - 1];
    if (parent !== undefined) {
      // In a map, entries alternate key, value: an even count still to come means a key.
      if (parent.map && parent.remaining % 2 === 0 && typeof token.value === "string") {
        if (token.value in Object.prototype) {
          throw new DecodeError(`map key "${token.value}" is not allowed`);
        }
      }
      parent.remaining--;
    }
    const isArray = Type.equals(token.type, Type.array);
    const isMap = Type.equals(token.type, Type.map);
    if (isArray || isMap) {
      const entries = (token.value as number) * (isMap ? 2 : 1);
      if (entries > this.#length - this.#inner.pos()) {
        throw new DecodeError(`container declares ${token.value} entries beyond the input`);
      }
      if (entries > 0) {
        if (this.#open.length >= this.#maxDepth) {
          throw new DecodeError(`nesting deeper than ${this.#maxDepth} levels`);
        }
        this.#open.push({ remaining: entries, map: isMap });
      }
    }
    while (this.#open.length > 0 && this.#open[this.#open.length - 1]?.remaining === 0) {
      this.#open.pop();
    }
    return token;
  }
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

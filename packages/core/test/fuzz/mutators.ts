// Mutators of the fuzzer: each turns a valid encoding (and the rest of the corpus) into a hostile
// one, the way an attacker's fuzzer would. Every choice comes from the given Rng, so an input is
// a pure function of (seed, index): see fuzzer.ts.
import { concatBytes } from "../../src/bytes.ts";
import { DecodeError, decodeCbor, encodeCbor } from "../../src/codec/cbor.ts";
import type { Rng } from "../../src/random.ts";
import { cborgEncode } from "../cborg-reference.ts";

/** One fuzz input: bytes as a remote would send them, or a value handed straight to a decoder. */
export type FuzzInput =
  | { readonly kind: "bytes"; readonly bytes: Uint8Array }
  /**
   * A decoded value built as a naive CBOR layer would (plain property assignment, so a
   * `__proto__` key replaces the prototype): checks that a value decoder holds on its own, even
   * if the layer under it let such a key through. `bytes` is its CBOR encoding, for reproducers.
   */
  | { readonly kind: "value"; readonly value: unknown; readonly bytes: Uint8Array };

/** What a mutator works on. */
export interface MutationContext {
  readonly rng: Rng;
  /** Valid encodings of the target's input. */
  readonly corpus: readonly Uint8Array[];
  /** Whether the target can take a decoded value (a message decoder) rather than only bytes. */
  readonly acceptsValues: boolean;
}

/** A named mutation; `apply` returns `undefined` when it does not fit the input. */
export interface Mutator {
  readonly name: string;
  apply(input: Uint8Array, context: MutationContext): FuzzInput | undefined;
}

/** Keys that name properties of `Object.prototype`: a decoder must never let them through. */
export const PROTOTYPE_KEYS = ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf"];

// Bytes that sit on CBOR's boundaries: major-type starts, the 1/2/4/8-byte length markers,
// indefinite lengths, break, simple values, and the extremes.
const INTERESTING_BYTES = [
  0x00, 0x01, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1f, 0x20, 0x38, 0x40, 0x58, 0x5b, 0x5f, 0x60, 0x78,
  0x7b, 0x7f, 0x80, 0x81, 0x98, 0x9b, 0x9f, 0xa0, 0xa1, 0xb8, 0xbb, 0xbf, 0xc0, 0xc2, 0xf4, 0xf5,
  0xf6, 0xf7, 0xf9, 0xfa, 0xfb, 0xff,
];

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);

/** A copy: on a Node `Buffer` (what the encoder returns there), `slice` is a view. */
const copy = (input: Uint8Array): Uint8Array => Uint8Array.from(input);

function pickOf<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(items.length)] as T;
}

/** Flips 1–8 random bits. */
const bitFlip: Mutator = {
  name: "bit-flip",
  apply(input, { rng }) {
    if (input.length === 0) return undefined;
    const out = copy(input);
    const flips = 1 + rng.int(8);
    for (let i = 0; i < flips; i++) {
      const at = rng.int(out.length);
      out[at] = (out[at] as number) ^ (1 << rng.int(8));
    }
    return { kind: "bytes", bytes: out };
  },
};

/** Inserts 1–4 random or boundary bytes at a random position. */
const byteInsert: Mutator = {
  name: "byte-insert",
  apply(input, { rng }) {
    const at = rng.int(input.length + 1);
    const extra = Array.from({ length: 1 + rng.int(4) }, () =>
      rng.int(2) === 0 ? pickOf(rng, INTERESTING_BYTES) : rng.int(256),
    );
    return {
      kind: "bytes",
      bytes: concatBytes(input.subarray(0, at), bytes(...extra), input.subarray(at)),
    };
  },
};

/** Deletes a run of 1–8 bytes. */
const byteDelete: Mutator = {
  name: "byte-delete",
  apply(input, { rng }) {
    if (input.length === 0) return undefined;
    const at = rng.int(input.length);
    const n = 1 + rng.int(Math.min(8, input.length - at));
    return { kind: "bytes", bytes: concatBytes(input.subarray(0, at), input.subarray(at + n)) };
  },
};

/** Overwrites 1–4 bytes with random or boundary values. */
const byteOverwrite: Mutator = {
  name: "byte-overwrite",
  apply(input, { rng }) {
    if (input.length === 0) return undefined;
    const out = copy(input);
    const n = 1 + rng.int(4);
    for (let i = 0; i < n; i++) {
      out[rng.int(out.length)] = rng.int(2) === 0 ? pickOf(rng, INTERESTING_BYTES) : rng.int(256);
    }
    return { kind: "bytes", bytes: out };
  },
};

/** Cuts the input short (also to nothing). */
const truncate: Mutator = {
  name: "truncate",
  apply(input, { rng }) {
    if (input.length === 0) return undefined;
    return { kind: "bytes", bytes: copy(input.subarray(0, rng.int(input.length))) };
  },
};

/** A prefix of this input followed by a suffix of another corpus entry. */
const splice: Mutator = {
  name: "splice",
  apply(input, { rng, corpus }) {
    const other = pickOf(rng, corpus);
    const cut = rng.int(input.length + 1);
    const from = rng.int(other.length + 1);
    return { kind: "bytes", bytes: concatBytes(input.subarray(0, cut), other.subarray(from)) };
  },
};

/** A random value of every CBOR kind, nesting at most `depth` further levels. */
export function randomCborValue(rng: Rng, depth = 2): unknown {
  switch (rng.int(depth > 0 ? 12 : 10)) {
    case 0:
      return pickOf(rng, [0, 1, 23, 24, 255, 256, 65_535, 65_536, 2 ** 32, 2 ** 53 - 1, 2 ** 53]);
    case 1:
      return pickOf(rng, [-1, -24, -25, -(2 ** 32), -(2 ** 53)]);
    case 2:
      return pickOf(rng, [2n ** 64n - 1n, -(2n ** 64n), 2n ** 53n + 1n]);
    case 3:
      return pickOf(rng, [0.5, -0.0, 1.5e300, 65_504.5, 2 ** 53 + 0.5]);
    case 4:
      return pickOf(rng, ["", "a", "type", "ü", "x".repeat(rng.int(64))]);
    case 5:
    case 6:
      return rng.bytes(pickOf(rng, [0, 1, 31, 32, 33, 64, 65, rng.int(100)]));
    case 7:
      return pickOf(rng, [true, false]);
    case 8:
      return null;
    case 9:
      return rng.int(1_000_000);
    case 10:
      return Array.from({ length: rng.int(4) }, () => randomCborValue(rng, depth - 1));
    default: {
      const map: Record<string, unknown> = {};
      const n = rng.int(4);
      for (let i = 0; i < n; i++) map[`k${rng.int(8)}`] = randomCborValue(rng, depth - 1);
      return map;
    }
  }
}

type Container = unknown[] | Record<string, unknown>;

function isContainer(value: unknown): value is Container {
  return (
    typeof value === "object" && value !== null && !(value instanceof Uint8Array) && !isMap(value)
  );
}

function isMap(value: unknown): value is Map<unknown, unknown> {
  return value instanceof Map;
}

/** Every array and map in `value` (the root included), depth first. */
function containers(value: unknown, out: Container[] = []): Container[] {
  if (!isContainer(value)) return out;
  out.push(value);
  for (const child of Object.values(value)) containers(child, out);
  return out;
}

/** The input decoded (strictly), or `undefined` when it is not valid CBOR. */
function decoded(input: Uint8Array): unknown {
  try {
    return decodeCbor(input);
  } catch (error) {
    if (error instanceof DecodeError) return undefined;
    throw error;
  }
}

/**
 * Keeps the outer shape and puts random values of every CBOR kind inside: either every field of
 * the top-level map or array or of a message body (the keys, the length and the type tag stay),
 * or one to three fields anywhere (replaced, added or dropped).
 */
const randomShaped: Mutator = {
  name: "random-cbor-of-shape",
  apply(input, { rng }) {
    const value = decoded(input);
    if (value === undefined) return undefined;
    const all = containers(value);
    if (all.length === 0) return { kind: "bytes", bytes: encodeCbor(randomCborValue(rng)) };
    if (rng.int(4) === 0) {
      // The top level, or a message body inside it (a gossip body sits under `body`).
      const tagged = all.filter((c) => !Array.isArray(c) && typeof c.type === "string");
      const root = (tagged.length > 0 && rng.int(2) === 0 ? pickOf(rng, tagged) : all[0]) as Record<
        string,
        unknown
      >;
      for (const key of Object.keys(root)) {
        // The type tag (`type` of a map, the first string of a sync array) picks the checks.
        const isTag = key === "type" || (Array.isArray(root) && key === "0");
        if (!(isTag && typeof root[key] === "string")) root[key] = randomCborValue(rng);
      }
      return { kind: "bytes", bytes: encodeCbor(value) };
    }
    const edits = 1 + rng.int(3);
    for (let e = 0; e < edits; e++) {
      const target = pickOf(rng, all);
      const keys = Object.keys(target);
      const action = rng.int(keys.length === 0 ? 1 : 6);
      if (Array.isArray(target)) {
        if (action === 0) target.push(randomCborValue(rng));
        else if (action === 1) target.pop();
        else target[rng.int(target.length)] = randomCborValue(rng);
      } else if (action === 0) {
        target[`k${rng.int(4)}`] = randomCborValue(rng);
      } else if (action === 1) {
        delete target[pickOf(rng, keys)];
      } else {
        target[pickOf(rng, keys)] = randomCborValue(rng);
      }
    }
    return { kind: "bytes", bytes: encodeCbor(value) };
  },
};

/**
 * Deep nesting: wraps a field (or the whole input) in 20–200 arrays or maps, or prefixes raw
 * one-element array headers to thousands of levels (what overflows a recursive decoder).
 */
const deepNesting: Mutator = {
  name: "deep-nesting",
  apply(input, { rng }) {
    const value = decoded(input);
    if (value !== undefined && rng.int(2) === 0) {
      const levels = 20 + rng.int(180);
      const wrap = (inner: unknown): unknown => {
        let v = inner;
        for (let i = 0; i < levels; i++) v = rng.int(2) === 0 ? [v] : { k: v };
        return v;
      };
      const all = containers(value);
      if (all.length === 0) return { kind: "bytes", bytes: encodeCbor(wrap(value)) };
      const target = pickOf(rng, all);
      const keys = Object.keys(target);
      if (keys.length === 0) return { kind: "bytes", bytes: encodeCbor(wrap(value)) };
      const key = pickOf(rng, keys);
      (target as Record<string, unknown>)[key] = wrap((target as Record<string, unknown>)[key]);
      return { kind: "bytes", bytes: encodeCbor(value) };
    }
    const levels = pickOf(rng, [33, 100, 1_000, 10_000]);
    const header = rng.int(2) === 0 ? bytes(0x81) : bytes(0xa1, 0x61, 0x6b); // [x] or {"k": x}
    const prefix = new Uint8Array(levels * header.length);
    for (let i = 0; i < levels; i++) prefix.set(header, i * header.length);
    const at = rng.int(input.length + 1);
    return { kind: "bytes", bytes: concatBytes(input.subarray(0, at), prefix, input.subarray(at)) };
  },
};

/**
 * A byte string, text string, array or map header declaring far more than the input holds
 * (up to 2^64 − 1), inserted anywhere or put over an existing container header.
 */
const hugeLength: Mutator = {
  name: "huge-length",
  apply(input, { rng }) {
    const major = pickOf(rng, [2, 3, 4, 5]) << 5;
    const header = pickOf(rng, [
      bytes(major | 0x1a, 0xff, 0xff, 0xff, 0xff),
      bytes(major | 0x1a, 0x7f, 0xff, 0xff, 0xff),
      bytes(major | 0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
      bytes(major | 0x1b, 0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
      bytes(major | 0x19, 0xff, 0xff),
      bytes(major | 0x18, Math.min(255, input.length + 1)),
    ]);
    const starts: number[] = [];
    for (let i = 0; i < input.length; i++) {
      const b = input[i] as number;
      if (b >> 5 >= 2 && b >> 5 <= 5) starts.push(i);
    }
    if (starts.length > 0 && rng.int(2) === 0) {
      // Replace a container or string header (assume its one-byte form) with the huge one.
      const at = pickOf(rng, starts);
      return {
        kind: "bytes",
        bytes: concatBytes(input.subarray(0, at), header, input.subarray(at + 1)),
      };
    }
    const at = rng.int(input.length + 1);
    return { kind: "bytes", bytes: concatBytes(input.subarray(0, at), header, input.subarray(at)) };
  },
};

/**
 * Adds a map entry with a key of `Object.prototype` (`__proto__`, `constructor`, `toString`, …)
 * at a random level, its value a byte string or anything else. Half the time as bytes (the CBOR
 * decoder must refuse it); for message decoders the other half as a value built by plain
 * assignment, handed to the decoder directly.
 */
const prototypeKey: Mutator = {
  name: "prototype-key",
  apply(input, { rng, acceptsValues }) {
    const value = decoded(input);
    if (value === undefined) return undefined;
    const key = pickOf(rng, PROTOTYPE_KEYS);
    const extra = rng.int(2) === 0 ? rng.bytes(rng.int(40)) : randomCborValue(rng);
    const maps = containers(value).filter((c) => !Array.isArray(c));
    const arrays = containers(value).filter((c) => Array.isArray(c)) as unknown[][];
    // Where the key goes: an existing map, or a new map put in an array slot or at the root.
    let target: Record<string, unknown>;
    let root = value;
    if (maps.length > 0 && rng.int(4) !== 0) {
      target = pickOf(rng, maps) as Record<string, unknown>;
    } else if (arrays.length > 0 && rng.int(2) === 0) {
      const array = pickOf(rng, arrays);
      target = {};
      array[rng.int(array.length + 1)] = target;
    } else {
      target = { inner: value };
      root = target;
    }
    const first = rng.int(2) === 0;
    const entries = Object.entries(target);
    for (const k of Object.keys(target)) delete target[k];
    const marker = new ProtoKey(key, extra, first, entries);
    replace(root, target, marker);
    // cborg: our encoder takes no `Map`, and a plain object cannot hold a `__proto__` key.
    const asBytes = cborgEncode(toEncodable(root === target ? marker : root));
    if (!acceptsValues || rng.int(2) === 0) return { kind: "bytes", bytes: asBytes };
    return { kind: "value", value: toNaive(root === target ? marker : root), bytes: asBytes };
  },
};

/** A map with an extra prototype key, placed first or last among its entries. */
class ProtoKey {
  readonly key: string;
  readonly value: unknown;
  readonly first: boolean;
  readonly entries: [string, unknown][];
  constructor(key: string, value: unknown, first: boolean, entries: [string, unknown][]) {
    this.key = key;
    this.value = value;
    this.first = first;
    this.entries = entries;
  }
  ordered(): [string, unknown][] {
    const extra: [string, unknown] = [this.key, this.value];
    return this.first ? [extra, ...this.entries] : [...this.entries, extra];
  }
}

function replace(node: unknown, target: object, marker: ProtoKey): void {
  if (!isContainer(node)) return;
  const record = node as Record<string, unknown>;
  for (const k of Object.keys(record)) {
    if (record[k] === target) record[k] = marker;
    else replace(record[k], target, marker);
  }
}

/** For cborg: a `ProtoKey` becomes a `Map` (cborg encodes it as a CBOR map). */
function toEncodable(node: unknown): unknown {
  if (node instanceof ProtoKey) {
    return new Map(node.ordered().map(([k, v]) => [k, toEncodable(v)]));
  }
  if (Array.isArray(node)) return node.map(toEncodable);
  if (isContainer(node)) {
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, toEncodable(v)]));
  }
  return node;
}

/** As a naive decoder builds it: `obj[key] = value`, so `__proto__` sets the prototype. */
function toNaive(node: unknown): unknown {
  if (node instanceof ProtoKey) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of node.ordered()) out[k] = toNaive(v);
    return out;
  }
  if (Array.isArray(node)) return node.map(toNaive);
  if (isContainer(node)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) out[k] = toNaive(v);
    return out;
  }
  return node;
}

/** Every mutator, in the order of the report. */
export const MUTATORS: readonly Mutator[] = [
  bitFlip,
  byteInsert,
  byteDelete,
  byteOverwrite,
  truncate,
  splice,
  randomShaped,
  deepNesting,
  hugeLength,
  prototypeKey,
];

/**
 * One fuzz input from a corpus entry: 1–3 mutators in a row (a value input ends the chain).
 * Returns the input and the names of the mutators applied.
 */
export function mutate(
  seedInput: Uint8Array,
  context: MutationContext,
): { input: FuzzInput; applied: string[] } {
  const { rng } = context;
  let current: FuzzInput = { kind: "bytes", bytes: seedInput };
  const applied: string[] = [];
  const rounds = 1 + rng.int(3);
  for (let r = 0; r < rounds && current.kind === "bytes"; r++) {
    const mutator = pickOf(rng, MUTATORS);
    const next = mutator.apply(current.bytes, context);
    if (next === undefined) continue;
    current = next;
    applied.push(mutator.name);
  }
  return { input: current, applied };
}

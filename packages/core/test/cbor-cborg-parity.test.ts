import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromHex, toHex } from "../src/bytes.ts";
import { DecodeError, decodeCbor, encodeCbor, encodedCborSize } from "../src/codec/cbor.ts";
import { InvalidInputError } from "../src/errors.ts";
import { cborgDecode, cborgEncode, cborgEncodedSize } from "./cborg-reference.ts";

// Our codec replaced cborg (with our options and guards, kept in cborg-reference.ts). Signatures
// and hashes are over encoded bytes and peers on both versions meet, so the two must agree
// exactly: the same bytes for every value we encode, the same accept/reject decision (and the
// same value) for every input a peer can send.

/** Text around the ASCII boundary: one- and two-byte UTF-8 characters. */
const nearAscii = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x17f }).map((c) => String.fromCharCode(c)),
  maxLength: 8,
});

/** What our messages and their application data are made of, `undefined` properties included. */
const value: fc.Arbitrary<unknown> = fc.letrec<{ item: unknown }>((tie) => ({
  item: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.maxSafeInteger(),
    fc.integer({ min: -300, max: 70_000 }),
    fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n - 1n }),
    fc.double(),
    fc.float().map((f) => f),
    fc.constantFrom(2 ** 53, -(2 ** 53), 2 ** 64, 65504, 65505, 2 ** -24, 3 * 2 ** -24, 2 ** -14),
    fc.string(),
    fc.string({ unit: "grapheme" }),
    fc.string({ unit: "binary", maxLength: 8 }),
    nearAscii,
    // Around the length where the encoder stops writing ASCII itself.
    fc.string({ minLength: 60, maxLength: 70 }),
    fc.string({ unit: "grapheme", minLength: 60, maxLength: 70 }),
    fc.uint8Array({ maxLength: 40 }),
    fc.array(tie("item"), { maxLength: 5 }),
    fc.dictionary(
      // Non-ASCII keys too: they sort by their UTF-8 bytes, not their UTF-16 code units.
      fc.oneof(fc.string({ maxLength: 6 }), nearAscii, fc.string({ unit: "binary", maxLength: 4 })),
      fc.option(tie("item"), { nil: undefined }),
      { maxKeys: 5 },
    ),
  ),
})).item;

/** The outcome of decoding: the value (as hex of its re-encoding, to compare -0 and bigints) or "refused". */
function outcome(decode: (bytes: Uint8Array) => unknown, bytes: Uint8Array): unknown {
  try {
    return { value: decode(bytes) };
  } catch (error) {
    expect(error).toBeInstanceOf(DecodeError);
    return "refused";
  }
}

function expectSameDecision(bytes: Uint8Array, maxDepth?: number): void {
  const options = maxDepth === undefined ? {} : { maxDepth };
  const ours = outcome((b) => decodeCbor(b, options), bytes);
  const theirs = outcome((b) => cborgDecode(b, options), bytes);
  expect(ours, toHex(bytes)).toEqual(theirs);
}

/** Byte strings a decoder finds interesting: heads of every kind, lengths, simple values, breaks. */
const tokenBytes = fc
  .array(
    fc.oneof(
      fc.integer({ min: 0, max: 255 }).map((b) => [b]),
      fc
        .tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 31 }))
        .map(([major, minor]) => [(major << 5) | minor]),
      fc
        .tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 24, max: 27 }), fc.nat(255))
        .map(([major, minor, b]) => [
          (major << 5) | minor,
          ...new Array(2 ** (minor - 24)).fill(b),
        ]),
      fc.constantFrom([0x61, 0x61], [0x69, ...new TextEncoder().encode("__proto__")], [0xff]),
    ),
    { maxLength: 24 },
  )
  .map((parts) => Uint8Array.from(parts.flat()));

describe("our CBOR codec and cborg agree", () => {
  it("encoding: the same bytes (and size) for every value, or both refuse it", () => {
    fc.assert(
      fc.property(value, (v) => {
        let theirs: Uint8Array | undefined;
        try {
          theirs = cborgEncode(v);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidInputError);
        }
        if (theirs === undefined) {
          expect(() => encodeCbor(v)).toThrow(InvalidInputError);
          return;
        }
        expect(toHex(encodeCbor(v))).toBe(toHex(theirs));
        expect(encodedCborSize(v)).toBe(cborgEncodedSize(v));
      }),
      { numRuns: 3000, seed: 19 },
    );
  });

  it("encoding: floats take cborg's shortest exact form, halves for powers of two below 2^-14", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.double(),
          fc.float(),
          fc.integer().map((i) => i / 1024),
        ),
        (f) => {
          expect(toHex(encodeCbor(f))).toBe(toHex(cborgEncode(f)));
        },
      ),
      { numRuns: 5000, seed: 19 },
    );
    for (let e = -30; e < 20; e++) {
      for (const m of [1, 1.5, 1.0009765625, 3]) {
        const f = m * 2 ** e;
        expect(toHex(encodeCbor(f)), String(f)).toBe(toHex(cborgEncode(f)));
        expect(toHex(encodeCbor(-f)), String(-f)).toBe(toHex(cborgEncode(-f)));
      }
    }
  });

  it("decoding what was encoded: both accept and give the same value", () => {
    fc.assert(
      fc.property(value, (v) => {
        let bytes: Uint8Array;
        try {
          bytes = cborgEncode(v);
        } catch {
          return;
        }
        expectSameDecision(bytes);
      }),
      { numRuns: 3000, seed: 19 },
    );
  });

  it("decoding encodings with a byte changed, inserted or cut: the same decision", () => {
    const mutated = fc
      .tuple(value, fc.nat(), fc.nat(255), fc.constantFrom("set", "insert", "delete", "cut"))
      .map(([v, at, byte, how]) => {
        let bytes: number[];
        try {
          bytes = [...cborgEncode(v)];
        } catch {
          bytes = [0xf6];
        }
        const i = at % (bytes.length + 1);
        if (how === "set") bytes[Math.min(i, bytes.length - 1)] = byte;
        else if (how === "insert") bytes.splice(i, 0, byte);
        else if (how === "delete") bytes.splice(i, 1);
        else bytes.length = i;
        return Uint8Array.from(bytes);
      });
    fc.assert(
      fc.property(mutated, (bytes) => expectSameDecision(bytes)),
      { numRuns: 8000, seed: 19 },
    );
  });

  it("decoding streams of heads and arbitrary bytes: the same decision, at any depth limit", () => {
    fc.assert(
      fc.property(tokenBytes, fc.option(fc.integer({ min: 0, max: 4 })), (bytes, depth) =>
        expectSameDecision(bytes, depth ?? undefined),
      ),
      { numRuns: 12_000, seed: 19 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 48 }), (bytes) => expectSameDecision(bytes)),
      { numRuns: 4000, seed: 19 },
    );
  });

  it.each([
    ["float16 1.0, not minimal", "f93c00"],
    ["float64 1.5", "fb3ff8000000000000"],
    ["float16 -0", "f98000"],
    ["float16 subnormal", "f90001"],
    ["uint64 2^53", "1b0020000000000000"],
    ["uint64 2^53 - 1", "1b001fffffffffffff"],
    ["negint64 -2^53", "3b001fffffffffffff"],
    ["negint64 -2^64", "3bffffffffffffffff"],
    ["byte string with a 64-bit length", "5b000000010000000001"],
    ["ill-formed UTF-8", "62c328"],
    ["lone surrogate as UTF-8", "63eda080"],
    ["a map with an integer key", "a10101"],
    ["a map with an array key", "a1810101"],
    ["simple value 16", "f0"],
    ["simple value in one byte", "f820"],
    ["break", "ff"],
    ["a tag around an integer", "c101"],
    ["an empty map at the depth limit", `${"81".repeat(32)}a0`],
    ["a map at the depth limit", `${"81".repeat(32)}a1616101`],
    ["a map with hasOwnProperty", "a16e6861734f776e50726f706572747901"],
  ])("the same decision on %s", (_, hex) => {
    expectSameDecision(fromHex(hex));
  });
});

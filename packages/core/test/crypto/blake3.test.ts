import { blake3 as nobleBlake3 } from "@noble/hashes/blake3.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { toHex } from "../../src/bytes.ts";
import { blake3, blake3DeriveKey } from "../../src/crypto/blake3.ts";

// Our BLAKE3 replaced @noble/hashes' in the bundle; it must give the very same bytes, since
// operation hashes, gossip message ids and topic ids are made with it.

/** The official test vectors' input: bytes 0, 1, …, 250, 0, 1, … */
const vectorInput = (length: number): Uint8Array => Uint8Array.from({ length }, (_, i) => i % 251);

/** The lengths of the official test vectors: around the block (64), chunk (1024) and tree sizes. */
const VECTOR_LENGTHS = [
  0, 1, 1023, 1024, 1025, 2048, 2049, 3072, 3073, 4096, 4097, 5120, 5121, 6144, 6145, 7168, 7169,
  8192, 8193, 16384, 31744, 102400,
];

const VECTOR_CONTEXT = new TextEncoder().encode("BLAKE3 2019-12-27 16:29:52 test vectors context");

describe("BLAKE3 hash mode", () => {
  it("is the spec's hash of the empty input and of the official vectors' first input", () => {
    // From the BLAKE3 test vectors (the first 32 bytes of the extended output).
    expect(toHex(blake3(new Uint8Array(0)))).toBe(
      "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
    );
    expect(toHex(blake3(vectorInput(1)))).toBe(
      "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213",
    );
  });

  it("equals @noble/hashes at every official vector length", () => {
    for (const length of VECTOR_LENGTHS) {
      const input = vectorInput(length);
      expect(toHex(blake3(input)), `length ${length}`).toBe(toHex(nobleBlake3(input)));
    }
  });

  it("equals @noble/hashes at every length up to three chunks and a block", () => {
    const input = vectorInput(3 * 1024 + 65);
    for (let length = 0; length <= input.length; length++) {
      const part = input.subarray(0, length);
      expect(toHex(blake3(part)), `length ${length}`).toBe(toHex(nobleBlake3(part)));
    }
  });

  it("equals @noble/hashes on random inputs (a subarray of a larger buffer too)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 9000 }), fc.nat(8), (bytes, skip) => {
        const view = bytes.subarray(Math.min(skip, bytes.length));
        expect(toHex(blake3(view))).toBe(toHex(nobleBlake3(view)));
      }),
      { numRuns: 200 },
    );
  });
});

describe("BLAKE3 derive_key mode", () => {
  it("equals @noble/hashes' `context` option at every official vector length", () => {
    for (const length of VECTOR_LENGTHS) {
      const input = vectorInput(length);
      expect(toHex(blake3DeriveKey(VECTOR_CONTEXT, input)), `length ${length}`).toBe(
        toHex(nobleBlake3(input, { context: VECTOR_CONTEXT })),
      );
    }
  });

  it("is the official vector for the empty input", () => {
    expect(toHex(blake3DeriveKey(VECTOR_CONTEXT, new Uint8Array(0)))).toBe(
      "2cc39783c223154fea8dfb7c1b1660f2ac2dcbd1c1de8277b0b0dd39b7e50d7d",
    );
  });

  it("differs from the hash mode and between contexts", () => {
    const material = vectorInput(32);
    const a = toHex(blake3DeriveKey(new TextEncoder().encode("a"), material));
    const b = toHex(blake3DeriveKey(new TextEncoder().encode("b"), material));
    expect(a).not.toBe(b);
    expect(a).not.toBe(toHex(blake3(material)));
  });
});

import * as noble from "@noble/ed25519";
import {
  type Ed25519Backend,
  ed25519,
  fromHex,
  InvalidInputError,
  isCanonicalPointEncoding,
  isCanonicalScalar,
  isStrictlyWellFormed,
  nobleEd25519,
  SMALL_ORDER_ENCODINGS,
  seededRng,
  toHex,
  verifySignature,
  webCryptoEd25519,
} from "@p2panda-web/core";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { edgeMismatches, rfc8032Mismatches } from "./vectors/check-ed25519.ts";
import { ED25519_EDGE_VECTORS } from "./vectors/ed25519-edge.ts";

let webcrypto: Ed25519Backend;
let backends: Ed25519Backend[];

beforeAll(async () => {
  const found = await webCryptoEd25519();
  if (found === undefined) throw new Error("Node 22 must have WebCrypto Ed25519");
  webcrypto = found;
  backends = [nobleEd25519, webcrypto];
});

describe("RFC 8032 §7.1 test vectors", () => {
  it.each(["noble", "webcrypto"])("%s derives keys, signs and verifies all five", async (name) => {
    const backend = backends.find((b) => b.name === name) as Ed25519Backend;
    expect(await rfc8032Mismatches(backend)).toEqual([]);
  });
});

describe("strict verification: one semantics on every backend", () => {
  it.each(["noble", "webcrypto"])("%s answers every edge vector as the rule says", async (name) => {
    const backend = backends.find((b) => b.name === name) as Ed25519Backend;
    expect(await edgeMismatches(backend)).toEqual([]);
  });

  it("covers the cases the rule exists for", () => {
    const names = ED25519_EDGE_VECTORS.map((v) => v.name).join("\n");
    for (const needle of [
      "S + L",
      "small-order public key",
      "non-canonical public key",
      "small-order R",
      "non-canonical R",
      "mixed-order public key",
      "signature 63 bytes",
    ]) {
      expect(names).toContain(needle);
    }
    // Vectors that only a cofactored verifier accepts are the reason for the shared equation.
    expect(
      ED25519_EDGE_VECTORS.filter((v) => v.construction.endsWith("cofactored: holds]") && !v.valid)
        .length,
    ).toBeGreaterThanOrEqual(3);
  });

  it("noble's own zip215:false verify is cofactored, so it alone would disagree with WebCrypto", async () => {
    const v = ED25519_EDGE_VECTORS.find((e) => e.name === "mixed-order public key, k odd");
    if (v === undefined) throw new Error("vector missing");
    const [pub, msg, sig] = [fromHex(v.publicKey), fromHex(v.message), fromHex(v.signature)];
    expect(await noble.verifyAsync(sig, msg, pub, { zip215: false })).toBe(true);
    expect(await nobleEd25519.verify(pub, msg, sig)).toBe(false);
    expect(await webcrypto.verify(pub, msg, sig)).toBe(false);
  });
});

describe("both backends agree on sign and verify", () => {
  it("same signatures and answers for random keys, messages and corruptions", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 300 }),
        fc.nat({ max: 64 * 8 - 1 }),
        async (seed, message, bit) => {
          const sigN = await nobleEd25519.sign(seed, message);
          const sigW = await webcrypto.sign(seed, message);
          expect(toHex(sigW)).toBe(toHex(sigN));
          const pub = await nobleEd25519.publicKey(seed);
          expect(toHex(await webcrypto.publicKey(seed))).toBe(toHex(pub));
          expect(await nobleEd25519.verify(pub, message, sigN)).toBe(true);
          expect(await webcrypto.verify(pub, message, sigN)).toBe(true);
          const bad = sigN.slice();
          bad[bit >> 3] = (bad[bit >> 3] as number) ^ (1 << (bit & 7));
          expect(await nobleEd25519.verify(pub, message, bad)).toBe(false);
          expect(await webcrypto.verify(pub, message, bad)).toBe(false);
        },
      ),
      { numRuns: 25, seed: 8032 },
    );
  });

  it("same answer for arbitrary key and signature bytes", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 64, maxLength: 64 }),
        async (pub, sig) => {
          const message = new Uint8Array([1, 2, 3]);
          expect(await webcrypto.verify(pub, message, sig)).toBe(
            await nobleEd25519.verify(pub, message, sig),
          );
        },
      ),
      { numRuns: 40, seed: 215 },
    );
  });
});

describe("pre-check rules", () => {
  const le = (n: bigint) => {
    const out = new Uint8Array(32);
    for (let i = 0, v = n; i < 32; i++, v >>= 8n) out[i] = Number(v & 255n);
    return out;
  };
  const p = 2n ** 255n - 19n;
  const L = 2n ** 252n + 27742317777372353535851937790883648493n;

  it("a point encoding is canonical iff y < p and x = 0 carries no sign bit", () => {
    expect(isCanonicalPointEncoding(le(p - 1n))).toBe(true);
    expect(isCanonicalPointEncoding(le(p))).toBe(false);
    expect(isCanonicalPointEncoding(le(2n ** 255n - 1n))).toBe(false);
    const negativeZero = le(1n);
    negativeZero[31] = 0x80;
    expect(isCanonicalPointEncoding(negativeZero)).toBe(false);
    const minusOneSigned = le(p - 1n);
    minusOneSigned[31] = (minusOneSigned[31] as number) | 0x80;
    expect(isCanonicalPointEncoding(minusOneSigned)).toBe(false);
    const twoSigned = le(2n);
    twoSigned[31] = 0x80;
    expect(isCanonicalPointEncoding(twoSigned)).toBe(true);
    expect(isCanonicalPointEncoding(new Uint8Array(31))).toBe(false);
  });

  it("a scalar is canonical iff S < L", () => {
    expect(isCanonicalScalar(le(L - 1n))).toBe(true);
    expect(isCanonicalScalar(le(L))).toBe(false);
    expect(isCanonicalScalar(le(0n))).toBe(true);
  });

  it("the small-order list is exactly the 8-point torsion subgroup", () => {
    const points = SMALL_ORDER_ENCODINGS.map((h) => noble.Point.fromHex(h));
    expect(new Set(SMALL_ORDER_ENCODINGS).size).toBe(8);
    for (const [i, point] of points.entries()) {
      expect(point.isSmallOrder()).toBe(true);
      expect(point.toHex()).toBe(SMALL_ORDER_ENCODINGS[i]);
    }
    // Closed under addition: a subgroup of 8 elements, hence the whole torsion subgroup.
    for (const a of points) {
      for (const b of points) expect(SMALL_ORDER_ENCODINGS).toContain(a.add(b).toHex());
    }
  });

  it("wrong types and lengths are simply not well formed", () => {
    expect(isStrictlyWellFormed(new Uint8Array(32), new Uint8Array(63))).toBe(false);
    expect(isStrictlyWellFormed("00" as unknown as Uint8Array, new Uint8Array(64))).toBe(false);
  });
});

describe("backend selection and errors", () => {
  it("ed25519() picks WebCrypto where the runtime has it, once", async () => {
    const first = await ed25519();
    expect(first.name).toBe("webcrypto");
    expect(await ed25519()).toBe(first);
  });

  it("verifySignature uses the selected backend and never throws", async () => {
    const seed = seededRng(1).bytes(32);
    const message = new TextEncoder().encode("hello");
    const sig = await nobleEd25519.sign(seed, message);
    const pub = await nobleEd25519.publicKey(seed);
    expect(await verifySignature(pub, message, sig)).toBe(true);
    expect(await verifySignature(pub, message, sig.subarray(1))).toBe(false);
    expect(await verifySignature(pub, "hello" as unknown as Uint8Array, sig)).toBe(false);
  });

  it.each(["noble", "webcrypto"])("%s refuses a secret key that is not 32 bytes", async (name) => {
    const backend = backends.find((b) => b.name === name) as Ed25519Backend;
    await expect(backend.sign(new Uint8Array(31), new Uint8Array())).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    await expect(backend.publicKey(new Uint8Array(64))).rejects.toBeInstanceOf(InvalidInputError);
  });

  it("the WebCrypto signing-key cache notices a mutated seed array", async () => {
    const seed = seededRng(2).bytes(32);
    const message = new Uint8Array([9]);
    const first = await webcrypto.sign(seed, message);
    seed[0] = (seed[0] as number) ^ 1;
    const second = await webcrypto.sign(seed, message);
    expect(toHex(second)).toBe(toHex(await nobleEd25519.sign(seed, message)));
    expect(toHex(second)).not.toBe(toHex(first));
  });
});

import { fromHex, Identity, nobleEd25519, webCryptoEd25519 } from "@p2panda-web/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createNodeCryptoVerify, nodeCryptoLibp2pKey } from "../../src/node/node-crypto-ed25519.ts";
import { ED25519_EDGE_VECTORS } from "../vectors/ed25519-edge.ts";
import { RFC8032_VECTORS } from "../vectors/rfc8032.ts";

const verify = createNodeCryptoVerify();

describe("Node's synchronous crypto.verify: the strict rule of every backend", () => {
  it("accepts the five RFC 8032 §7.1 signatures", () => {
    for (const v of RFC8032_VECTORS) {
      expect(verify(fromHex(v.publicKey), fromHex(v.message), fromHex(v.signature)), v.name).toBe(
        true,
      );
    }
  });

  it("answers every edge vector as the rule says (small-order, non-canonical, S + L, mixed order)", () => {
    const wrong = ED25519_EDGE_VECTORS.filter(
      (v) => verify(fromHex(v.publicKey), fromHex(v.message), fromHex(v.signature)) !== v.valid,
    ).map((v) => v.name);
    expect(wrong).toEqual([]);
  });

  it("gives WebCrypto's answer for signatures of random keys, corrupted or not", async () => {
    const webcrypto = await webCryptoEd25519();
    if (webcrypto === undefined) throw new Error("Node 22 must have WebCrypto Ed25519");
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 300 }),
        fc.nat({ max: 64 * 8 - 1 }),
        async (seed, message, bit) => {
          const pub = await nobleEd25519.publicKey(seed);
          const sig = await nobleEd25519.sign(seed, message);
          expect(verify(pub, message, sig)).toBe(true);
          const bad = sig.slice();
          bad[bit >> 3] = (bad[bit >> 3] as number) ^ (1 << (bit & 7));
          expect(verify(pub, message, bad)).toBe(await webcrypto.verify(pub, message, bad));
          expect(verify(pub, message, bad)).toBe(false);
        },
      ),
      { numRuns: 25, seed: 8032 },
    );
  });

  it("gives WebCrypto's answer for arbitrary key and signature bytes, and never throws", async () => {
    const webcrypto = await webCryptoEd25519();
    if (webcrypto === undefined) throw new Error("Node 22 must have WebCrypto Ed25519");
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 31, maxLength: 33 }),
        fc.uint8Array({ minLength: 63, maxLength: 65 }),
        async (pub, sig) => {
          const message = new Uint8Array([1, 2, 3]);
          expect(verify(pub, message, sig)).toBe(await webcrypto.verify(pub, message, sig));
        },
      ),
      { numRuns: 60, seed: 215 },
    );
  });

  it("checks a key against the key it was given, not a cached one (keys differ by one byte)", async () => {
    const seed = new Uint8Array(32).fill(7);
    const pub = await nobleEd25519.publicKey(seed);
    const message = new Uint8Array([9]);
    const sig = await nobleEd25519.sign(seed, message);
    expect(verify(pub, message, sig)).toBe(true);
    const other = pub.slice();
    other[0] = (other[0] as number) ^ 1;
    expect(verify(other, message, sig)).toBe(false);
    expect(verify(pub, message, sig)).toBe(true);
  });
});

describe("the libp2p key of the Node preset signs with crypto.sign", () => {
  it("gives the bytes of the identity's own key for any message (Ed25519 is deterministic)", async () => {
    const identity = await Identity.generate();
    const reference = identity.toLibp2pPrivateKey();
    const key = nodeCryptoLibp2pKey(identity);
    expect(key.type).toBe("Ed25519");
    expect(key.publicKey.equals(reference.publicKey)).toBe(true);
    expect(key.equals(reference)).toBe(true);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (message) => {
        expect(await key.sign(message)).toEqual(await reference.sign(message));
      }),
      { numRuns: 50 },
    );
  });

  it("refuses to sign once its signal aborted, as libp2p's own keys do", async () => {
    const key = nodeCryptoLibp2pKey(await Identity.generate());
    const signal = AbortSignal.abort(new Error("handshake over"));
    expect(() => key.sign(new Uint8Array([1]), { signal })).toThrow("handshake over");
  });
});

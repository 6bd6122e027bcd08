import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import type { PrivateKey } from "@libp2p/interface";
import { isStrictlyWellFormed } from "../identity/ed25519.ts";
import type { Identity } from "../identity/identity.ts";

/** DER of an Ed25519 PKCS #8 private key up to its 32-byte seed (RFC 8410). */
const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
/** DER of an Ed25519 SubjectPublicKeyInfo up to its 32 key bytes (RFC 8410). */
const SPKI_ED25519_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const PUBLIC_KEY_CACHE_SIZE = 1024;

/** A synchronous strict Ed25519 verification: `true` only for a valid signature, never throws. */
export type SyncEd25519Verify = (
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
) => boolean;

/**
 * Strict Ed25519 verification with Node's synchronous `crypto.verify`, for a verify worker: the
 * same rule as every backend (`isStrictlyWellFormed`, then OpenSSL's cofactorless check, which
 * is what Node's WebCrypto runs too), but on the calling thread instead of a job on libuv's
 * thread pool, so a worker is one core of verification and nothing else. Blocks while it
 * verifies: not for a thread that serves I/O.
 *
 * Imported keys are cached (an import costs about as much as a verification and one author
 * signs many operations), at most 1,024, the oldest evicted first.
 */
export function createNodeCryptoVerify(): SyncEd25519Verify {
  const keys = new Map<string, KeyObject>();
  const keyOf = (publicKey: Uint8Array): KeyObject => {
    const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, 32).toString("latin1");
    const cached = keys.get(id);
    if (cached !== undefined) return cached;
    const key = createPublicKey({
      key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]),
      format: "der",
      type: "spki",
    });
    if (keys.size >= PUBLIC_KEY_CACHE_SIZE) {
      const oldest = keys.keys().next().value;
      if (oldest !== undefined) keys.delete(oldest);
    }
    keys.set(id, key);
    return key;
  };
  return (publicKey, message, signature) => {
    if (!(message instanceof Uint8Array) || !isStrictlyWellFormed(publicKey, signature)) {
      return false;
    }
    try {
      return verify(null, message, keyOf(publicKey), signature);
    } catch {
      return false; // e.g. a key that is not on the curve, refused at import
    }
  };
}

/**
 * The identity's key for libp2p (as `Identity.toLibp2pPrivateKey`), signing with Node's
 * synchronous `crypto.sign` instead of @noble/curves. Every connection signs twice on each side
 * (its Noise handshake and identify's signed peer record): measured here at nice 15 on a loaded
 * machine, 1.85 ms of CPU per noble signature against 0.06 ms, which in the 20-node discovery
 * cluster in one process was over a second of CPU per run. Ed25519 signatures are
 * deterministic, so both give the same bytes.
 */
export function nodeCryptoLibp2pKey(identity: Identity): PrivateKey {
  const key = identity.toLibp2pPrivateKey();
  const seed = identity.secretKey;
  const der = Buffer.concat([PKCS8_ED25519_PREFIX, seed]);
  seed.fill(0);
  const secret = createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  der.fill(0);
  return {
    ...key,
    sign: (data, options) => {
      options?.signal?.throwIfAborted();
      const bytes = data instanceof Uint8Array ? data : data.subarray();
      const signature = sign(null, bytes, secret);
      return new Uint8Array(signature.buffer, signature.byteOffset, signature.byteLength);
    },
  };
}

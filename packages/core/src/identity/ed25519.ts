import { ed25519 as curve } from "@noble/curves/ed25519.js";
import { sha512 } from "@noble/hashes/sha2.js";
import { bytesEqual, concatBytes, fromHex, toHex } from "../bytes.ts";
import { InvalidInputError } from "../errors.ts";

/**
 * An Ed25519 implementation. Every backend accepts exactly the same set of signatures: the
 * shared strict rule of {@link isStrictlyWellFormed} followed by the cofactorless RFC 8032
 * equation `[S]B = R + [k]A` (see the module comment below).
 */
export interface Ed25519Backend {
  readonly name: "webcrypto" | "noble";
  /** The 32-byte public key of a 32-byte secret seed. Throws `InvalidInputError` on another length. */
  publicKey(secretKey: Uint8Array): Promise<Uint8Array>;
  /** The 64-byte RFC 8032 signature of `message`. Throws `InvalidInputError` on a bad seed length. */
  sign(secretKey: Uint8Array, message: Uint8Array): Promise<Uint8Array>;
  /** Whether `signature` is valid for `message` under `publicKey`. Never throws: bad input is `false`. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean>;
}

/*
 * One semantics on every backend.
 *
 * RFC 8032 leaves implementations some freedom, and real ones differ (see "Taming the many
 * EdDSAs", Chalkias et al. 2020): cofactored or cofactorless equation, canonical encodings or
 * not, small-order keys or not. WebCrypto runs OpenSSL (Node) or BoringSSL (Chromium), which
 * both check S < L, decode A, compute R' = [S]B - [k]A and compare the encoding of R' with the
 * bytes of R (cofactorless). noble's `verify(…, { zip215: false })` uses the cofactored equation
 * `[8]([S]B - R - [k]A) = 0`, which accepts more when A or R has a torsion component. So we do
 * not call it: the noble backend computes the same cofactorless check as WebCrypto with noble's
 * point arithmetic, and both backends first apply the same pre-checks.
 *
 * The rule, in order (a signature is (R, S), R the first 32 bytes, S the last 32):
 *  1. the public key is 32 bytes and the signature 64 bytes;
 *  2. S, read little-endian, is < L = 2^252 + 27742317777372353535851937790883648493;
 *  3. A and R are canonical encodings: the 255-bit y (top bit cleared) is < p = 2^255 - 19, and
 *     the sign bit is not set when x = 0 (which happens exactly for y = 1 and y = p - 1);
 *  4. neither A nor R is one of the 8 points of small order (their canonical encodings are
 *     listed in SMALL_ORDER_ENCODINGS; non-canonical ones are already out by 3);
 *  5. A decodes to a curve point, k = SHA-512(R ‖ A ‖ M) mod L, and the encoding of
 *     [S]B - [k]A equals R byte for byte.
 * Because R is canonical, 5 is the same as point equality, so an R that is not on the curve
 * simply never matches. Keys and R with a torsion component but not of small order ("mixed
 * order") are not rejected up front; the cofactorless equation treats them identically on both
 * backends. Honest signers never produce them.
 */

/** p = 2^255 - 19, little-endian. */
const P_LE = fromHex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
/** L, the order of the base point, little-endian. */
const L_LE = fromHex("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

/**
 * Canonical encodings of the 8 points of small order (the torsion subgroup): identity,
 * the point of order 2, two of order 4, four of order 8.
 */
export const SMALL_ORDER_ENCODINGS: readonly string[] = [
  "0100000000000000000000000000000000000000000000000000000000000000",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0000000000000000000000000000000000000000000000000000000000000080",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
];
const SMALL_ORDER = SMALL_ORDER_ENCODINGS.map((hex) => fromHex(hex));

// The checks below read their inputs in place, at an offset (a signature's R and S halves),
// with no copy, view or hex string: every received operation goes through them.

/** Little-endian `a[at, at + 32) < b` for two 32-byte numbers, `a`'s top bit read as `mask` allows. */
function lessThanLE(a: Uint8Array, at: number, b: Uint8Array, mask = 0xff): boolean {
  for (let i = 31; i >= 0; i--) {
    const x = (a[at + i] as number) & (i === 31 ? mask : 0xff);
    const y = b[i] as number;
    if (x !== y) return x < y;
  }
  return false;
}

/** Rule 3 for the 32 bytes at `at`: a canonical point encoding (y < p, no "negative zero" x). */
function isCanonicalPointAt(bytes: Uint8Array, at: number): boolean {
  // y is the encoding without its top bit, the sign of x.
  if (!lessThanLE(bytes, at, P_LE, 0x7f)) return false;
  const top = bytes[at + 31] as number;
  if ((top & 0x80) !== 0) {
    // x = 0 exactly when y = 1 or y = p - 1; a set sign bit then encodes "-0".
    let yIsOne = bytes[at] === 1 && (top & 0x7f) === 0;
    let yIsMinusOne = bytes[at] === 0xec && (top & 0x7f) === 0x7f;
    for (let i = 1; i < 31; i++) {
      const y = bytes[at + i] as number;
      if (y !== 0) yIsOne = false;
      if (y !== 0xff) yIsMinusOne = false;
    }
    if (yIsOne || yIsMinusOne) return false;
  }
  return true;
}

/** Rule 4 for the 32 bytes at `at` (a canonical encoding): one of the 8 small-order points. */
function isSmallOrderAt(bytes: Uint8Array, at: number): boolean {
  for (const point of SMALL_ORDER) {
    let same = true;
    for (let i = 0; i < 32 && same; i++) same = bytes[at + i] === point[i];
    if (same) return true;
  }
  return false;
}

/** Rule 3: a canonical point encoding (y < p, no "negative zero" x). */
export function isCanonicalPointEncoding(bytes: Uint8Array): boolean {
  return bytes.length === 32 && isCanonicalPointAt(bytes, 0);
}

/** Rule 2: the scalar half of a signature is reduced (S < L). */
export function isCanonicalScalar(bytes: Uint8Array): boolean {
  return bytes.length === 32 && lessThanLE(bytes, 0, L_LE);
}

/** Rule 4 (for a canonical encoding): whether it is one of the 8 small-order points. */
export function isSmallOrderEncoding(bytes: Uint8Array): boolean {
  return bytes.length === 32 && isSmallOrderAt(bytes, 0);
}

/**
 * Rules 1–4: the checks every backend applies before the curve equation. Cheap (byte
 * comparisons only), so they cost the fast WebCrypto path almost nothing.
 */
export function isStrictlyWellFormed(publicKey: Uint8Array, signature: Uint8Array): boolean {
  if (!(publicKey instanceof Uint8Array) || !(signature instanceof Uint8Array)) return false;
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  // The signature is R (a point) then S (a scalar).
  if (!lessThanLE(signature, 32, L_LE)) return false;
  if (!isCanonicalPointAt(publicKey, 0) || !isCanonicalPointAt(signature, 0)) return false;
  return !isSmallOrderAt(publicKey, 0) && !isSmallOrderAt(signature, 0);
}

function assertSeed(secretKey: Uint8Array): void {
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== 32) {
    throw new InvalidInputError("an Ed25519 secret key is a 32-byte seed");
  }
}

function numberFromLE(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i] as number);
  return n;
}

/**
 * The pure-JavaScript backend: the strict rule above with the point arithmetic of
 * @noble/curves' Ed25519, the same code libp2p's own keys use in the browser (so a bundle holds
 * it once), with @noble/hashes' SHA-512. Synchronous underneath, so it works where
 * `crypto.subtle` is missing (pages served over plain http from a LAN address): exactly the
 * runtimes that need the fallback.
 */
export const nobleEd25519: Ed25519Backend = {
  name: "noble",
  async publicKey(secretKey) {
    assertSeed(secretKey);
    return curve.getPublicKey(secretKey);
  },
  async sign(secretKey, message) {
    assertSeed(secretKey);
    return curve.sign(message, secretKey);
  },
  async verify(publicKey, message, signature) {
    if (!(message instanceof Uint8Array) || !isStrictlyWellFormed(publicKey, signature)) {
      return false;
    }
    const r = signature.subarray(0, 32);
    let a: ReturnType<typeof curve.Point.fromBytes>;
    try {
      a = curve.Point.fromBytes(publicKey);
    } catch {
      return false; // not on the curve
    }
    const k = numberFromLE(sha512(concatBytes(r, publicKey, message))) % L;
    const s = numberFromLE(signature.subarray(32, 64));
    // The unsafe (variable-time) multiplications take 0, which S and k may be; all is public.
    const expectedR = curve.Point.BASE.multiplyUnsafe(s).subtract(a.multiplyUnsafe(k));
    return bytesEqual(expectedR.toBytes(), r);
  },
};

const PKCS8_ED25519_PREFIX = fromHex("302e020100300506032b657004220420");
const ALGORITHM = { name: "Ed25519" } as const;
const PUBLIC_KEY_CACHE_SIZE = 1024;

function base64UrlDecode(text: string): Uint8Array {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

function createWebCryptoBackend(subtle: SubtleCrypto): Ed25519Backend {
  // Importing costs about as much as a verification, and the same keys come back again and
  // again (one author, many operations), so imported keys are cached. Public keys: a bounded
  // map in insertion order (oldest evicted). Secret keys: by array identity, with a copy to
  // notice a caller that mutated its array in between.
  const publicKeys = new Map<string, CryptoKey>();
  const secretKeys = new WeakMap<Uint8Array, { seed: Uint8Array; key: CryptoKey }>();

  const importSecret = async (seed: Uint8Array, extractable: boolean): Promise<CryptoKey> => {
    // concatBytes allocates a fresh (non-shared) ArrayBuffer.
    const pkcs8 = concatBytes(PKCS8_ED25519_PREFIX, seed) as Uint8Array<ArrayBuffer>;
    try {
      return await subtle.importKey("pkcs8", pkcs8, ALGORITHM, extractable, ["sign"]);
    } finally {
      pkcs8.fill(0);
    }
  };

  const signingKey = async (seed: Uint8Array): Promise<CryptoKey> => {
    const cached = secretKeys.get(seed);
    if (cached !== undefined && bytesEqual(cached.seed, seed)) return cached.key;
    const key = await importSecret(seed, false);
    secretKeys.set(seed, { seed: seed.slice(), key });
    return key;
  };

  const verifyingKey = async (publicKey: Uint8Array): Promise<CryptoKey> => {
    const id = toHex(publicKey);
    const cached = publicKeys.get(id);
    if (cached !== undefined) return cached;
    const key = await subtle.importKey("raw", publicKey.slice(), ALGORITHM, false, ["verify"]);
    if (publicKeys.size >= PUBLIC_KEY_CACHE_SIZE) {
      const oldest = publicKeys.keys().next().value;
      if (oldest !== undefined) publicKeys.delete(oldest);
    }
    publicKeys.set(id, key);
    return key;
  };

  return {
    name: "webcrypto",
    async publicKey(secretKey) {
      assertSeed(secretKey);
      const key = await importSecret(secretKey, true);
      const jwk = await subtle.exportKey("jwk", key);
      if (typeof jwk.x !== "string")
        throw new InvalidInputError("WebCrypto exported no public key");
      return base64UrlDecode(jwk.x);
    },
    async sign(secretKey, message) {
      assertSeed(secretKey);
      const key = await signingKey(secretKey);
      return new Uint8Array(await subtle.sign(ALGORITHM, key, message.slice()));
    },
    async verify(publicKey, message, signature) {
      if (!(message instanceof Uint8Array) || !isStrictlyWellFormed(publicKey, signature)) {
        return false;
      }
      try {
        const key = await verifyingKey(publicKey);
        return await subtle.verify(ALGORITHM, key, signature.slice(), message.slice());
      } catch {
        return false; // e.g. a key that is not on the curve, refused at import
      }
    },
  };
}

// RFC 8032 §7.1 TEST 2: proves the runtime's Ed25519 signs and verifies as expected.
const PROBE = {
  seed: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
  publicKey: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
  message: "72",
  signature:
    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da" +
    "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
};

let webCryptoProbe: Promise<Ed25519Backend | undefined> | undefined;

/**
 * The WebCrypto backend (`crypto.subtle` with the `Ed25519` algorithm), or `undefined` when the
 * runtime lacks it or it fails a known-answer test. The probe runs once; the result is cached.
 */
export function webCryptoEd25519(): Promise<Ed25519Backend | undefined> {
  webCryptoProbe ??= (async () => {
    const subtle = globalThis.crypto?.subtle;
    if (subtle === undefined) return undefined;
    try {
      const backend = createWebCryptoBackend(subtle);
      const seed = fromHex(PROBE.seed);
      const message = fromHex(PROBE.message);
      const publicKey = await backend.publicKey(seed);
      const signature = await backend.sign(seed, message);
      const ok =
        toHex(publicKey) === PROBE.publicKey &&
        toHex(signature) === PROBE.signature &&
        (await backend.verify(publicKey, message, signature)) &&
        !(await backend.verify(publicKey, fromHex("73"), signature));
      return ok ? backend : undefined;
    } catch {
      return undefined;
    }
  })();
  return webCryptoProbe;
}

let selected: Promise<Ed25519Backend> | undefined;

/** The backend to use: WebCrypto when the runtime has a working one, else noble. Cached. */
export function ed25519(): Promise<Ed25519Backend> {
  selected ??= webCryptoEd25519().then((backend) => backend ?? nobleEd25519);
  return selected;
}

/**
 * Strict Ed25519 verification with the {@link ed25519} backend. Never throws; any malformed
 * input gives `false`.
 */
export async function verifySignature(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  return (await ed25519()).verify(publicKey, message, signature);
}

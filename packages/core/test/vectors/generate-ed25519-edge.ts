// Generates ed25519-edge.ts: Ed25519 edge-case vectors built from the curve math with noble's
// point arithmetic (nothing downloaded). Run once and commit the output:
//   npx node --conditions=source packages/core/test/vectors/generate-ed25519-edge.ts \
//     > packages/core/test/vectors/ed25519-edge.ts && npx biome format --write packages/core/test/vectors
// Each vector says how it was built, what the strict rule of identity/ed25519.ts answers
// (`valid`) and what a cofactored verifier (noble's own `zip215: false` path, ZIP-215) would
// answer, to show which vectors separate the two equations.
import * as noble from "@noble/ed25519";
import { sha512 } from "@noble/hashes/sha2.js";
import { concatBytes, fromHex, toHex } from "../../src/bytes.ts";
import { SMALL_ORDER_ENCODINGS } from "../../src/identity/ed25519.ts";

noble.hashes.sha512 ??= sha512;
const { Point } = noble;
const B = Point.BASE;
const I = Point.ZERO;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const P = 2n ** 255n - 19n;
const mod = (a: bigint, m = L) => ((a % m) + m) % m;
const le = (n: bigint, length = 32) => {
  const out = new Uint8Array(length);
  let v = n;
  for (let i = 0; i < length; i++) {
    out[i] = Number(v & 255n);
    v >>= 8n;
  }
  return out;
};
const fromLE = (b: Uint8Array) => {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i] as number);
  return n;
};
const challenge = (r: Uint8Array, a: Uint8Array, m: Uint8Array) =>
  mod(fromLE(sha512(concatBytes(r, a, m))));
const mul = (p: noble.Point, n: bigint) => (mod(n) === 0n ? I : p.multiply(mod(n), false));
const text = (s: string) => new TextEncoder().encode(s);

// The honest key: RFC 8032 TEST 1.
const seed = fromHex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
const { scalar: a, pointBytes: A } = noble.utils.getExtendedPublicKey(seed);
const message = text("p2panda-web edge vector");
const sig = noble.sign(message, seed);

/** An order-8 point: the torsion component of a decoded point, found by multiplying by L. */
function orderEight(): noble.Point {
  for (let y = 2n; ; y++) {
    let point: noble.Point;
    try {
      point = Point.fromBytes(le(y));
    } catch {
      continue;
    }
    const t = mul(point, L - 1n).add(point);
    if (!t.double().double().is0()) return t;
  }
}
const T8 = orderEight();

// Cofactorless and cofactored checks (S taken mod L, any encoding decoded), only to annotate.
function equation(pub: Uint8Array, m: Uint8Array, s: Uint8Array, cofactored: boolean): boolean {
  try {
    const Ap = Point.fromBytes(pub, true);
    const Rp = Point.fromBytes(s.subarray(0, 32), true);
    const S = fromLE(s.subarray(32));
    const k = challenge(s.subarray(0, 32), pub, m);
    const diff = mul(B, S).subtract(Rp).subtract(mul(Ap, k));
    return cofactored ? diff.clearCofactor().is0() : diff.is0();
  } catch {
    return false;
  }
}

interface Vector {
  name: string;
  construction: string;
  publicKey: string;
  message: string;
  signature: string;
  valid: boolean;
}
const vectors: Vector[] = [];
function add(
  name: string,
  construction: string,
  pub: Uint8Array,
  m: Uint8Array,
  s: Uint8Array,
  valid: boolean,
) {
  const note =
    pub.length === 32 && s.length === 64
      ? ` [plain equation: ${equation(pub, m, s, false) ? "holds" : "fails"}; cofactored: ${equation(pub, m, s, true) ? "holds" : "fails"}]`
      : "";
  vectors.push({
    name,
    construction: construction + note,
    publicKey: toHex(pub),
    message: toHex(m),
    signature: toHex(s),
    valid,
  });
}

/** A signature (R = [r]B, S) under public key bytes `pub` for a point with known log `x`. */
function signWith(x: bigint, pub: Uint8Array, m: Uint8Array, r: bigint): Uint8Array {
  const R = mul(B, r).toBytes();
  return concatBytes(R, le(mod(r + challenge(R, pub, m) * x)));
}

/** Grinds a message suffix until `predicate(k)` holds for k = H(R ‖ pub ‖ m). */
function grind(
  r: Uint8Array,
  pub: Uint8Array,
  prefix: string,
  predicate: (k: bigint) => boolean,
): Uint8Array {
  for (let i = 0; ; i++) {
    const m = text(`${prefix} ${i}`);
    if (predicate(challenge(r, pub, m))) return m;
  }
}

const R = sig.subarray(0, 32);
const S = fromLE(sig.subarray(32));

add(
  "valid",
  "RFC 8032 signature of the message under RFC 8032 TEST 1's key",
  A,
  message,
  sig,
  true,
);
add(
  "wrong message",
  "the valid signature checked against the message with its last byte changed",
  A,
  concatBytes(message.subarray(0, -1), text("!")),
  sig,
  false,
);
add(
  "bit flip in R",
  "the valid signature with bit 0 of R flipped",
  A,
  message,
  (() => {
    const s = sig.slice();
    s[0] = (s[0] as number) ^ 1;
    return s;
  })(),
  false,
);
add(
  "bit flip in S",
  "the valid signature with bit 0 of S flipped",
  A,
  message,
  (() => {
    const s = sig.slice();
    s[32] = (s[32] as number) ^ 1;
    return s;
  })(),
  false,
);
add(
  "S + L (malleated)",
  "R of the valid signature with S replaced by S + L: the same point equation, a non-reduced scalar",
  A,
  message,
  concatBytes(R, le(S + L)),
  false,
);
add("S = L", "S = L exactly (reduces to 0)", A, message, concatBytes(R, le(L)), false);
add(
  "S with the top bit set",
  "S + 2^255 (the top three bits must always be clear)",
  A,
  message,
  concatBytes(R, le(S + 2n ** 255n)),
  false,
);

add(
  "public key 31 bytes",
  "the valid signature with the key's last byte dropped",
  A.subarray(0, 31),
  message,
  sig,
  false,
);
add(
  "public key 33 bytes",
  "the valid signature with a zero byte appended to the key",
  concatBytes(A, new Uint8Array(1)),
  message,
  sig,
  false,
);
add(
  "signature 63 bytes",
  "the valid signature with its last byte dropped",
  A,
  message,
  sig.subarray(0, 63),
  false,
);
add(
  "signature 65 bytes",
  "the valid signature with a zero byte appended",
  A,
  message,
  concatBytes(sig, new Uint8Array(1)),
  false,
);

// Small-order public keys: for every point T of the torsion subgroup, a message ground so that
// ord(T) divides k; then R = [r]B, S = r satisfies [S]B = R + [k]T exactly (the plain equation).
SMALL_ORDER_ENCODINGS.forEach((hex, i) => {
  const T = fromHex(hex);
  const r = 1234567n + BigInt(i);
  const Rb = mul(B, r).toBytes();
  const m = grind(Rb, T, `small-order key ${i}`, (k) => k % 8n === 0n);
  add(
    `small-order public key ${hex.slice(0, 8)}…`,
    `A = small-order point ${hex}; R = [r]B, S = r, message ground until 8 | k so [k]A = 0`,
    T,
    m,
    concatBytes(Rb, le(r)),
    false,
  );
});

// Non-canonical encodings of the identity as the public key, with the same trick (k·O = O).
for (const [label, enc] of [
  ["y = p + 1", le(P + 1n)],
  [
    "identity with the sign bit set (x = -0)",
    (() => {
      const e = le(1n);
      e[31] = 0x80;
      return e;
    })(),
  ],
] as const) {
  const r = 7654321n;
  const Rb = mul(B, r).toBytes();
  const m = text(`non-canonical key ${label}`);
  add(
    `non-canonical public key (${label})`,
    `A = identity encoded as ${label}; R = [r]B, S = r; ZIP-215 decoding accepts this encoding`,
    enc,
    m,
    concatBytes(Rb, le(r)),
    false,
  );
}

// A non-canonical encoding of a point that is not of small order: the smallest y with a point
// has y + p < 2^255. Nobody can sign for it (its discrete log is unknown), so any signature
// works as the input; the vector checks the encoding alone is refused.
{
  let y = 2n;
  for (; ; y++) {
    try {
      const pt = Point.fromBytes(le(y));
      if (!pt.isSmallOrder()) break;
    } catch {}
  }
  add(
    "non-canonical public key (y + p, not small order)",
    `A = point with y = ${y} encoded as y + p; signature bytes of the valid vector`,
    le(y + P),
    message,
    sig,
    false,
  );
}

// Public key not on the curve: the smallest y for which (y² - 1)/(d·y² + 1) is not a square.
{
  let y = 2n;
  for (; ; y++) {
    try {
      Point.fromBytes(le(y));
    } catch {
      break;
    }
  }
  add(
    "public key not on the curve",
    `A = y ${y}, x² not a square; signature bytes of the valid vector`,
    le(y),
    message,
    sig,
    false,
  );
}

// Small-order R: R = identity and S = k·a mod L satisfies [S]B = O + [k]A exactly.
{
  const Rb = I.toBytes();
  add(
    "small-order R (identity)",
    "R = identity (01 00 … 00), S = k·a mod L: the plain equation holds",
    A,
    message,
    concatBytes(Rb, le(mod(challenge(Rb, A, message) * a))),
    false,
  );
}
// R of order 8 and S = k·a: [S]B - R - [k]A = -T8, killed only by the cofactor.
{
  const Rb = T8.toBytes();
  add(
    "small-order R (order 8)",
    "R = a point of order 8, S = k·a mod L: only the cofactored equation holds",
    A,
    message,
    concatBytes(Rb, le(mod(challenge(Rb, A, message) * a))),
    false,
  );
}
// Non-canonical R: the identity encoded as y = p + 1, S = k·a mod L (k over these bytes).
{
  const Rb = le(P + 1n);
  add(
    "non-canonical R (identity as y = p + 1)",
    "R = identity encoded as y = p + 1, S = k·a mod L with k over the non-canonical bytes",
    A,
    message,
    concatBytes(Rb, le(mod(challenge(Rb, A, message) * a))),
    false,
  );
}
// R not on the curve.
{
  let y = 2n;
  for (; ; y++) {
    try {
      Point.fromBytes(le(y));
    } catch {
      break;
    }
  }
  add(
    "R not on the curve",
    `R = y ${y} (not a point), S of the valid vector`,
    A,
    message,
    concatBytes(le(y), sig.subarray(32)),
    false,
  );
}

// Mixed-order key A' = [a]B + T8 (honestly derived scalar plus an order-8 component).
{
  const mixed = mul(B, a).add(T8).toBytes();
  const r = 99991n;
  const Rb = mul(B, r).toBytes();
  const m0 = grind(Rb, mixed, "mixed-order key, 8 | k", (k) => k % 8n === 0n);
  add(
    "mixed-order public key, 8 | k",
    "A = [a]B + T8, R = [r]B, S = r + k·a with 8 | k: [k]T8 = 0 so the plain equation holds; accepted (not small order)",
    mixed,
    m0,
    signWith(a, mixed, m0, r),
    true,
  );
  const m1 = grind(Rb, mixed, "mixed-order key, k odd", (k) => k % 2n === 1n);
  add(
    "mixed-order public key, k odd",
    "A = [a]B + T8, R = [r]B, S = r + k·a with k odd: off by [k]T8 ≠ 0, only the cofactored equation holds",
    mixed,
    m1,
    signWith(a, mixed, m1, r),
    false,
  );
}
// Mixed-order R with an honest key: R = [r]B + T8, S = r + k·a.
{
  const r = 4242n;
  const Rb = mul(B, r).add(T8).toBytes();
  const S2 = mod(r + challenge(Rb, A, message) * a);
  add(
    "mixed-order R",
    "R = [r]B + T8, S = r + k·a: off by T8, only the cofactored equation holds",
    A,
    message,
    concatBytes(Rb, le(S2)),
    false,
  );
}

const body = vectors
  .map(
    (v) => `  {
    name: ${JSON.stringify(v.name)},
    construction: ${JSON.stringify(v.construction)},
    publicKey: "${v.publicKey}",
    message: "${v.message}",
    signature: "${v.signature}",
    valid: ${v.valid},
  },`,
  )
  .join("\n");

console.log(`// Generated by generate-ed25519-edge.ts (do not edit by hand). Ed25519 edge cases built from
// the curve math; \`valid\` is the answer of p2panda-web's strict rule (identity/ed25519.ts), which
// every backend must give. The bracket at the end of each construction says whether the plain
// (cofactorless) and the cofactored equation hold for the raw bytes, ignoring encoding rules.
export interface Ed25519EdgeVector {
  readonly name: string;
  readonly construction: string;
  readonly publicKey: string;
  readonly message: string;
  readonly signature: string;
  readonly valid: boolean;
}

export const ED25519_EDGE_VECTORS: readonly Ed25519EdgeVector[] = [
${body}
];`);

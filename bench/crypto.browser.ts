// Measures the crypto primitives in whatever runtime loads it: crypto.bench.ts calls `run` in
// Node directly and in headless Chromium through runInChromium, so both columns run the same code.
import {
  type Ed25519Backend,
  hash,
  isStrictlyWellFormed,
  nobleEd25519,
  seededRng,
  webCryptoEd25519,
} from "@p2panda-web/core";

/** Operations per second of each measured operation; `undefined` when unavailable. */
export interface CryptoResult {
  readonly runtime: string;
  readonly rates: Record<string, number | undefined>;
}

/** Calls `op` repeatedly for about `ms` milliseconds; returns operations per second. */
async function opsPerSecond(
  ms: number,
  op: (i: number) => Promise<unknown> | unknown,
): Promise<number> {
  for (let i = 0; i < 5; i++) await op(i); // warm-up
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    await op(n++);
    now = performance.now();
  }
  return n / ((now - start) / 1000);
}

async function backendRates(
  backend: Ed25519Backend,
  ms: number,
  coldKeys: number,
): Promise<Record<string, number>> {
  const rng = seededRng(1);
  const seed = rng.bytes(32);
  const message = rng.bytes(256);
  const publicKey = await backend.publicKey(seed);
  const signature = await backend.sign(seed, message);
  // Distinct keys, each verified once: the cost when every author is new (no cached import).
  const pool: { publicKey: Uint8Array; signature: Uint8Array }[] = [];
  for (let i = 0; i < coldKeys; i++) {
    const s = rng.bytes(32);
    pool.push({
      publicKey: await nobleEd25519.publicKey(s),
      signature: await nobleEd25519.sign(s, message),
    });
  }
  const coldStart = performance.now();
  for (const entry of pool) await backend.verify(entry.publicKey, message, entry.signature);
  const cold = coldKeys / ((performance.now() - coldStart) / 1000);
  return {
    sign: await opsPerSecond(ms, () => backend.sign(seed, message)),
    verify: await opsPerSecond(ms, () => backend.verify(publicKey, message, signature)),
    verifyNewKey: cold,
  };
}

export async function run(args: { quick: boolean }): Promise<CryptoResult> {
  const ms = args.quick ? 250 : 2000;
  const coldKeys = args.quick ? 50 : 500;
  const rates: Record<string, number | undefined> = {};
  const noble = await backendRates(nobleEd25519, ms, coldKeys);
  rates["noble sign"] = noble.sign;
  rates["noble verify"] = noble.verify;
  rates["noble verify, new key each time"] = noble.verifyNewKey;
  const webcrypto = await webCryptoEd25519();
  const wc = webcrypto === undefined ? undefined : await backendRates(webcrypto, ms, coldKeys);
  rates["WebCrypto sign"] = wc?.sign;
  rates["WebCrypto verify"] = wc?.verify;
  rates["WebCrypto verify, new key each time"] = wc?.verifyNewKey;

  const rng = seededRng(2);
  const pub = rng.bytes(32);
  const sig = rng.bytes(64);
  rates["strict pre-checks alone"] = await opsPerSecond(ms, () => isStrictlyWellFormed(pub, sig));

  const big = rng.bytes(1024 * 1024);
  const small = rng.bytes(1024);
  // Reported in MB/s (10^6 bytes per second).
  rates["blake3, 1 MiB input (MB/s)"] =
    ((await opsPerSecond(ms, () => hash(big))) * big.length) / 1e6;
  rates["blake3, 1 KiB input (MB/s)"] =
    ((await opsPerSecond(ms, () => hash(small))) * small.length) / 1e6;

  const runtime =
    typeof navigator !== "undefined" && navigator.userAgent.includes("Chrome")
      ? "chromium"
      : "node";
  return { runtime, rates };
}

/**
 * Source of randomness for the protocol state machines. Injected so that tests and the
 * simulator replay exactly from a seed; production code uses {@link cryptoRng}.
 */
export interface Rng {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, maxExclusive). `maxExclusive` must be ≥ 1. */
  int(maxExclusive: number): number;
  /** `length` random bytes. */
  bytes(length: number): Uint8Array;
}

/** Picks a uniformly random element of `items`, or `undefined` when it is empty. */
export function pick<T>(rng: Rng, items: readonly T[]): T | undefined {
  return items.length === 0 ? undefined : items[rng.int(items.length)];
}

/** Shuffles `items` in place (Fisher–Yates) and returns it. */
export function shuffle<T>(rng: Rng, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const tmp = items[i] as T;
    items[i] = items[j] as T;
    items[j] = tmp;
  }
  return items;
}

/**
 * A fast deterministic generator (sfc32) for tests and the simulator. Not for secrets: salts
 * and keys in production come from {@link cryptoRng}.
 */
export function seededRng(seed: number): Rng {
  let a = 0x9e3779b9 ^ seed;
  let b = 0x243f6a88 ^ Math.imul(seed, 0x85ebca6b);
  let c = 0xb7e15162;
  let d = seed | 0;
  const next32 = (): number => {
    a |= 0;
    b |= 0;
    c |= 0;
    d |= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 15; i++) next32();
  return {
    next: () => next32() / 4294967296,
    int: (maxExclusive) => Math.floor((next32() / 4294967296) * maxExclusive),
    bytes: (length) => {
      const out = new Uint8Array(length);
      for (let i = 0; i < length; i++) out[i] = next32() & 0xff;
      return out;
    },
  };
}

/** Randomness from the platform's CSPRNG (`crypto.getRandomValues`). */
export const cryptoRng: Rng = {
  next: () => {
    const buf = new Uint32Array(1);
    crypto.getRandomValues(buf);
    return (buf[0] as number) / 4294967296;
  },
  int(maxExclusive) {
    return Math.floor(this.next() * maxExclusive);
  },
  bytes: (length) => crypto.getRandomValues(new Uint8Array(length)),
};

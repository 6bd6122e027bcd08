// BLAKE3 (https://github.com/BLAKE3-team/BLAKE3-specs), the two modes p2panda-web uses: hash
// and derive_key, with the default 32-byte output. Our own rather than @noble/hashes' so the
// browser bundle does not carry its general BLAKE2/BLAKE3 machinery (keyed mode, XOF,
// incremental hashing) for two one-shot calls; test/crypto/blake3.test.ts checks it against
// @noble/hashes byte for byte, over every length around the block, chunk and tree boundaries.

const IV = Uint32Array.of(
  0x6a09e667,
  0xbb67ae85,
  0x3c6ef372,
  0xa54ff53a,
  0x510e527f,
  0x9b05688c,
  0x1f83d9ab,
  0x5be0cd19,
);

const BLOCK_LEN = 64;
const CHUNK_LEN = 1024;
// Domain flags of a compression.
const CHUNK_START = 1;
const CHUNK_END = 2;
const PARENT = 4;
const ROOT = 8;
const DERIVE_KEY_CONTEXT = 32;
const DERIVE_KEY_MATERIAL = 64;

/**
 * The message word each of the 7 rounds reads at each position: round r + 1 reads through the
 * spec's permutation of round r's order, so no round has to move the words themselves.
 */
const SCHEDULE: number[][] = [];
for (let r = 0, order = [...Array(16).keys()]; r < 7; r++) {
  SCHEDULE.push(order);
  order = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8].map((i) => order[i] as number);
}

/** The compression state, reused: compressions never overlap. */
const v = new Uint32Array(16);

/** The quarter-round G on state words a, b, c, d with message words x, y. */
function g(a: number, b: number, c: number, d: number, x: number, y: number): void {
  // A Uint32Array stores every sum mod 2^32; `>>>` and `<<` rotate the 32-bit words.
  v[a] = (v[a] as number) + (v[b] as number) + x;
  let t = (v[d] as number) ^ (v[a] as number);
  v[d] = (t >>> 16) | (t << 16);
  v[c] = (v[c] as number) + (v[d] as number);
  t = (v[b] as number) ^ (v[c] as number);
  v[b] = (t >>> 12) | (t << 20);
  v[a] = (v[a] as number) + (v[b] as number) + y;
  t = (v[d] as number) ^ (v[a] as number);
  v[d] = (t >>> 8) | (t << 24);
  v[c] = (v[c] as number) + (v[d] as number);
  t = (v[b] as number) ^ (v[c] as number);
  v[b] = (t >>> 7) | (t << 25);
}

/** What a node of the tree compresses to: its chaining value, or the root's output. */
interface Node {
  readonly cv: Uint32Array;
  readonly block: Uint32Array;
  readonly counter: number;
  readonly blockLength: number;
  readonly flags: number;
}

/** The first 8 words of compressing `node` (with `extraFlags`), into `out` (may be `node.cv`). */
function compress(node: Node, extraFlags: number, out: Uint32Array): Uint32Array {
  const { cv, block, counter } = node;
  v.set(cv);
  v.set(IV.subarray(0, 4), 8);
  v[12] = counter;
  v[13] = counter / 0x1_0000_0000;
  v[14] = node.blockLength;
  v[15] = node.flags | extraFlags;
  for (const m of SCHEDULE) {
    // This round's message words in its order: the columns, then the diagonals.
    const w = (i: number): number => block[m[i] as number] as number;
    g(0, 4, 8, 12, w(0), w(1));
    g(1, 5, 9, 13, w(2), w(3));
    g(2, 6, 10, 14, w(4), w(5));
    g(3, 7, 11, 15, w(6), w(7));
    g(0, 5, 10, 15, w(8), w(9));
    g(1, 6, 11, 12, w(10), w(11));
    g(2, 7, 8, 13, w(12), w(13));
    g(3, 4, 9, 14, w(14), w(15));
  }
  for (let i = 0; i < 8; i++) out[i] = (v[i] as number) ^ (v[i + 8] as number);
  return out;
}

/** Little-endian words of `input[start, end)`, zero-padded to a block. */
function blockWords(input: Uint8Array, start: number, end: number): Uint32Array {
  const words = new Uint32Array(16);
  for (let i = start; i < end; i++) {
    const at = i - start;
    words[at >> 2] = (words[at >> 2] as number) | ((input[i] as number) << (8 * (at & 3)));
  }
  return words;
}

/** Chunk `counter` (`input[start, end)`): all blocks but the last compressed, the last as a node. */
function chunk(
  key: Uint32Array,
  flags: number,
  input: Uint8Array,
  start: number,
  end: number,
  counter: number,
): Node {
  const cv = key.slice();
  let blockFlags = flags | CHUNK_START;
  let at = start;
  for (; end - at > BLOCK_LEN; at += BLOCK_LEN) {
    compress(
      {
        cv,
        block: blockWords(input, at, at + BLOCK_LEN),
        counter,
        blockLength: BLOCK_LEN,
        flags: blockFlags,
      },
      0,
      cv,
    );
    blockFlags = flags;
  }
  return {
    cv,
    block: blockWords(input, at, end),
    counter,
    blockLength: end - at,
    flags: blockFlags | CHUNK_END,
  };
}

function parent(left: Uint32Array, right: Uint32Array, key: Uint32Array, flags: number): Node {
  const block = new Uint32Array(16);
  block.set(left);
  block.set(right, 8);
  return { cv: key, block, counter: 0, blockLength: BLOCK_LEN, flags: flags | PARENT };
}

const chainingValue = (node: Node): Uint32Array => compress(node, 0, new Uint32Array(8));

/** The 32-byte root output of `input` under `key` and the mode's `flags`. */
function hashTree(key: Uint32Array, flags: number, input: Uint8Array): Uint8Array {
  const chunks = Math.max(1, Math.ceil(input.length / CHUNK_LEN));
  // Chaining values of complete subtrees, largest first (the spec's CV stack).
  const stack: Uint32Array[] = [];
  for (let i = 0; i < chunks - 1; i++) {
    let cv = chainingValue(chunk(key, flags, input, i * CHUNK_LEN, (i + 1) * CHUNK_LEN, i));
    // As many subtrees complete as the chunk count so far has trailing zero bits.
    for (let total = i + 1; total % 2 === 0; total /= 2) {
      cv = chainingValue(parent(stack.pop() as Uint32Array, cv, key, flags));
    }
    stack.push(cv);
  }
  let node = chunk(key, flags, input, (chunks - 1) * CHUNK_LEN, input.length, chunks - 1);
  for (let left = stack.pop(); left !== undefined; left = stack.pop()) {
    node = parent(left, chainingValue(node), key, flags);
  }
  const words = compress(node, ROOT, new Uint32Array(8));
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = (words[i >> 2] as number) >>> (8 * (i & 3));
  return out;
}

/** The 32-byte BLAKE3 hash of `input`. */
export function blake3(input: Uint8Array): Uint8Array {
  return hashTree(IV, 0, input);
}

/**
 * BLAKE3's derive_key mode: 32 bytes of key derived from `material` for the purpose named by
 * `context` (a hard-coded, globally unique string's bytes, as the spec asks).
 */
export function blake3DeriveKey(context: Uint8Array, material: Uint8Array): Uint8Array {
  const contextKey = blockWords(hashTree(IV, DERIVE_KEY_CONTEXT, context), 0, 32).subarray(0, 8);
  return hashTree(contextKey, DERIVE_KEY_MATERIAL, material);
}

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

// Work buffers, reused by every call: a hash allocates only its 32-byte result (a sync
// catch-up hashes every operation, and per-call garbage was a third of what it allocated).
// Calls never overlap: hashing is synchronous.

/**
 * The message word each of the 7 rounds reads at each position, 16 per round: round r + 1 reads
 * through the spec's permutation of round r's order, so no round has to move the words.
 */
const SCHEDULE = new Uint8Array(7 * 16);
for (let r = 0, order = [...Array(16).keys()]; r < 7; r++) {
  SCHEDULE.set(order, r * 16);
  order = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8].map((i) => order[i] as number);
}

/**
 * The message block being compressed (for a parent node: the left and right children's CVs),
 * as int32 words like the state it is added to.
 */
const block = new Int32Array(16);
/** The chaining value of the chunk being hashed, or the key for a parent node. */
const cv = new Uint32Array(8);
/**
 * The chaining values of complete subtrees, largest first (the spec's CV stack), 8 words each:
 * 54 levels hold the 2^54 chunks of any input a JavaScript array can index.
 */
const stack = new Uint32Array(8 * 54);
/** The root's output words. */
const root = new Uint32Array(8);
/** The derive_key mode's context key. */
const contextKey = new Uint32Array(8);

/** The IV's first half, the third row of every compression's state (a view made once). */
const IV_LOW = IV.subarray(0, 4);

/** The compression state, int32 words like the block. */
const v = new Int32Array(16);

/**
 * The quarter-round G on state words a, b, c, d with the message words at positions `at` and
 * `at + 1` of the schedule. Every argument is a small integer: passing the words themselves
 * would box each one above 2^30 wherever V8 does not inline the call.
 */
function g(a: number, b: number, c: number, d: number, at: number): void {
  // `| 0` keeps every sum mod 2^32; `>>>` and `<<` rotate the 32-bit words.
  v[a] = ((v[a] as number) + (v[b] as number) + (block[SCHEDULE[at] as number] as number)) | 0;
  let t = (v[d] as number) ^ (v[a] as number);
  v[d] = (t >>> 16) | (t << 16);
  v[c] = ((v[c] as number) + (v[d] as number)) | 0;
  t = (v[b] as number) ^ (v[c] as number);
  v[b] = (t >>> 12) | (t << 20);
  v[a] = ((v[a] as number) + (v[b] as number) + (block[SCHEDULE[at + 1] as number] as number)) | 0;
  t = (v[d] as number) ^ (v[a] as number);
  v[d] = (t >>> 8) | (t << 24);
  v[c] = ((v[c] as number) + (v[d] as number)) | 0;
  t = (v[b] as number) ^ (v[c] as number);
  v[b] = (t >>> 7) | (t << 25);
}

/**
 * Compresses `block` with the chaining value `chain[0, 8)` and writes the first 8 words of the
 * result to `out[outAt, outAt + 8)`. `out` may be `cv` or `block` itself: it is written only
 * once the rounds are done.
 */
function compress(
  chain: Uint32Array,
  counter: number,
  blockLength: number,
  flags: number,
  out: Uint32Array | Int32Array,
  outAt: number,
): void {
  v.set(chain);
  v.set(IV_LOW, 8);
  v[12] = counter;
  v[13] = counter / 0x1_0000_0000;
  v[14] = blockLength;
  v[15] = flags;
  for (let r = 0; r < SCHEDULE.length; r += 16) {
    // The columns, then the diagonals.
    g(0, 4, 8, 12, r);
    g(1, 5, 9, 13, r + 2);
    g(2, 6, 10, 14, r + 4);
    g(3, 7, 11, 15, r + 6);
    g(0, 5, 10, 15, r + 8);
    g(1, 6, 11, 12, r + 10);
    g(2, 7, 8, 13, r + 12);
    g(3, 4, 9, 14, r + 14);
  }
  for (let i = 0; i < 8; i++) out[outAt + i] = (v[i] as number) ^ (v[i + 8] as number);
}

/** Loads the little-endian words of `input[start, end)` into `block`, zero-padded. */
function loadBlock(input: Uint8Array, start: number, end: number): void {
  block.fill(0);
  for (let i = 0; i < end - start; i++) {
    block[i >> 2] = (block[i >> 2] as number) | ((input[start + i] as number) << (8 * (i & 3)));
  }
}

/**
 * Chunk `counter` (`input[start, end)`): compresses all its blocks but the last into `cv` and
 * loads the last into `block`; returns the last block's flags (its length is `end` minus
 * where it starts, see {@link lastBlockLength}).
 */
function chunk(
  key: Uint32Array,
  flags: number,
  input: Uint8Array,
  start: number,
  end: number,
  counter: number,
): number {
  cv.set(key);
  let blockFlags = flags | CHUNK_START;
  let at = start;
  for (; end - at > BLOCK_LEN; at += BLOCK_LEN) {
    loadBlock(input, at, at + BLOCK_LEN);
    compress(cv, counter, BLOCK_LEN, blockFlags, cv, 0);
    blockFlags = flags;
  }
  loadBlock(input, at, end);
  return blockFlags | CHUNK_END;
}

/** Length of the last block of a chunk of `length` bytes (a whole block unless it is empty). */
function lastBlockLength(length: number): number {
  return length === 0 ? 0 : length - BLOCK_LEN * Math.ceil(length / BLOCK_LEN - 1);
}

/** The root output words of `input` under `key` and the mode's `flags`, into `root`. */
function hashTree(key: Uint32Array, flags: number, input: Uint8Array): Uint32Array {
  const chunks = Math.max(1, Math.ceil(input.length / CHUNK_LEN));
  let depth = 0;
  for (let i = 0; i < chunks - 1; i++) {
    const chunkFlags = chunk(key, flags, input, i * CHUNK_LEN, (i + 1) * CHUNK_LEN, i);
    compress(cv, i, BLOCK_LEN, chunkFlags, stack, depth * 8);
    depth++;
    // As many subtrees complete as the chunk count so far has trailing zero bits.
    for (let total = i + 1; total % 2 === 0; total /= 2) {
      // The two CVs on top of the stack are the parent's block; the parent's CV replaces them.
      depth--;
      block.set(stack.subarray((depth - 1) * 8, (depth + 1) * 8));
      compress(key, 0, BLOCK_LEN, flags | PARENT, stack, (depth - 1) * 8);
    }
  }
  const lastStart = (chunks - 1) * CHUNK_LEN;
  // The node still to compress: `cv` and `block`, with these counter, length and flags.
  let counter = chunks - 1;
  let blockLength = lastBlockLength(input.length - lastStart);
  let nodeFlags = chunk(key, flags, input, lastStart, input.length, counter);
  while (depth > 0) {
    // The node's chaining value becomes the right half of its parent's block.
    compress(cv, counter, blockLength, nodeFlags, block, 8);
    depth--;
    block.set(stack.subarray(depth * 8, depth * 8 + 8));
    cv.set(key);
    counter = 0;
    blockLength = BLOCK_LEN;
    nodeFlags = flags | PARENT;
  }
  compress(cv, counter, blockLength, nodeFlags | ROOT, root, 0);
  return root;
}

/** The 32 bytes of `words`, little-endian. */
function bytesOf(words: Uint32Array): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = (words[i >> 2] as number) >>> (8 * (i & 3));
  return out;
}

/** The 32-byte BLAKE3 hash of `input`. */
export function blake3(input: Uint8Array): Uint8Array {
  return bytesOf(hashTree(IV, 0, input));
}

/**
 * BLAKE3's derive_key mode: 32 bytes of key derived from `material` for the purpose named by
 * `context` (a hard-coded, globally unique string's bytes, as the spec asks).
 */
export function blake3DeriveKey(context: Uint8Array, material: Uint8Array): Uint8Array {
  contextKey.set(hashTree(IV, DERIVE_KEY_CONTEXT, context));
  return bytesOf(hashTree(contextKey, DERIVE_KEY_MATERIAL, material));
}

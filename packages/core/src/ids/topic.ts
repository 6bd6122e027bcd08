import { scrypt } from "@noble/hashes/scrypt.js";
import { fromHex, toHex } from "../bytes.ts";
import { InvalidInputError } from "../errors.ts";
import { cryptoRng } from "../random.ts";

/**
 * A topic: 32 secret bytes shared by a group (a document, a chat, a folder), as 64 lower-case hex
 * characters. Treat it like a symmetric key: whoever knows it can find the group.
 */
export type Topic = string & { readonly __brand: "Topic" };

/** Length of a topic in bytes. */
export const TOPIC_LENGTH = 32;

const TOPIC_HEX = /^[0-9a-f]{64}$/;

/**
 * How {@link Topic.fromName} stretches a name: scrypt with a fixed domain separator as its salt
 * (every node must derive the same topic, so the salt cannot be random). N = 2^14, r = 8, p = 1
 * takes 16 MiB and about 0.1 s in Node and Chromium on a laptop (docs/security.md has the
 * figures), so each guess of a dictionary attack on the PSI hashes costs the same.
 */
export const TOPIC_NAME_KDF = {
  salt: "p2panda-web/topic-from-name/v2 scrypt",
  N: 2 ** 14,
  r: 8,
  p: 1,
} as const;

/**
 * Names shorter than this make {@link Topic.fromName} warn (once per process): a short human
 * string is found by a dictionary, however slow each guess.
 */
export const MIN_TOPIC_NAME_LENGTH = 16;

/** Options of {@link Topic.fromName}. */
export interface TopicFromNameOptions {
  /** Do not warn about a name shorter than {@link MIN_TOPIC_NAME_LENGTH} (demos, tests). */
  readonly allowShortName?: boolean;
}

// Derivations of this process, by name: the KDF is slow on purpose, and demos and tests derive
// the same few names again and again. Bounded, oldest forgotten first.
const derivedNames = new Map<string, Topic>();
const MAX_DERIVED_NAMES = 1_024;
let warnedShortName = false;

/** Constructors and conversions for {@link Topic}. */
export const Topic = {
  /** A new random topic from the platform CSPRNG. This is what apps should use. */
  random(): Topic {
    return toHex(cryptoRng.bytes(TOPIC_LENGTH)) as Topic;
  },
  /** From 32 bytes. Throws `InvalidInputError` on another length. */
  fromBytes(bytes: Uint8Array): Topic {
    if (bytes.length !== TOPIC_LENGTH) throw new InvalidInputError("a topic is 32 bytes");
    return toHex(bytes) as Topic;
  },
  /** From hex (either case). Throws `InvalidInputError` unless it is 32 bytes of hex. */
  fromHex(hex: string): Topic {
    const lower = hex.toLowerCase();
    if (!TOPIC_HEX.test(lower)) throw new InvalidInputError("a topic is 64 hex characters");
    return lower as Topic;
  },
  /**
   * A topic derived from a human-readable name: scrypt ({@link TOPIC_NAME_KDF}) of the name, so
   * that trying a dictionary of names against the PSI hashes costs a memory-hard derivation per
   * guess. Every node and tab deriving the same name gets the same topic. Still, anyone who
   * guesses the name can join: use {@link Topic.random} for anything private. Names shorter
   * than {@link MIN_TOPIC_NAME_LENGTH} make it warn once per process (`console.warn`) unless
   * `allowShortName` is set. The result is cached per name in the process.
   */
  fromName(name: string, options: TopicFromNameOptions = {}): Topic {
    if (
      name.length < MIN_TOPIC_NAME_LENGTH &&
      options.allowShortName !== true &&
      !warnedShortName
    ) {
      warnedShortName = true;
      console.warn(
        `p2panda-web: topic name "${name}" is shorter than ${MIN_TOPIC_NAME_LENGTH} characters and easy to guess; use Topic.random() for private topics`,
      );
    }
    const cached = derivedNames.get(name);
    if (cached !== undefined) return cached;
    const { salt, N, r, p } = TOPIC_NAME_KDF;
    const topic = toHex(scrypt(name, salt, { N, r, p, dkLen: TOPIC_LENGTH })) as Topic;
    if (derivedNames.size >= MAX_DERIVED_NAMES) {
      derivedNames.delete(derivedNames.keys().next().value as string);
    }
    derivedNames.set(name, topic);
    return topic;
  },
  /** Whether `value` is a well-formed topic string. */
  is(value: unknown): value is Topic {
    return typeof value === "string" && TOPIC_HEX.test(value);
  },
  /** The 32 bytes. */
  toBytes(topic: Topic): Uint8Array {
    return fromHex(topic, TOPIC_LENGTH);
  },
};

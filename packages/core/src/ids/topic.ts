import { fromHex, toHex } from "../bytes.ts";
import { InvalidInputError } from "../errors.ts";
import { hash } from "../hash.ts";
import { cryptoRng } from "../random.ts";

/**
 * A topic: 32 secret bytes shared by a group (a document, a chat, a folder), as 64 lower-case hex
 * characters. Treat it like a symmetric key: whoever knows it can find the group.
 */
export type Topic = string & { readonly __brand: "Topic" };

/** Length of a topic in bytes. */
export const TOPIC_LENGTH = 32;

const TOPIC_HEX = /^[0-9a-f]{64}$/;
const NAME_DOMAIN = new TextEncoder().encode("p2panda-web/topic-from-name/v1");

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
   * A topic derived from a human-readable name (for demos and tests). Anyone who guesses the
   * name can join: use {@link Topic.random} for anything private.
   */
  fromName(name: string): Topic {
    return toHex(hash(NAME_DOMAIN, new TextEncoder().encode(name))) as Topic;
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

import { toHex } from "../bytes.ts";
import { blake3DeriveKey } from "../crypto/blake3.ts";
import { PayloadKey } from "../crypto/payload-key.ts";
import { Topic } from "./topic.ts";

// BLAKE3's key-derivation mode with a context string per capability: the two outputs are
// independent, so knowing the topic id says nothing about the payload key.
const TOPIC_ID_CONTEXT = new TextEncoder().encode("p2panda-web 2026-11 topic secret: topic id");
const PAYLOAD_KEY_CONTEXT = new TextEncoder().encode(
  "p2panda-web 2026-11 topic secret: payload key",
);

/**
 * One group's secret, from which its two capabilities are derived:
 *
 * - {@link TopicSecret.topic}, the topic id that discovery, the gossip overlays and sync run on.
 *   A node given only this id is a **blind peer**: it finds the group, joins its overlays, stores
 *   and serves its logs and verifies their signatures, but holds only ciphertext.
 * - {@link TopicSecret.payloadKey}, which encrypts gossip messages and operation bodies (pass it
 *   as `payloadKey` to `gossip.stream` and `sync.stream`).
 *
 * Members share the secret ({@link TopicSecret.toHex}); an always-on helper gets `topic` only.
 * Key rotation is out of scope: a group that must shut a member out moves to a new secret.
 */
export class TopicSecret {
  /** The id the network sees: what to give a blind peer. */
  readonly topic: Topic;
  /** The key of the topic's payloads: members only. */
  readonly payloadKey: PayloadKey;
  readonly #secret: Topic;

  private constructor(secret: Topic) {
    this.#secret = secret;
    const bytes = Topic.toBytes(secret);
    this.topic = Topic.fromBytes(blake3DeriveKey(TOPIC_ID_CONTEXT, bytes));
    this.payloadKey = PayloadKey.fromBytes(blake3DeriveKey(PAYLOAD_KEY_CONTEXT, bytes));
  }

  /** A new random secret (the recommended way to make a group). */
  static random(): TopicSecret {
    return new TopicSecret(Topic.random());
  }

  /**
   * Uses a topic made by `Topic.random`, `Topic.fromHex` or `Topic.fromName` as the secret. The
   * derived {@link TopicSecret.topic} differs from it, so the secret itself never goes on the wire.
   */
  static fromTopic(secret: Topic): TopicSecret {
    return new TopicSecret(secret);
  }

  /**
   * The secret of a human-readable name: `Topic.fromName(name)` as the secret. Anyone who
   * guesses the name holds the key too; use {@link TopicSecret.random} for anything private.
   */
  static fromName(name: string): TopicSecret {
    return new TopicSecret(Topic.fromName(name));
  }

  /** From 64 hex characters (what {@link TopicSecret.toHex} gives). Throws `InvalidInputError`. */
  static fromHex(hex: string): TopicSecret {
    return new TopicSecret(Topic.fromHex(hex));
  }

  /** From 32 bytes. Throws `InvalidInputError` on another length. */
  static fromBytes(bytes: Uint8Array): TopicSecret {
    return new TopicSecret(Topic.fromBytes(bytes));
  }

  /** The secret as hex, to share with members (not with a blind peer). */
  toHex(): string {
    return toHex(Topic.toBytes(this.#secret));
  }
}

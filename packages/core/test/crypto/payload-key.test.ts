import { describe, expect, it } from "vitest";
import { toHex } from "../../src/bytes.ts";
import {
  PAYLOAD_KEY_LENGTH,
  PayloadDecryptionError,
  PayloadKey,
  SEALED_PAYLOAD_OVERHEAD,
} from "../../src/crypto/payload-key.ts";
import { InvalidInputError } from "../../src/errors.ts";
import { Topic } from "../../src/ids/topic.ts";
import { TopicSecret } from "../../src/ids/topic-secret.ts";

const text = (s: string) => new TextEncoder().encode(s);
const context = text("ctx");

describe("PayloadKey seals with XChaCha20-Poly1305 and a random nonce", () => {
  it("opens what it sealed with the same context; the sealed bytes are 41 longer", () => {
    const key = PayloadKey.random();
    const sealed = key.seal(text("hello"), context);
    expect(sealed.length).toBe(5 + SEALED_PAYLOAD_OVERHEAD);
    expect(sealed[0]).toBe(1);
    expect(new TextDecoder().decode(key.open(sealed, context))).toBe("hello");
  });

  it("seals the same plaintext differently each time (random nonces), both open", () => {
    const key = PayloadKey.random();
    const a = key.seal(text("same"), context);
    const b = key.seal(text("same"), context);
    expect(toHex(a)).not.toBe(toHex(b));
    expect(key.open(b, context)).toEqual(text("same"));
  });

  it("does not contain the plaintext", () => {
    const plaintext = text("a rather recognisable sentence");
    const sealed = PayloadKey.random().seal(plaintext, context);
    expect(Buffer.from(sealed).includes(Buffer.from(plaintext))).toBe(false);
  });

  const key = PayloadKey.fromBytes(new Uint8Array(PAYLOAD_KEY_LENGTH).fill(7));
  const sealed = key.seal(text("secret"), context);
  const refusals: [string, () => Uint8Array][] = [
    ["another key", () => PayloadKey.random().open(sealed, context)],
    ["another context", () => key.open(sealed, text("other"))],
    ["a flipped ciphertext bit", () => key.open(flip(sealed, 30), context)],
    ["a flipped nonce bit", () => key.open(flip(sealed, 3), context)],
    ["an unknown version byte", () => key.open(flip(sealed, 0), context)],
    ["fewer bytes than the overhead", () => key.open(sealed.subarray(0, 40), context)],
    ["plaintext that was never sealed", () => key.open(text("x".repeat(64)), context)],
  ];
  it.each(refusals)("refuses %s with PayloadDecryptionError (PAYLOAD_UNDECRYPTABLE)", (_, open) => {
    expect(open).toThrow(PayloadDecryptionError);
    try {
      open();
    } catch (error) {
      expect((error as PayloadDecryptionError).code).toBe("PAYLOAD_UNDECRYPTABLE");
    }
  });

  it("takes 32 key bytes only", () => {
    expect(() => PayloadKey.fromBytes(new Uint8Array(31))).toThrow(InvalidInputError);
  });
});

describe("TopicSecret derives a topic id and a payload key that tell nothing of each other", () => {
  const secret = Topic.fromHex("11".repeat(32));

  it("derives the same capabilities from the same secret, and pins them (BLAKE3 derive-key)", () => {
    const a = TopicSecret.fromTopic(secret);
    const b = TopicSecret.fromHex("11".repeat(32));
    expect(a.topic).toBe(b.topic);
    expect(a.payloadKey.equals(b.payloadKey)).toBe(true);
    // Pinned: a change of the derivation would split every group made before it.
    expect(a.topic).toMatchInlineSnapshot(
      `"7c52e707c3f87cdd08f1a641a175d38b63ddcd4ff8a2e74b89d3e346fa551b49"`,
    );
  });

  it("puts neither the secret nor the key on the wire: the topic id is neither", () => {
    const s = TopicSecret.fromTopic(secret);
    expect(s.topic).not.toBe(secret);
    expect(s.toHex()).toBe(secret);
    // The payload key is not the topic id: a key made of the id's bytes does not open.
    const sealed = s.payloadKey.seal(text("m"), context);
    expect(() => PayloadKey.fromBytes(Topic.toBytes(s.topic)).open(sealed, context)).toThrow(
      PayloadDecryptionError,
    );
  });

  it("gives different secrets different topics and keys", () => {
    const a = TopicSecret.random();
    const b = TopicSecret.random();
    expect(a.topic).not.toBe(b.topic);
    expect(a.payloadKey.equals(b.payloadKey)).toBe(false);
    expect(TopicSecret.fromName("x").topic).toBe(TopicSecret.fromTopic(Topic.fromName("x")).topic);
  });
});

function flip(bytes: Uint8Array, at: number): Uint8Array {
  const copy = bytes.slice();
  copy[at] = (copy[at] as number) ^ 1;
  return copy;
}

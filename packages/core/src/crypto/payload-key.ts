import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { concatBytes } from "../bytes.ts";
import { InvalidInputError, P2pandaError } from "../errors.ts";
import { cryptoRng } from "../random.ts";

/** Length of a {@link PayloadKey} in bytes. */
export const PAYLOAD_KEY_LENGTH = 32;
/** Version byte in front of every sealed payload, so a later format can be told apart. */
export const SEALED_PAYLOAD_VERSION = 1;
const NONCE_LENGTH = 24;
const TAG_LENGTH = 16;
/** Bytes a sealed payload has beyond its plaintext: version, 24-byte nonce, 16-byte tag. */
export const SEALED_PAYLOAD_OVERHEAD = 1 + NONCE_LENGTH + TAG_LENGTH;

/**
 * A sealed payload could not be opened: it was sealed with another key, for another context
 * (another topic, protocol or author), is not a sealed payload at all, or was altered. Reported
 * per payload; it never ends a gossip link or a sync session (a blind peer cannot tell and
 * forwards such bytes like any other).
 */
export class PayloadDecryptionError extends P2pandaError {
  static override readonly name: string = "PayloadDecryptionError";
  constructor(
    message = "payload cannot be decrypted with this key",
    options?: { cause?: unknown },
  ) {
    super("PAYLOAD_UNDECRYPTABLE", message, options);
  }
}

/**
 * The symmetric key that encrypts a topic's payloads (gossip messages and operation bodies):
 * XChaCha20-Poly1305 from @noble/ciphers with a random 24-byte nonce per payload, so no counter
 * needs to be kept across tabs or restarts (random 192-bit nonces do not collide in practice).
 * Whoever holds it reads and writes the topic's content; a node given only the topic id (a blind
 * peer) relays and stores ciphertext. The key bytes stay inside the object.
 */
export class PayloadKey {
  readonly #key: Uint8Array;

  private constructor(key: Uint8Array) {
    this.#key = key;
  }

  /** From 32 bytes (copied). Throws `InvalidInputError` on another length. */
  static fromBytes(bytes: Uint8Array): PayloadKey {
    if (bytes.length !== PAYLOAD_KEY_LENGTH) {
      throw new InvalidInputError(`a payload key is ${PAYLOAD_KEY_LENGTH} bytes`);
    }
    return new PayloadKey(bytes.slice());
  }

  /** A new random key from the platform CSPRNG. */
  static random(): PayloadKey {
    return new PayloadKey(cryptoRng.bytes(PAYLOAD_KEY_LENGTH));
  }

  /**
   * Encrypts `plaintext`: `version ‖ nonce ‖ ciphertext ‖ tag`. `context` is authenticated but
   * not sent (associated data): the same bytes must be given to {@link PayloadKey.open}, which
   * binds a payload to where it was written (protocol, topic, author) so it cannot be replayed
   * elsewhere by someone who only holds ciphertext.
   */
  seal(plaintext: Uint8Array, context: Uint8Array): Uint8Array {
    const nonce = cryptoRng.bytes(NONCE_LENGTH);
    const sealed = xchacha20poly1305(this.#key, nonce, context).encrypt(plaintext);
    return concatBytes(Uint8Array.of(SEALED_PAYLOAD_VERSION), nonce, sealed);
  }

  /**
   * Decrypts what {@link PayloadKey.seal} made with the same `context`.
   *
   * @throws PayloadDecryptionError when the key, the context or the bytes do not match.
   */
  open(sealed: Uint8Array, context: Uint8Array): Uint8Array {
    if (sealed.length < SEALED_PAYLOAD_OVERHEAD || sealed[0] !== SEALED_PAYLOAD_VERSION) {
      throw new PayloadDecryptionError("not a sealed payload");
    }
    const nonce = sealed.subarray(1, 1 + NONCE_LENGTH);
    try {
      return xchacha20poly1305(this.#key, nonce, context).decrypt(
        sealed.subarray(1 + NONCE_LENGTH),
      );
    } catch (error) {
      throw new PayloadDecryptionError(undefined, { cause: error });
    }
  }

  /** Whether `other` holds the same key bytes (for tests and de-duplication; not constant time). */
  equals(other: PayloadKey): boolean {
    const a = this.#key;
    const b = other.#key;
    return a.length === b.length && a.every((byte, i) => byte === b[i]);
  }
}

import type { Ed25519PrivateKey, Ed25519PublicKey, PrivateKey } from "@libp2p/interface";
import { bytesEqual, concatBytes } from "../bytes.ts";
import { InvalidInputError } from "../errors.ts";
import { NodeId } from "../ids/node-id.ts";
import { cryptoRng } from "../random.ts";
import { type Ed25519Backend, ed25519, nobleEd25519 } from "./ed25519.ts";

/**
 * The key pair of a node. Its public key is the node's {@link NodeId} and, through
 * {@link Identity.toLibp2pPrivateKey}, its libp2p PeerId. Signs with the fastest available
 * Ed25519 backend ({@link ed25519}).
 */
export class Identity {
  /** The node id: the public key as hex. */
  readonly nodeId: NodeId;
  readonly #publicKey: Uint8Array;
  readonly #secretKey: Uint8Array;
  readonly #backend: Ed25519Backend;

  private constructor(secretKey: Uint8Array, publicKey: Uint8Array, backend: Ed25519Backend) {
    this.#secretKey = secretKey;
    this.#publicKey = publicKey;
    this.#backend = backend;
    this.nodeId = NodeId.fromBytes(publicKey);
  }

  /** A new identity from 32 bytes of the platform CSPRNG. */
  static async generate(): Promise<Identity> {
    return Identity.fromSecretKey(cryptoRng.bytes(32));
  }

  /**
   * The identity of a 32-byte Ed25519 secret seed (copied). Throws `InvalidInputError` on
   * another length.
   */
  static async fromSecretKey(secretKey: Uint8Array): Promise<Identity> {
    if (!(secretKey instanceof Uint8Array) || secretKey.length !== 32) {
      throw new InvalidInputError("an Ed25519 secret key is a 32-byte seed");
    }
    const seed = secretKey.slice();
    const backend = await ed25519();
    return new Identity(seed, await backend.publicKey(seed), backend);
  }

  /** The 32-byte public key (a copy). */
  get publicKey(): Uint8Array {
    return this.#publicKey.slice();
  }

  /** A copy of the 32-byte secret seed. Whoever holds it can act as this node. */
  get secretKey(): Uint8Array {
    return this.#secretKey.slice();
  }

  /** The 64-byte Ed25519 signature of `message`. */
  sign(message: Uint8Array): Promise<Uint8Array> {
    return this.#backend.sign(this.#secretKey, message);
  }

  /** The same key as a libp2p private key, for libp2p's `privateKey` option. */
  toLibp2pPrivateKey(): PrivateKey {
    // libp2p's `Ed25519PrivateKey` shape: @libp2p/crypto's `privateKeyFromRaw` (or
    // `…FromProtobuf`) would add its RSA, secp256k1 and ECDSA private-key parsers to every
    // bundle for the one key type we use.
    const raw = concatBytes(this.#secretKey, this.#publicKey);
    const seed = this.#secretKey;
    const key: Ed25519PrivateKey = {
      type: "Ed25519",
      // Its public half is libp2p's own class, which PeerIds and Noise are made from.
      publicKey: NodeId.toPeerId(this.nodeId).publicKey as Ed25519PublicKey,
      raw,
      equals: (other?: { raw?: unknown }) =>
        other?.raw instanceof Uint8Array && bytesEqual(other.raw, raw),
      // noble signs at once, as libp2p's own key does in Node: a Noise handshake then never
      // waits behind a queue of WebCrypto calls when many connections open at a time.
      sign: (data, options) => {
        options?.signal?.throwIfAborted();
        return nobleEd25519.sign(seed, data instanceof Uint8Array ? data : data.subarray());
      },
    };
    return key;
  }

  /** Serialises to the node id only, so the secret never ends up in logs or JSON by accident. */
  toJSON(): { nodeId: NodeId } {
    return { nodeId: this.nodeId };
  }

  /** `Identity(<short node id>)`: never the secret key. */
  toString(): string {
    return `Identity(${NodeId.short(this.nodeId)})`;
  }
}

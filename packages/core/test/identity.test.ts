import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import {
  fromHex,
  Identity,
  InvalidInputError,
  NodeId,
  nobleEd25519,
  toHex,
  verifySignature,
} from "@p2panda-web/core";
import { describe, expect, it } from "vitest";
import { RFC8032_VECTORS } from "./vectors/rfc8032.ts";

const TEST1 = RFC8032_VECTORS[0] as (typeof RFC8032_VECTORS)[number];

describe("an identity is an Ed25519 key pair whose public key is the node id", () => {
  it("derives the RFC 8032 public key from a seed", async () => {
    const identity = await Identity.fromSecretKey(fromHex(TEST1.secretKey));
    expect(toHex(identity.publicKey)).toBe(TEST1.publicKey);
    expect(identity.nodeId).toBe(TEST1.publicKey);
  });

  it("signs like RFC 8032 and the signature verifies", async () => {
    const identity = await Identity.fromSecretKey(fromHex(TEST1.secretKey));
    const signature = await identity.sign(new Uint8Array());
    expect(toHex(signature)).toBe(TEST1.signature);
    expect(await verifySignature(identity.publicKey, new Uint8Array(), signature)).toBe(true);
  });

  it("generates distinct identities", async () => {
    const [a, b] = await Promise.all([Identity.generate(), Identity.generate()]);
    expect(a.nodeId).not.toBe(b.nodeId);
    expect(toHex(await nobleEd25519.publicKey(a.secretKey))).toBe(a.nodeId);
  });

  it("hands out copies: mutating them changes nothing", async () => {
    const seed = fromHex(TEST1.secretKey);
    const identity = await Identity.fromSecretKey(seed);
    seed.fill(0);
    identity.secretKey.fill(0);
    identity.publicKey.fill(0);
    expect(toHex(identity.secretKey)).toBe(TEST1.secretKey);
    expect(toHex(identity.publicKey)).toBe(TEST1.publicKey);
    expect(toHex(await identity.sign(new Uint8Array()))).toBe(TEST1.signature);
  });

  it("refuses a secret key that is not 32 bytes", async () => {
    await expect(Identity.fromSecretKey(new Uint8Array(64))).rejects.toBeInstanceOf(
      InvalidInputError,
    );
  });

  it("never serialises its secret", async () => {
    const identity = await Identity.fromSecretKey(fromHex(TEST1.secretKey));
    const json = JSON.stringify(identity);
    expect(json).toBe(JSON.stringify({ nodeId: TEST1.publicKey }));
    expect(String(identity)).not.toContain(TEST1.secretKey);
  });
});

describe("the identity is the libp2p PeerId", () => {
  it("NodeId.fromPeerId(peerIdFromPrivateKey(toLibp2pPrivateKey())) is the node id", async () => {
    const identity = await Identity.generate();
    const key = identity.toLibp2pPrivateKey();
    expect(key.type).toBe("Ed25519");
    const peerId = peerIdFromPrivateKey(key);
    expect(NodeId.fromPeerId(peerId)).toBe(identity.nodeId);
    expect(NodeId.toPeerId(identity.nodeId).equals(peerId)).toBe(true);
    expect(NodeId.fromPeerId(peerId.toString())).toBe(identity.nodeId);
  });

  it("the libp2p key signs exactly like the identity", async () => {
    const identity = await Identity.fromSecretKey(fromHex(TEST1.secretKey));
    const message = new TextEncoder().encode("same key");
    const fromLibp2p = await identity.toLibp2pPrivateKey().sign(message);
    expect(toHex(fromLibp2p)).toBe(toHex(await identity.sign(message)));
  });
});

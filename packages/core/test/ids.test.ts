import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey, peerIdFromString } from "@libp2p/peer-id";
import { blake3 } from "@noble/hashes/blake3.js";
import {
  concatBytes,
  fromHex,
  HASH_LENGTH,
  hash,
  Identity,
  InvalidInputError,
  NetworkId,
  NodeId,
  ProtocolName,
  protocolHash,
  protocolId,
  TOPIC_NAME_KDF,
  Topic,
  toHex,
} from "@p2panda-web/core";

const PINNED_CHAT = "eddd72a587667554a6ca18e03ff193c863186a2cb848688384c6d6d9860db79b";

import { scrypt } from "@noble/hashes/scrypt.js";
import { describe, expect, it } from "vitest";

const HEX64 = "ab".repeat(32);

describe("hash is BLAKE3-256 of the concatenated parts", () => {
  it("matches the BLAKE3 known answers", () => {
    expect(toHex(hash(new Uint8Array()))).toBe(
      "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
    );
    expect(toHex(hash(new TextEncoder().encode("abc")))).toBe(
      "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85",
    );
    expect(HASH_LENGTH).toBe(32);
  });
  it("hashes several parts as one concatenation", () => {
    const a = new Uint8Array([1, 2]);
    const b = new Uint8Array([3]);
    expect(toHex(hash(a, b))).toBe(toHex(hash(new Uint8Array([1, 2, 3]))));
  });
});

describe("NodeId: an Ed25519 public key as 64 lower-case hex characters", () => {
  it("converts bytes and hex, normalising case", () => {
    const id = NodeId.fromHex(HEX64.toUpperCase());
    expect(id).toBe(HEX64);
    expect(NodeId.fromBytes(NodeId.toBytes(id))).toBe(id);
    expect(NodeId.is(id)).toBe(true);
    expect(NodeId.is(HEX64.toUpperCase())).toBe(false);
    expect(NodeId.short(id)).toBe("abababab");
  });
  it("rejects other lengths and non-hex", () => {
    expect(() => NodeId.fromBytes(new Uint8Array(31))).toThrow(InvalidInputError);
    expect(() => NodeId.fromHex("ab")).toThrow(InvalidInputError);
    expect(() => NodeId.fromHex(`${"zz".repeat(32)}`)).toThrow(InvalidInputError);
  });
  it("is the libp2p PeerId of the same key, both ways", async () => {
    const { nodeId } = await Identity.generate();
    const peerId = NodeId.toPeerId(nodeId);
    expect(peerId.type).toBe("Ed25519");
    expect(NodeId.fromPeerId(peerId)).toBe(nodeId);
    expect(NodeId.fromPeerId(peerId.toString())).toBe(nodeId);
    expect(NodeId.fromPeerId(peerIdFromString(peerId.toString()))).toBe(nodeId);
  });
  it("refuses a peer id that is not an Ed25519 key", async () => {
    const secp = peerIdFromPrivateKey(await generateKeyPair("secp256k1"));
    expect(() => NodeId.fromPeerId(secp)).toThrow(InvalidInputError);
    expect(() => NodeId.fromPeerId(secp.toString())).toThrow(InvalidInputError);
  });
  it("refuses a string that is not a peer id with InvalidInputError", () => {
    for (const bad of ["", "12D3KooW", "not a peer id", `Qm${"1".repeat(44)}`]) {
      expect(() => NodeId.fromPeerId(bad), bad).toThrow(InvalidInputError);
    }
  });
});

describe("Topic: 32 secret bytes as hex", () => {
  it("random topics differ and are well formed", () => {
    const a = Topic.random();
    const b = Topic.random();
    expect(a).not.toBe(b);
    expect(Topic.is(a)).toBe(true);
    expect(Topic.fromBytes(Topic.toBytes(a))).toBe(a);
  });
  it("fromName is deterministic and domain-separated (pinned)", () => {
    expect(Topic.fromName("chat", { allowShortName: true })).toBe(PINNED_CHAT);
    expect(Topic.fromName("chat")).not.toBe(toHex(hash(new TextEncoder().encode("chat"))));
  });
  it("fromName is scrypt (N = 2^14, r = 8, p = 1) of the name with the fixed domain as salt", () => {
    const name = "a long enough topic name";
    const expected = scrypt(name, "p2panda-web/topic-from-name/v2 scrypt", {
      N: 16_384,
      r: 8,
      p: 1,
      dkLen: 32,
    });
    expect(TOPIC_NAME_KDF).toEqual({
      salt: "p2panda-web/topic-from-name/v2 scrypt",
      N: 16_384,
      r: 8,
      p: 1,
    });
    expect(Topic.fromName(name)).toBe(toHex(expected));
    // The second derivation of a name comes from the process's cache.
    const started = performance.now();
    for (let i = 0; i < 100; i++) Topic.fromName(name);
    expect(performance.now() - started).toBeLessThan(50);
  });
  it("rejects malformed input", () => {
    expect(() => Topic.fromHex("00")).toThrow(InvalidInputError);
    expect(() => Topic.fromBytes(new Uint8Array(33))).toThrow(InvalidInputError);
    expect(Topic.is(42)).toBe(false);
  });
});

describe("protocol ids are bound to the network: BLAKE3(protocolName ‖ networkId)", () => {
  it("is the hash of the name bytes followed by the 32 network-id bytes", () => {
    const name = ProtocolName.logSync;
    const expected = blake3(
      concatBytes(new TextEncoder().encode(name), fromHex(NetworkId.DEFAULT)),
    );
    expect(toHex(protocolHash(name, NetworkId.DEFAULT))).toBe(toHex(expected));
    expect(protocolId(name, NetworkId.DEFAULT)).toBe(`/p2panda/${toHex(expected)}`);
  });
  it("known answers for the default network (pinned)", () => {
    expect(NetworkId.DEFAULT).toBe(
      "f745f8f284789fe66264d6c84e284f5eae080c1b54c3f69f84f04fd0012b8476",
    );
    expect(protocolId(ProtocolName.discovery, NetworkId.DEFAULT)).toBe(
      "/p2panda/8c07b2107cbeaf450e3a17e47c499e8e0fd7549b9c5bdada49c9f9856af16f96",
    );
    expect(protocolId(ProtocolName.logSync, NetworkId.DEFAULT)).toBe(
      "/p2panda/64fc91f9ab01b19d29bd8a040e4624be0b164fffd4f32dbfac635c039c5279a5",
    );
    expect(protocolId(ProtocolName.gossip, NetworkId.DEFAULT)).toBe(
      "/p2panda/eea844478df2e52600f15dabc990f51e64c3536526439432a7d3140951183825",
    );
  });
  it("two networks never share a protocol string", () => {
    const other = NetworkId.fromName("my-app");
    expect(other).not.toBe(NetworkId.DEFAULT);
    for (const name of Object.values(ProtocolName)) {
      expect(protocolId(name, other)).not.toBe(protocolId(name, NetworkId.DEFAULT));
    }
  });
  it("two protocols never share a string on one network", () => {
    const ids = Object.values(ProtocolName).map((n) => protocolId(n, NetworkId.DEFAULT));
    expect(new Set(ids).size).toBe(ids.length);
  });
  it("NetworkId validates its input", () => {
    expect(NetworkId.fromHex(NetworkId.DEFAULT.toUpperCase())).toBe(NetworkId.DEFAULT);
    expect(NetworkId.fromBytes(NetworkId.toBytes(NetworkId.DEFAULT))).toBe(NetworkId.DEFAULT);
    expect(() => NetworkId.fromHex("00")).toThrow(InvalidInputError);
    expect(() => NetworkId.fromBytes(new Uint8Array(1))).toThrow(InvalidInputError);
  });
});

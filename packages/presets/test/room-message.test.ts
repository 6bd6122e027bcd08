import { decodeCbor, encodeCbor, Identity, seededRng, Topic } from "@p2panda-web/core";
import { describe, expect, it } from "vitest";
import { decodeRoomMessage, encodeRoomMessage, ROOM_MESSAGE_VERSION } from "../src/index.ts";

const topic = Topic.fromName("room-message");
const text = (s: string) => new TextEncoder().encode(s);

describe("room messages: author, nonce and signature around the content", () => {
  it("decodes what it encodes, with the author as `from` and the nonce as id", async () => {
    const author = await Identity.generate();
    const { bytes, id } = await encodeRoomMessage(author, topic, text("hi"), seededRng(1));
    const message = await decodeRoomMessage(topic, bytes);
    expect(message?.from).toBe(author.nodeId);
    expect(message?.text()).toBe("hi");
    expect(message?.id).toBe(id);
    expect(id).toMatch(/^[0-9a-f]{32}$/);
  });

  it("gives the same content twice two different messages (gossip drops identical bytes for 90 s)", async () => {
    const author = await Identity.generate();
    const rng = seededRng(2);
    const first = await encodeRoomMessage(author, topic, text("same"), rng);
    const second = await encodeRoomMessage(author, topic, text("same"), rng);
    expect(first.id).not.toBe(second.id);
    expect(first.bytes).not.toEqual(second.bytes);
  });

  it("drops a message whose author did not sign it", async () => {
    const [author, impostor] = [await Identity.generate(), await Identity.generate()];
    const { bytes } = await encodeRoomMessage(author, topic, text("mine"), seededRng(3));
    const [version, , nonce, content, signature] = decodeCbor(bytes) as unknown[];
    const forged = encodeCbor([version, impostor.publicKey, nonce, content, signature]);
    expect(await decodeRoomMessage(topic, forged)).toBeUndefined();
  });

  it("drops a message replayed into another topic", async () => {
    const author = await Identity.generate();
    const { bytes } = await encodeRoomMessage(author, topic, text("here"), seededRng(4));
    expect(await decodeRoomMessage(Topic.fromName("elsewhere"), bytes)).toBeUndefined();
  });

  const author = new Uint8Array(32).fill(1);
  const nonce = new Uint8Array(16);
  const signature = new Uint8Array(64);
  const malformed: [string, Uint8Array][] = [
    ["not CBOR", new Uint8Array([0xff, 0x00])],
    ["plain content (another app's framing)", text("hello")],
    ["a map", encodeCbor({ v: 1 })],
    ["four fields", encodeCbor([ROOM_MESSAGE_VERSION, author, nonce, text("x")])],
    ["another version", encodeCbor([2, author, nonce, text("x"), signature])],
    ["a short author", encodeCbor([1, author.subarray(1), nonce, text("x"), signature])],
    ["a short nonce", encodeCbor([1, author, nonce.subarray(1), text("x"), signature])],
    ["text content", encodeCbor([1, author, nonce, "x", signature])],
    ["a short signature", encodeCbor([1, author, nonce, text("x"), signature.subarray(1)])],
    ["a zero signature", encodeCbor([1, author, nonce, text("x"), signature])],
    ["nested arrays", encodeCbor([[1, author, nonce, text("x"), signature]])],
  ];
  it.each(malformed)("drops %s", async (_reason, bytes) => {
    expect(await decodeRoomMessage(topic, bytes)).toBeUndefined();
  });
});

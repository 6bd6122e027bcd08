import { describe, expect, it } from "vitest";
import { encodeCbor, encodedCborSize } from "../../src/codec/cbor.ts";
import { encodeFrame, framedSize } from "../../src/codec/framing.ts";
import { seededRng } from "../../src/random.ts";
import { frameSize, frameSizeWithList } from "../../src/sim/wire-size.ts";

const wire = (value: unknown) => encodeFrame(encodeCbor(value)).length;

describe("sim wire size: what a message costs on the wire", () => {
  it("framedSize adds the varint prefix encodeFrame writes, at each prefix length", () => {
    for (const n of [0, 1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152]) {
      expect(framedSize(n)).toBe(encodeFrame(new Uint8Array(n), 4 * 1024 * 1024).length);
    }
  });

  it("encodedCborSize is the length of encodeCbor, without encoding", () => {
    for (const value of [0, 23, 24, 65_536, "x", new Uint8Array(40), { a: [1, { b: "c" }] }]) {
      expect(encodedCborSize(value)).toBe(encodeCbor(value).length);
    }
  });

  it("frameSize is the framed CBOR length", () => {
    const message = { type: "alice-salt-half", saltHalf: new Uint8Array(32) };
    expect(frameSize(message)).toBe(wire(message));
  });

  it("frameSizeWithList is exact for lists of every head size (0, 23, 24, 255, 256 entries)", () => {
    const rng = seededRng(1);
    const entry = () => [rng.bytes(32), { timestamp: rng.int(1000), signature: rng.bytes(64) }];
    const empty = encodedCborSize({ type: "nodes", transportInfos: [] });
    for (const count of [0, 1, 23, 24, 255, 256]) {
      const list = Array.from({ length: count }, entry);
      const entries = list.reduce((sum, e) => sum + encodedCborSize(e), 0);
      expect(frameSizeWithList(empty, count, entries)).toBe(
        wire({ type: "nodes", transportInfos: list }),
      );
    }
  });
});

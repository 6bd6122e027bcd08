import { describe, expect, it } from "vitest";
import { expectBytes, expectMap, taggedRecord } from "../src/codec/message-shape.ts";

class Malformed extends Error {}
const malformed = (reason: string) => new Malformed(reason);

/** The reason `fn` was refused with, or undefined when it was accepted. */
function refusal(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(Malformed);
    return (error as Malformed).message;
  }
}

const FIELDS = { ping: ["n", "type"], bye: ["type"] } as const;

// Every protocol decoder rests on these three checks; a message that passes them reaches a state
// machine, so each refusal below is an input a remote could otherwise smuggle in.
describe("message shape: a decoded message is a map with a known type and exactly its fields", () => {
  it("accepts a known type with exactly its fields, in any key order", () => {
    expect(taggedRecord({ n: 1, type: "ping" }, FIELDS, malformed)).toEqual({
      type: "ping",
      record: { n: 1, type: "ping" },
    });
    expect(taggedRecord({ type: "bye" }, FIELDS, malformed).type).toBe("bye");
  });

  const refused: [string, unknown, string][] = [
    ["an unknown type", { type: "pong", n: 1 }, "unknown type"],
    ["a type that is not a string", { type: 1, n: 1 }, "unknown type"],
    ["no type", { n: 1 }, "unknown type"],
    ["a type named like an Object.prototype property", { type: "toString" }, "unknown type"],
    ["a missing field", { type: "ping" }, "fields of ping must be exactly n, type"],
    ["an extra field", { type: "bye", n: 1 }, "fields of bye must be exactly type"],
    [
      "another field in place of one",
      { type: "ping", m: 1 },
      "fields of ping must be exactly n, type",
    ],
    ["an array", ["ping", 1], "not a map"],
    ["a byte string", new Uint8Array(2), "not a map"],
    ["null", null, "not a map"],
    ["a string", "ping", "not a map"],
  ];
  for (const [what, value, reason] of refused) {
    it(`refuses ${what}`, () => {
      expect(refusal(() => taggedRecord(value, FIELDS, malformed))).toBe(reason);
    });
  }

  it("expectMap passes a plain object through and refuses arrays, byte strings, null and scalars", () => {
    const map = { a: 1 };
    expect(expectMap(map, malformed)).toBe(map);
    for (const value of [[], new Uint8Array(1), new DataView(new ArrayBuffer(1)), null, 1, "x"]) {
      expect(refusal(() => expectMap(value, malformed))).toBe("not a map");
    }
  });

  it("expectBytes accepts a byte string of exactly the length, refuses other lengths and types", () => {
    expect(
      refusal(() => expectBytes(new Uint8Array(32), 32, "node id", malformed)),
    ).toBeUndefined();
    for (const value of [
      new Uint8Array(31),
      new Uint8Array(33),
      Array(32).fill(0),
      "x".repeat(32),
    ]) {
      expect(refusal(() => expectBytes(value, 32, "node id", malformed))).toBe(
        "node id must be 32 bytes",
      );
    }
  });
});

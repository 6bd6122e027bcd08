import { describe, expect, it } from "vitest";
import { DEFAULT_MAX_CBOR_DEPTH, decodeCbor, encodeCbor } from "../src/codec/cbor.ts";

/** `depth` arrays nested in one another around `inner`. */
function nested(depth: number, inner: unknown): unknown {
  let value = inner;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

// The depth, entry-count and map-key guards run on every token of every message. Each must
// refuse only what it is for: a guard that miscounts would drop valid messages from honest peers.
describe("CBOR decoding guards let every valid message through", () => {
  it("depth counts open containers only: siblings at the limit depth decode", () => {
    // The outer array, the nested arrays, the map and its array: exactly the limit.
    const value = Array.from({ length: 100 }, () =>
      nested(DEFAULT_MAX_CBOR_DEPTH - 3, { k: [1, 2] }),
    );
    expect(decodeCbor(encodeCbor(value))).toEqual(value);
  });

  it("one level more than the limit is still refused", () => {
    expect(() =>
      decodeCbor(encodeCbor([nested(DEFAULT_MAX_CBOR_DEPTH - 2, { k: [1, 2] })])),
    ).toThrow(/nesting deeper than 32/);
  });

  it("closed maps and arrays are left: a long message of small maps decodes", () => {
    const value = { items: Array.from({ length: 500 }, (_, i) => ({ i, tags: ["a", "b"] })) };
    expect(decodeCbor(encodeCbor(value))).toEqual(value);
  });

  it("strings named like Object.prototype properties decode as values and array items", () => {
    const value = {
      a: "constructor",
      b: ["__proto__", "toString", "hasOwnProperty"],
      c: { d: "valueOf" },
    };
    expect(decodeCbor(encodeCbor(value))).toEqual(value);
  });

  it("a container whose entries fill exactly the rest of the input decodes", () => {
    const value = Array.from({ length: 23 }, (_, i) => i);
    const bytes = encodeCbor(value);
    // One byte of header, then one byte per small integer.
    expect(bytes.length).toBe(24);
    expect(decodeCbor(bytes)).toEqual(value);
  });
});

// The tab protocol's messages come from other tabs of the origin: any of them may run another
// version of the app, or a bug. Each malformed message below is dropped for the reason given.
import { describe, expect, it } from "vitest";
import { MAX_TAB_CONTENT, parseTabMessage, TAB_PROTOCOL_VERSION } from "../src/tabs/tab-message.ts";

const v = TAB_PROTOCOL_VERSION;
const call = {
  v,
  kind: "call",
  from: "a",
  to: "b",
  id: "c1",
  method: "append",
  content: new Uint8Array([1]),
  deadline: 1_000,
};
const entry = { headerBytes: new Uint8Array([1, 2]), body: new Uint8Array([3]) };

describe("parseTabMessage", () => {
  it("takes every kind of well-formed message", () => {
    const valid: unknown[] = [
      call,
      { ...call, method: "history", content: undefined },
      { ...call, retry: true },
      { v, kind: "result", from: "b", to: "a", id: "c1", ok: true, value: "message-id" },
      { v, kind: "result", from: "b", to: "a", id: "c1", ok: true, value: entry },
      { v, kind: "result", from: "b", to: "a", id: "c1", ok: true, value: [entry, entry] },
      {
        v,
        kind: "result",
        from: "b",
        to: "a",
        id: "c1",
        ok: false,
        error: { code: "X", message: "y" },
      },
      { v, kind: "leader", from: "b", nodeId: "ab".repeat(32), peers: ["cd".repeat(32)] },
      { v, kind: "who", from: "a" },
      { v, kind: "leaving", from: "b" },
      {
        v,
        kind: "message",
        from: "b",
        message: { from: "ab", content: new Uint8Array(2), id: "n" },
      },
      { v, kind: "entry", from: "b", entry },
      { v, kind: "peers", from: "b", peers: [] },
      { v, kind: "event", from: "b", event: { type: "gossip:neighbour-up", node: "x" } },
    ];
    for (const message of valid) expect(parseTabMessage(message)).toBe(message);
  });

  const malformed: [string, unknown][] = [
    ["not an object", "call"],
    ["null", null],
    ["an array", [call]],
    ["another protocol version", { ...call, v: v + 1 }],
    ["no sender", { ...call, from: undefined }],
    ["an empty sender", { ...call, from: "" }],
    ["an unknown kind", { ...call, kind: "shutdown" }],
    ["a call without a recipient", { ...call, to: undefined }],
    ["a call of an unknown method", { ...call, method: "stop" }],
    ["an append without content", { ...call, content: undefined }],
    ["content that is not bytes", { ...call, content: "text" }],
    ["content over the cap", { ...call, content: new Uint8Array(MAX_TAB_CONTENT + 1) }],
    ["a deadline that is not a number", { ...call, deadline: "soon" }],
    ["a deadline that is not finite", { ...call, deadline: Number.POSITIVE_INFINITY }],
    ["a call id over 128 characters", { ...call, id: "x".repeat(129) }],
    ["a retry flag that is not a boolean", { ...call, retry: "yes" }],
    [
      "a result that is neither ok nor failed",
      { v, kind: "result", from: "b", to: "a", id: "c1", ok: "yes", value: "m" },
    ],
    [
      "a result whose value is a number",
      { v, kind: "result", from: "b", to: "a", id: "c1", ok: true, value: 7 },
    ],
    [
      "a result whose entry lacks its header",
      { v, kind: "result", from: "b", to: "a", id: "c1", ok: true, value: { body: entry.body } },
    ],
    [
      "a failure without an error code",
      { v, kind: "result", from: "b", to: "a", id: "c1", ok: false, error: { message: "m" } },
    ],
    ["a leader without a node id", { v, kind: "leader", from: "b", peers: [] }],
    ["a leader whose peers are not ids", { v, kind: "leader", from: "b", nodeId: "n", peers: [1] }],
    [
      "a message whose content is not bytes",
      { v, kind: "message", from: "b", message: { from: "a", content: [1], id: "n" } },
    ],
    [
      "an entry whose body is not bytes",
      { v, kind: "entry", from: "b", entry: { ...entry, body: 1 } },
    ],
    ["peers that are not a list", { v, kind: "peers", from: "b", peers: "x" }],
    ["an event without a type", { v, kind: "event", from: "b", event: { node: "x" } }],
  ];
  it.each(malformed)("drops %s", (_reason, message) => {
    expect(parseTabMessage(message)).toBeUndefined();
  });
});

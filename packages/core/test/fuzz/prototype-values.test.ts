// Regressions the fuzzer found: message decoders trusted `instanceof Uint8Array` and
// `typeof … === "object"`. A map built by plain assignment from a `__proto__` key (what a CBOR
// layer without our guard builds) passes both, and then throws a plain TypeError on `.length` or
// in the encoder. decodeCbor refuses such keys; each decoder must hold on its own as well.
import { describe, expect, it } from "vitest";
import { decodeDiscoveryMessage } from "../../src/discovery/messages.ts";
import { P2pandaError } from "../../src/errors.ts";
import { decodeGossipMessage } from "../../src/gossip/messages.ts";
import { hash } from "../../src/hash.ts";
import { transportInfoFromWire } from "../../src/records/transport-info.ts";
import { decodeSyncMessage } from "../../src/sync/messages.ts";

const id32 = new Uint8Array(32).fill(1);
const content = new Uint8Array([1, 2, 3]);

/** What `obj["__proto__"] = prototype` builds from a decoded `__proto__` key: no own key. */
function withPrototype(prototype: object, fields: Record<string, unknown> = {}): object {
  const out: Record<string, unknown> = {};
  Object.setPrototypeOf(out, prototype);
  for (const [k, v] of Object.entries(fields)) out[k] = v;
  return out;
}

/** An object that `instanceof Uint8Array` takes for bytes; reading its length throws. */
const fakeBytes = () => withPrototype(new Uint8Array(32));

/** What `decode` threw: its code (and reason), or "accepted" / "crash: …". */
function outcome(decode: () => unknown): string {
  try {
    decode();
    return "accepted";
  } catch (error) {
    if (!(error instanceof P2pandaError)) return `crash: ${String(error)}`;
    const reason = (error as { reason?: unknown }).reason;
    return typeof reason === "string" ? `${error.code}/${reason}` : error.code;
  }
}

const gossip = (value: unknown) => () => decodeGossipMessage(value);
const discovery = (value: unknown) => () => decodeDiscoveryMessage(value);
const sync = (value: unknown) => () => decodeSyncMessage(value, { maxLogsInHave: 10 });
const transportInfo = (value: unknown) => () => transportInfoFromWire(value);

describe("a map whose prototype a __proto__ key replaced is refused, not read through", () => {
  it.each([
    [
      "gossip: the message's prototype is a byte string",
      gossip(withPrototype(new Uint8Array(3), { topic: id32, body: { type: "join" } })),
      "GOSSIP_PROTOCOL/malformed-message",
    ],
    [
      "gossip: the body's prototype carries the fields",
      gossip({ topic: id32, body: withPrototype({ type: "prune" }, { type: "prune" }) }),
      "GOSSIP_PROTOCOL/malformed-message",
    ],
    [
      "discovery: the message's prototype is a byte string",
      discovery(withPrototype(new Uint8Array(3), { type: "alice-hashes", topicHashes: [] })),
      "DISCOVERY_PROTOCOL/malformed-message",
    ],
    [
      "discovery: a transport info whose prototype is a byte string",
      discovery({ type: "nodes", transportInfos: [[id32, withPrototype(new Uint8Array(3))]] }),
      "DISCOVERY_PROTOCOL/malformed-message",
    ],
  ])("%s", (_, decode, expected) => {
    expect(outcome(decode)).toBe(expected);
  });
});

describe("an object posing as a byte string is refused with a typed error", () => {
  it.each([
    ["gossip: topic", gossip({ topic: fakeBytes(), body: { type: "join" } })],
    [
      "gossip: content",
      gossip({
        topic: id32,
        body: { type: "gossip", id: hash(content), content: fakeBytes(), round: 0 },
      }),
    ],
    [
      "gossip: node id",
      gossip({ topic: id32, body: { type: "shuffle-reply", nodes: [fakeBytes()] } }),
    ],
    ["discovery: salt half", discovery({ type: "alice-salt-half", saltHalf: fakeBytes() })],
    ["discovery: topic hash", discovery({ type: "alice-hashes", topicHashes: [fakeBytes()] })],
    ["discovery: node id", discovery({ type: "nodes", transportInfos: [[fakeBytes(), {}]] })],
    ["sync: topic", sync(["topic", fakeBytes()])],
    ["sync: operation header", sync(["op", fakeBytes(), null])],
    ["sync: operation body", sync(["live", new Uint8Array(3), fakeBytes()])],
    ["sync: author in have", sync(["have", [[fakeBytes(), []]]])],
    ["sync: log id in have", sync(["have", [[id32, [[fakeBytes(), 1]]]]])],
    [
      "transport info: signature",
      transportInfo({ timestamp: [1, 0], signature: fakeBytes(), addresses: [] }),
    ],
  ])("%s", (_, decode) => {
    expect(outcome(decode)).toMatch(/^(DECODE_ERROR|[A-Z_]+_PROTOCOL\/malformed-message)$/);
  });
});

import type { ByteDuplex } from "@p2panda-web/core";
import {
  ChannelClosedError,
  DEFAULT_MAX_CBOR_DEPTH,
  DEFAULT_MAX_FRAME_SIZE,
  DecodeError,
  decodeCbor,
  encodeCbor,
  encodeFrame,
  FrameDecoder,
  FrameTooLargeError,
  framedChannel,
  fromHex,
  IncompleteFrameError,
  InvalidInputError,
  InvalidLengthPrefixError,
  memoryChannelPair,
  memoryDuplexPair,
  NodeId,
  P2pandaError,
  StreamStalledError,
  toHex,
} from "@p2panda-web/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

const A = NodeId.fromHex("aa".repeat(32));
const B = NodeId.fromHex("bb".repeat(32));
const bytes = (...b: number[]) => new Uint8Array(b);

/** Feeds `stream` to a decoder in the given chunk sizes; returns the frames as hex. */
function decodeInChunks(stream: Uint8Array, sizes: number[], max?: number): string[] {
  const decoder = new FrameDecoder(max);
  const frames: string[] = [];
  let offset = 0;
  let i = 0;
  while (offset < stream.length) {
    const size = Math.max(1, sizes[i++ % Math.max(1, sizes.length)] ?? 1);
    for (const f of decoder.push(stream.subarray(offset, offset + size))) frames.push(toHex(f));
    offset += size;
  }
  decoder.finish();
  return frames;
}

describe("CBOR is deterministic on encode and strict on decode", () => {
  it("the same value gives the same bytes whatever the key insertion order", () => {
    expect(toHex(encodeCbor({ b: 1, a: [1, "x"] }))).toBe(toHex(encodeCbor({ a: [1, "x"], b: 1 })));
  });
  it("round-trips plain values", () => {
    const value = { n: 1, s: "x", b: bytes(1, 2), l: [true, null, -5], m: { k: 2.5 } };
    expect(decodeCbor(encodeCbor(value))).toEqual(value);
  });
  it("leaves out undefined properties and refuses undefined elsewhere, so what it writes decodes", () => {
    expect(decodeCbor(encodeCbor({ a: undefined, b: { c: undefined, d: 1 } }))).toEqual({
      b: { d: 1 },
    });
    expect(() => encodeCbor(undefined)).toThrow(InvalidInputError);
    expect(() => encodeCbor([1, undefined])).toThrow(InvalidInputError);
  });
  it.each([
    ["nothing", ""],
    ["trailing bytes", "0101"],
    ["indefinite-length array", "9f01ff"],
    ["duplicate map keys", "a2616101616102"],
    ["non-minimal integer", "1801"],
    ["undefined", "f7"],
    ["NaN", "f97e00"],
    ["infinity", "f97c00"],
    ["truncated string", "6461"],
    ["reserved additional info", "1c"],
  ])("rejects %s with DecodeError", (_, hex) => {
    expect(() => decodeCbor(fromHex(hex))).toThrow(DecodeError);
  });
  it.each([
    [
      "__proto__ followed by bytes (would make a fake Uint8Array)",
      "a1695f5f70726f746f5f5f43010203",
    ],
    ["constructor", "a16b636f6e7374727563746f7201"],
    ["toString", "a168746f537472696e6701"],
    ["a tag", "c24101"],
    ["an array declaring more entries than bytes left", "9a0000ffff01"],
    ["a map declaring more entries than bytes left", "bb00000000ffffffff"],
  ])("refuses %s with DecodeError", (_, hex) => {
    expect(() => decodeCbor(fromHex(hex))).toThrow(DecodeError);
  });
  it("a key named like an Object.prototype property is refused at any depth, not only at the top", () => {
    const inner = encodeCbor({ ok: 1 });
    const nested = new Uint8Array([
      0x81,
      0xa1,
      0x69,
      ...new TextEncoder().encode("__proto__"),
      ...inner,
    ]);
    expect(() => decodeCbor(nested)).toThrow(/__proto__/);
    // As a value (not a key) the same string is plain data.
    expect(decodeCbor(encodeCbor({ name: "__proto__" }))).toEqual({ name: "__proto__" });
  });
  it("nesting is limited while tokenising (no stack overflow), the limit is configurable", () => {
    const deep = (levels: number) =>
      new Uint8Array([...new Array<number>(levels).fill(0x81), 0x01]);
    expect(decodeCbor(deep(DEFAULT_MAX_CBOR_DEPTH))).toBeDefined();
    expect(() => decodeCbor(deep(DEFAULT_MAX_CBOR_DEPTH + 1))).toThrow(/nesting deeper/);
    const maps = new Uint8Array([
      ...new Array<number>(3000).fill(0).flatMap(() => [0xa1, 0x61, 0x61]),
      0x01,
    ]);
    expect(() => decodeCbor(maps)).toThrow(DecodeError);
    expect(() => decodeCbor(deep(100_000))).toThrow(DecodeError);
    expect(decodeCbor(deep(40), { maxDepth: 40 })).toBeDefined();
    // Empty containers at the limit are leaves, not another level.
    expect(
      decodeCbor(new Uint8Array([...new Array<number>(DEFAULT_MAX_CBOR_DEPTH).fill(0x81), 0x80])),
    ).toBeDefined();
  });
  it("a Node Buffer decodes to plain Uint8Array byte strings, like any other view", () => {
    const encoded = encodeCbor({ b: bytes(1, 2, 3) });
    const decoded = decodeCbor(Buffer.from(encoded)) as { b: Uint8Array };
    expect(decoded.b.constructor).toBe(Uint8Array);
    expect(decoded.b).toEqual(bytes(1, 2, 3));
  });
  it("non-byte input is a DecodeError too", () => {
    expect(() => decodeCbor("a1" as unknown as Uint8Array)).toThrow(DecodeError);
  });
  it("arbitrary bytes only ever throw DecodeError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (input) => {
        try {
          decodeCbor(input);
        } catch (error) {
          expect(error).toBeInstanceOf(DecodeError);
        }
      }),
      { numRuns: 2000, seed: 7 },
    );
  });
});

describe("framing: a varint length prefix, then the payload (spec §8 framing tests)", () => {
  const payloads = [bytes(1, 2, 3), bytes(), new Uint8Array(300).fill(7)];
  const stream = new Uint8Array(payloads.flatMap((p) => [...encodeFrame(p)]));

  it("decoding_exactly_one_frame", () => {
    const frame = encodeFrame(bytes(0xa1, 0x61, 0x61, 0x01));
    expect(decodeInChunks(frame, [frame.length])).toEqual(["a1616101"]);
  });
  it("decoding_more_than_one_frame, in any chunking", () => {
    const expected = payloads.map(toHex);
    expect(decodeInChunks(stream, [stream.length])).toEqual(expected);
    expect(decodeInChunks(stream, [1])).toEqual(expected);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1 }), (sizes) => {
        expect(decodeInChunks(stream, sizes)).toEqual(expected);
      }),
      { seed: 3 },
    );
  });
  it("decoding_incomplete_frame: nothing until complete, IncompleteFrameError at the end", () => {
    const frame = encodeFrame(bytes(1, 2, 3, 4));
    const decoder = new FrameDecoder();
    expect(decoder.push(frame.subarray(0, 3))).toEqual([]);
    expect(decoder.inFrame).toBe(true);
    expect(() => decoder.finish()).toThrow(IncompleteFrameError);
    const again = new FrameDecoder();
    again.push(frame.subarray(0, 3));
    expect(again.push(frame.subarray(3)).map(toHex)).toEqual(["01020304"]);
    expect(() => again.finish()).not.toThrow();
  });
  it("uses the unsigned varint of libp2p length-prefixed streams", () => {
    expect(toHex(encodeFrame(new Uint8Array(300)).subarray(0, 2))).toBe("ac02");
    expect(toHex(encodeFrame(bytes(9)))).toBe("0109");
  });
  it("a frame above the maximum is refused from its prefix alone, before buffering it", () => {
    const max = 1024;
    const decoder = new FrameDecoder(max);
    const prefix = encodeFrame(new Uint8Array(max + 1), max + 1).subarray(0, 2);
    expect(() => decoder.push(prefix)).toThrow(FrameTooLargeError);
    expect(decoder.buffered).toBeLessThanOrEqual(prefix.length);
    // A prefix that already exceeds the limit before its last byte is refused at once.
    const early = new FrameDecoder(100);
    expect(() => early.push(bytes(0xff))).toThrow(FrameTooLargeError);
    // Announcing 256 MiB - 1 with a tiny chunk costs only those bytes.
    const huge = new FrameDecoder();
    expect(() => huge.push(bytes(0xff, 0xff, 0xff, 0x7f, 0x00))).toThrow(FrameTooLargeError);
    expect(huge.buffered).toBeLessThanOrEqual(5);
  });
  it("encodeFrame refuses a payload above the maximum", () => {
    expect(() => encodeFrame(new Uint8Array(11), 10)).toThrow(FrameTooLargeError);
    expect(DEFAULT_MAX_FRAME_SIZE).toBe(1024 * 1024);
  });
  it.each([
    ["non-minimal 0 (80 00)", "8000"],
    ["non-minimal 1 (81 00)", "8100"],
    ["non-minimal 3 bytes (80 80 00)", "808000"],
    ["five-byte prefix", "8080808001"],
  ])("rejects a %s prefix", (_, hex) => {
    expect(() => new FrameDecoder(2 ** 30).push(fromHex(hex))).toThrow(InvalidLengthPrefixError);
  });
  it("arbitrary bytes only ever throw the codec's typed errors", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 6 }), (chunks) => {
        const decoder = new FrameDecoder(64);
        try {
          for (const chunk of chunks) for (const frame of decoder.push(chunk)) decodeCbor(frame);
          decoder.finish();
        } catch (error) {
          expect(error).toBeInstanceOf(P2pandaError);
          expect(
            error instanceof DecodeError || error instanceof FrameTooLargeError,
            String(error),
          ).toBe(true);
        }
      }),
      { numRuns: 2000, seed: 5 },
    );
  });
});

describe("memoryChannelPair: framed CBOR messages over an in-memory pipe", () => {
  it("round-trips messages in order and ends with undefined after close", async () => {
    const [a, b] = memoryChannelPair(A, B);
    expect(a.remote).toBe(B);
    expect(b.remote).toBe(A);
    const messages = [{ type: "hello", n: 1 }, [1, 2, 3], "x", bytes(9, 9), null];
    for (const m of messages) await a.send(m);
    await a.close();
    const received: unknown[] = [];
    for (;;) {
      const m = await b.receive();
      if (m === undefined) break;
      received.push(m);
    }
    expect(received).toEqual(messages);
    await expect(a.send("more")).rejects.toBeInstanceOf(ChannelClosedError);
    // the other direction still works after a half-close
    await b.send("reply");
    expect(await a.receive()).toBe("reply");
  });

  it("a silent peer → StreamStalledError", async () => {
    const [, b] = memoryChannelPair(A, B, { receiveTimeoutMs: 30 });
    const error = await b.receive().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamStalledError);
    expect((error as StreamStalledError).midFrame).toBe(false);
    // the channel is dead afterwards
    await expect(b.receive()).rejects.toBeInstanceOf(StreamStalledError);
  });

  it("a peer stalling mid-frame → StreamStalledError (midFrame)", async () => {
    const [raw, other] = memoryDuplexPair();
    const channel = framedChannel(A, other, { receiveTimeoutMs: 30 });
    await raw.write(encodeFrame(encodeCbor("hello world")).subarray(0, 4));
    const error = await channel.receive().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamStalledError);
    expect((error as StreamStalledError).midFrame).toBe(true);
  });

  it("a started frame must complete within the frame timeout even when the receive timeout is off", async () => {
    const [raw, other] = memoryDuplexPair();
    const channel = framedChannel(A, other, { receiveTimeoutMs: 0, frameTimeoutMs: 40 });
    await raw.write(encodeFrame(encodeCbor("hello world")).subarray(0, 4));
    const started = Date.now();
    const error = await channel.receive().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamStalledError);
    expect((error as StreamStalledError).midFrame).toBe(true);
    expect(Date.now() - started).toBeLessThan(1_000);
    // The stream is reset: the remote's writes fail from now on.
    await expect(raw.write(bytes(1))).rejects.toBeDefined();
  });

  it("a frame trickled in byte by byte is held to the time of its first byte", async () => {
    const [raw, other] = memoryDuplexPair();
    const channel = framedChannel(A, other, { receiveTimeoutMs: 0, frameTimeoutMs: 60 });
    const frame = encodeFrame(encodeCbor("a message that trickles in"));
    let stop = false;
    const trickle = (async () => {
      for (let i = 0; i < frame.length - 1 && !stop; i++) {
        await raw.write(frame.subarray(i, i + 1)).catch(() => {});
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    const error = await channel.receive().catch((e: unknown) => e);
    stop = true;
    await trickle;
    expect(error).toBeInstanceOf(StreamStalledError);
    expect((error as StreamStalledError).midFrame).toBe(true);
  });

  it("keep-alives hold an idle channel open past the receive timeout and are never messages", async () => {
    const [x, y] = memoryDuplexPair();
    const sender = framedChannel(B, x, { keepAliveIntervalMs: 20 });
    const receiver = framedChannel(A, y, { receiveTimeoutMs: 60 });
    const next = receiver.receive();
    await new Promise((resolve) => setTimeout(resolve, 250));
    await sender.send({ after: "quiet" });
    expect(await next).toEqual({ after: "quiet" });
    await sender.close();
    expect(await receiver.receive()).toBeUndefined();
  });

  it("without keep-alives the same quiet peer is a stall", async () => {
    const [x, y] = memoryDuplexPair();
    framedChannel(B, x);
    const receiver = framedChannel(A, y, { receiveTimeoutMs: 60 });
    await expect(receiver.receive()).rejects.toBeInstanceOf(StreamStalledError);
  });

  it("garbage bytes → DecodeError, and the stream is aborted", async () => {
    const [raw, other] = memoryDuplexPair();
    const channel = framedChannel(A, other);
    await raw.write(encodeFrame(bytes(0xff, 0xff)));
    await expect(channel.receive()).rejects.toBeInstanceOf(DecodeError);
    await expect(raw.write(bytes(1))).rejects.toBeDefined();
  });

  it("an early end inside a frame → IncompleteFrameError", async () => {
    const [raw, other] = memoryDuplexPair();
    const channel = framedChannel(A, other);
    await raw.write(encodeFrame(encodeCbor({ a: 1 })).subarray(0, 3));
    await raw.closeWrite();
    await expect(channel.receive()).rejects.toBeInstanceOf(IncompleteFrameError);
  });

  it("an oversized frame → FrameTooLargeError on both ends", async () => {
    const [raw, other] = memoryDuplexPair();
    const channel = framedChannel(A, other, { maxFrameSize: 16 });
    await expect(channel.send(new Uint8Array(100))).rejects.toBeInstanceOf(FrameTooLargeError);
    await raw.write(encodeFrame(new Uint8Array(100)));
    await expect(channel.receive()).rejects.toBeInstanceOf(FrameTooLargeError);
  });

  it("messages sent while a write is in progress go out together, in order, up to 64 KiB a write", async () => {
    const writes: Uint8Array[] = [];
    const [x, y] = memoryDuplexPair();
    const counting: ByteDuplex = {
      ...x,
      write: (b) => {
        writes.push(b);
        return x.write(b);
      },
    };
    const sender = framedChannel(B, counting);
    const receiver = framedChannel(A, y);
    // One awaited message: a write of its own.
    await sender.send("first");
    expect(writes).toHaveLength(1);
    // 200 messages handed over at once, ~1 KB each: joined, never past one noise message.
    const payloads = Array.from({ length: 200 }, (_, i) => new Uint8Array(1_000).fill(i % 256));
    await Promise.all(payloads.map((p) => sender.send(p)));
    const joined = writes.slice(1);
    expect(joined).toHaveLength(4);
    for (const w of joined) expect(w.length).toBeLessThanOrEqual(65_519);
    expect(await receiver.receive()).toBe("first");
    for (const p of payloads) expect(await receiver.receive()).toEqual(p);
  });

  it("abort ends the other side with the error", async () => {
    const [a, b] = memoryChannelPair(A, B);
    const reason = new ChannelClosedError("bye");
    a.abort(reason);
    await expect(b.receive()).rejects.toBeDefined();
    await expect(a.send(1)).rejects.toBeInstanceOf(ChannelClosedError);
  });
});

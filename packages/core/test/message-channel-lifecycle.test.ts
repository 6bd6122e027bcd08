import { describe, expect, it } from "vitest";
import {
  ChannelClosedError,
  framedChannel,
  memoryChannelPair,
  memoryDuplexPair,
  StreamStalledError,
} from "../src/codec/message-channel.ts";
import { NodeId } from "../src/ids/node-id.ts";

const A = NodeId.fromBytes(new Uint8Array(32).fill(1));
const B = NodeId.fromBytes(new Uint8Array(32).fill(2));

/** Resolves after `ms`: the remote is slow, not silent. */
const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether `promise` is still pending once the event loop went round. */
async function pending(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  await new Promise((resolve) => setImmediate(resolve));
  return !settled;
}

// Every protocol session runs on a MessageChannel: how it ends (close, abort, a stall) decides
// whether a remote can hold a session open, make us send into a dead stream, or go unnoticed.
describe("message channel: a session ends once, for both sides, with the first reason", () => {
  it("abort hands the reason itself to the other side's pending receive", async () => {
    const [a, b] = memoryChannelPair(A, B);
    const receiving = b.receive();
    const reason = new ChannelClosedError("bye");
    a.abort(reason);
    await expect(receiving).rejects.toBe(reason);
  });

  it("after an abort, sending fails with ChannelClosedError and receiving with the first reason", async () => {
    const [a] = memoryChannelPair(A, B);
    const first = new ChannelClosedError("first");
    a.abort(first);
    a.abort(new ChannelClosedError("second"));
    await expect(a.send("x")).rejects.toBeInstanceOf(ChannelClosedError);
    await expect(a.receive()).rejects.toBe(first);
  });

  it("a receive waits for a slow remote within the timeout; timeout 0 waits without limit", async () => {
    for (const receiveTimeoutMs of [10_000, 0]) {
      const [a, b] = memoryChannelPair(A, B, { receiveTimeoutMs });
      const receiving = b.receive();
      await later(20);
      await a.send("late");
      expect(await receiving).toBe("late");
    }
  });

  it("a per-receive timeout replaces the channel's", async () => {
    const [, b] = memoryChannelPair(A, B, { receiveTimeoutMs: 10_000 });
    await expect(b.receive({ timeoutMs: 30 })).rejects.toBeInstanceOf(StreamStalledError);
  }, 2_000);
});

describe("in-memory pipe: bounded like a socket buffer, and a write is a copy", () => {
  it("a write waits while more than the high-water mark is unread, and resumes once it is read", async () => {
    const [writer, reader] = memoryDuplexPair(16);
    await writer.write(new Uint8Array(16));
    const over = writer.write(new Uint8Array(8));
    expect(await pending(over)).toBe(true);
    const chunks = reader.source[Symbol.asyncIterator]();
    expect((await chunks.next()).value).toHaveLength(16);
    await over;
  });

  it("what the reader gets does not change when the writer reuses its buffer", async () => {
    const [writer, reader] = memoryDuplexPair();
    const buffer = Uint8Array.of(1, 2, 3);
    await writer.write(buffer);
    buffer.fill(9);
    const chunks = reader.source[Symbol.asyncIterator]();
    expect((await chunks.next()).value).toEqual(Uint8Array.of(1, 2, 3));
  });

  it("a write after closeWrite fails with ChannelClosedError; after abort, with the abort reason", async () => {
    const [writer] = memoryDuplexPair();
    await writer.closeWrite();
    await expect(writer.write(Uint8Array.of(1))).rejects.toBeInstanceOf(ChannelClosedError);
    const [aborted] = memoryDuplexPair();
    const reason = new Error("reset");
    aborted.abort(reason);
    await expect(aborted.write(Uint8Array.of(1))).rejects.toBe(reason);
  });

  it("a writer held back by a full pipe is released with the reason when the stream is aborted", async () => {
    const [writer] = memoryDuplexPair(4);
    const held = writer.write(new Uint8Array(8));
    expect(await pending(held)).toBe(true);
    const reason = new Error("reset");
    writer.abort(reason);
    await expect(held).rejects.toBe(reason);
  });

  it("framedChannel over a pipe: a receive after the remote's abort fails at once", async () => {
    const [raw, other] = memoryDuplexPair();
    const channel = framedChannel(A, other);
    const reason = new ChannelClosedError("gone");
    raw.abort(reason);
    await expect(channel.receive()).rejects.toBe(reason);
  }, 2_000);
});

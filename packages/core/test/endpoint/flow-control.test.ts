import type { Stream } from "@libp2p/interface";
import { NetworkId, NodeId, protocolId } from "@p2panda-web/core";
import { MAX_STREAM_RECEIVE_WINDOW, WriteStalledError } from "@p2panda-web/core/endpoint";
import { afterEach, describe, expect, it } from "vitest";
import { streamDuplex } from "../../src/endpoint/stream-duplex.ts";
import { deferred, introduce, memoryNode, stopAll, type TestNode } from "./helpers.ts";

// A fast sender and a slow reader on one stream, over real libp2p (memory transport, noise,
// yamux): the sender must be held back by the reader's pace instead of either side buffering the
// whole transfer, and the transfer must complete (libp2p resets a paused stream that buffers more
// than 4 MiB).

const PROTOCOL = "test/slow-sink/v1";
const MESSAGE_BYTES = 16 * 1024;
const MESSAGES = 2_048; // 32 MiB in all

interface StreamView {
  readonly protocol?: string;
  readonly direction: string;
  readonly status: string;
  readonly writeBufferLength: number;
  readonly readBufferLength: number;
}

function streamOf(node: TestNode, remote: TestNode, direction: string): StreamView {
  const protocol = protocolId(PROTOCOL, NetworkId.DEFAULT);
  const stream = node.endpoint.libp2p
    .getConnections(NodeId.toPeerId(remote.endpoint.nodeId))
    .flatMap((c) => c.streams as unknown as StreamView[])
    .find((s) => s.protocol === protocol && s.direction === direction && s.status === "open");
  if (stream === undefined) throw new Error(`no ${direction} stream`);
  return stream;
}

afterEach(stopAll);

describe("flow control between a fast sender and a slow reader", () => {
  it("32 MiB arrive intact, the sender's buffer stays bounded after every drain, the reader's too", {
    timeout: 60_000,
  }, async () => {
    const writer = await memoryNode();
    const reader = await memoryNode();
    await introduce(writer, reader);

    let readerPeak = 0;
    const received = deferred<number[]>();
    reader.endpoint.accept(
      PROTOCOL,
      async (channel) => {
        const stream = streamOf(reader, writer, "inbound");
        const seen: number[] = [];
        for (;;) {
          const message = (await channel.receive()) as Uint8Array | undefined;
          if (message === undefined) break;
          readerPeak = Math.max(readerPeak, stream.readBufferLength);
          seen.push(new DataView(message.buffer, message.byteOffset).getUint32(0));
          // The reader is slower than the sender: one macrotask per message.
          await new Promise((resolve) => setImmediate(resolve));
        }
        received.resolve(seen);
        await channel.close();
      },
      { receiveTimeoutMs: 30_000 },
    );

    const channel = await writer.endpoint.connect(reader.endpoint.nodeId, PROTOCOL);
    const stream = streamOf(writer, reader, "outbound");
    let writerPeak = 0;
    for (let i = 0; i < MESSAGES; i++) {
      const message = new Uint8Array(MESSAGE_BYTES);
      new DataView(message.buffer).setUint32(0, i);
      await channel.send(message);
      writerPeak = Math.max(writerPeak, stream.writeBufferLength);
    }
    await channel.close();

    const seen = await received.promise;
    expect(seen.length).toBe(MESSAGES);
    expect(seen.every((n, i) => n === i)).toBe(true);
    // Without write backpressure the sender queues nearly everything the reader has not yet
    // granted window for: tens of MiB here.
    expect(writerPeak).toBeLessThan(1024 * 1024);
    // The reader never holds more than one receive window beyond its high-water mark.
    expect(readerPeak).toBeLessThanOrEqual(MAX_STREAM_RECEIVE_WINDOW + 512 * 1024);
  });

  it("a write the remote never takes fails with WriteStalledError and resets the stream", async () => {
    const writer = await memoryNode();
    const reader = await memoryNode();
    await introduce(writer, reader);
    await writer.endpoint.dial(reader.endpoint.nodeId);
    // A raw libp2p protocol whose handler keeps the stream and never reads it.
    const protocol = "/test/never-reads/1";
    const held: Stream[] = [];
    await reader.endpoint.libp2p.handle(protocol, (stream) => {
      held.push(stream);
      stream.pause();
    });
    const stream = await writer.endpoint.libp2p.dialProtocol(
      NodeId.toPeerId(reader.endpoint.nodeId),
      protocol,
    );
    const duplex = streamDuplex(stream, { writeTimeoutMs: 300 });
    const chunk = new Uint8Array(64 * 1024);
    let written = 0;
    const error = await (async () => {
      for (;;) {
        await duplex.write(chunk);
        written += chunk.length;
        // Far beyond every window and buffer: the writes must have blocked long before.
        if (written > 64 * 1024 * 1024) return undefined;
      }
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WriteStalledError);
    expect(written).toBeLessThan(8 * 1024 * 1024);
    expect(stream.status).toBe("aborted");
    await expect(duplex.write(chunk)).rejects.toBeInstanceOf(WriteStalledError);
  });
});

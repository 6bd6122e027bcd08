import { type Timers, VirtualRuntime } from "@p2panda-web/core";
import { describe, expect, it } from "vitest";
import {
  PublishQueue,
  RoomLeftError,
  RoomPublishQueueFullError,
  RoomPublishTimeoutError,
} from "../src/index.ts";

const bytes = (n: number) => new Uint8Array([n]);

describe("PublishQueue: messages published before the first neighbour", () => {
  it("waits until flushed, then hands every message to send in publishing order", async () => {
    const runtime = new VirtualRuntime();
    const queue = new PublishQueue(runtime.timers);
    const settled: number[] = [];
    const waits = [1, 2, 3].map((n) => queue.enqueue(bytes(n)).then(() => settled.push(n)));
    await runtime.advance(10_000);
    expect(settled).toEqual([]);
    expect(queue.size).toBe(3);

    const sent: number[] = [];
    await queue.flush(async (b) => {
      sent.push(b[0] as number);
    });
    await Promise.all(waits);
    expect(sent).toEqual([1, 2, 3]);
    expect(settled).toEqual([1, 2, 3]);
    expect(queue.size).toBe(0);
  });

  it("fails a message with ROOM_PUBLISH_TIMEOUT once it waited the timeout, and never sends it", async () => {
    const runtime = new VirtualRuntime();
    const queue = new PublishQueue(runtime.timers, { timeoutMs: 5_000 });
    const early = queue.enqueue(bytes(1)).catch((e: unknown) => e);
    await runtime.advance(2_000);
    const late = queue.enqueue(bytes(2));
    await runtime.advance(3_000);
    const error = await early;
    expect(error).toBeInstanceOf(RoomPublishTimeoutError);
    expect((error as RoomPublishTimeoutError).code).toBe("ROOM_PUBLISH_TIMEOUT");
    const sent: number[] = [];
    await queue.flush(async (b) => {
      sent.push(b[0] as number);
    });
    await late;
    expect(sent).toEqual([2]);
  });

  it("refuses a message past its capacity with ROOM_PUBLISH_QUEUE_FULL", async () => {
    const runtime = new VirtualRuntime();
    const queue = new PublishQueue(runtime.timers, { capacity: 2 });
    const kept = [queue.enqueue(bytes(1)), queue.enqueue(bytes(2))];
    await expect(queue.enqueue(bytes(3))).rejects.toMatchObject({
      code: "ROOM_PUBLISH_QUEUE_FULL",
      capacity: 2,
    });
    await expect(queue.enqueue(bytes(3))).rejects.toBeInstanceOf(RoomPublishQueueFullError);
    await queue.flush(async () => {});
    await Promise.all(kept);
  });

  it("rejects a message with send's error when sending it fails, and still sends the rest", async () => {
    const runtime = new VirtualRuntime();
    const queue = new PublishQueue(runtime.timers);
    const failing = queue.enqueue(bytes(1));
    const fine = queue.enqueue(bytes(2));
    const boom = new Error("link gone");
    await queue.flush(async (b) => {
      if (b[0] === 1) throw boom;
    });
    await expect(failing).rejects.toBe(boom);
    await expect(fine).resolves.toBeUndefined();
  });

  it("fails every waiting message on failAll and cancels their timers", async () => {
    const runtime = new VirtualRuntime();
    let live = 0;
    const timers: Timers = {
      after: (ms, run) => {
        live++;
        const timer = runtime.timers.after(ms, run);
        return {
          cancel: () => {
            live--;
            timer.cancel();
          },
        };
      },
      every: (ms, run) => runtime.timers.every(ms, run),
    };
    const queue = new PublishQueue(timers, { timeoutMs: 1_000 });
    const waits = [queue.enqueue(bytes(1)), queue.enqueue(bytes(2))].map((p) =>
      p.catch((e: unknown) => e),
    );
    queue.failAll(new RoomLeftError());
    for (const error of await Promise.all(waits)) {
      expect(error).toBeInstanceOf(RoomLeftError);
    }
    expect(queue.size).toBe(0);
    expect(live).toBe(0);
  });
});

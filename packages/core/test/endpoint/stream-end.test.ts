// The end of a remote's data is where it closed its side, after everything it wrote: not earlier,
// whatever the stream's events look like (a reply and a close arriving together, a close while
// data still waits in the stream's read buffer).
import { afterEach, describe, expect, it } from "vitest";
import { introduce, memoryNode, stopAll } from "./helpers.ts";

afterEach(stopAll);

describe("a stream ends after the remote's last byte", () => {
  it("a remote that answers and closes at once: we read its answer, then the end (20 times)", async () => {
    const a = await memoryNode();
    const b = await memoryNode();
    b.endpoint.accept("test/answer-and-close/v1", async (channel) => {
      await channel.send({ answer: 42 });
      await channel.close();
    });
    await introduce(a, b);
    for (let i = 0; i < 20; i++) {
      const channel = await a.endpoint.connect(b.endpoint.nodeId, "test/answer-and-close/v1", {
        receiveTimeoutMs: 2_000,
      });
      const answer = await channel.receive().catch((e: Error) => `round ${i}: ${e.message}`);
      expect(answer).toEqual({ answer: 42 });
      expect(await channel.receive()).toBeUndefined();
      await channel.close();
    }
  });
});

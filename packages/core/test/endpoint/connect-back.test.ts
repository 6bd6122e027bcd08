import { type ByteDuplex, memoryDuplexPair, NodeId } from "@p2panda-web/core";
import {
  answerConnectBack,
  asksToBeDialled,
  type ConnectBackOutcome,
  readConnectBackAnswer,
} from "@p2panda-web/core/endpoint";
import { describe, expect, it, vi } from "vitest";

const SMALL = NodeId.fromHex("00".repeat(32));
const LARGE = NodeId.fromHex("ff".repeat(32));

/** Everything the other side wrote until it closed or failed. */
async function drain(duplex: ByteDuplex): Promise<number[]> {
  const bytes: number[] = [];
  try {
    for await (const chunk of duplex.source) bytes.push(...chunk);
  } catch {
    // A reset ends the read; what came before it is the answer.
  }
  return bytes;
}

describe("connect-back: the node with the smaller id sets the WebRTC connection up", () => {
  it("only a node with the larger id asks", () => {
    expect(asksToBeDialled(LARGE, SMALL)).toBe(true);
    expect(asksToBeDialled(SMALL, LARGE)).toBe(false);
  });

  it("an asker gets each answer the asked node gives", async () => {
    for (const outcome of ["connected", "refused", "failed"] as const) {
      const [asker, asked] = memoryDuplexPair();
      const answering = answerConnectBack(asked, async () => outcome);
      const answer = await readConnectBackAnswer(asker, AbortSignal.timeout(5_000));
      await answering;
      expect(answer).toBe(outcome);
    }
  });

  it("the asked node dials only after the request byte, and not at all for anything else", async () => {
    for (const request of [[], [2], [1, 1], [0x7b, 0x22]]) {
      const [asker, asked] = memoryDuplexPair();
      const dial = vi.fn(async (): Promise<"connected"> => "connected");
      const answering = answerConnectBack(asked, dial, 1_000);
      if (request.length > 0) await asker.write(Uint8Array.from(request));
      await asker.closeWrite();
      await answering;
      expect(dial).not.toHaveBeenCalled();
      // No answer: the stream was reset (or ended) without one.
      expect(await drain(asker)).toEqual([]);
    }
  });

  it("an asker that stalls before its request is cut off at the deadline, nothing dialled", async () => {
    vi.useFakeTimers();
    try {
      const [asker, asked] = memoryDuplexPair();
      const dial = vi.fn(async (): Promise<"connected"> => "connected");
      const answering = answerConnectBack(asked, dial, 5_000);
      await vi.advanceTimersByTimeAsync(5_000);
      await answering;
      expect(dial).not.toHaveBeenCalled();
      await expect(asker.write(Uint8Array.of(1))).rejects.toThrow();
    } finally {
      vi.useRealTimers();
    }
  });

  it("a malformed, oversized or missing answer is no answer (and never a throw)", async () => {
    const answers: Array<number[] | "close" | "reset"> = [
      [7],
      [1, 1],
      [0xff, 0, 0, 0],
      "close",
      "reset",
    ];
    for (const reply of answers) {
      const [asker, asked] = memoryDuplexPair();
      const replying = (async () => {
        for await (const _ of asked.source) break;
        if (reply === "reset") asked.abort(new Error("reset by the remote"));
        else {
          if (reply !== "close") await asked.write(Uint8Array.from(reply));
          await asked.closeWrite();
        }
      })();
      const answer: ConnectBackOutcome = await readConnectBackAnswer(
        asker,
        AbortSignal.timeout(5_000),
      );
      await replying.catch(() => {});
      expect(answer).toBe("no-answer");
    }
  });

  it("an asked node that never answers is no answer once the asker's deadline passes", async () => {
    const [asker] = memoryDuplexPair();
    const deadline = new AbortController();
    const reading = readConnectBackAnswer(asker, deadline.signal);
    deadline.abort();
    expect(await reading).toBe("no-answer");
  });
});

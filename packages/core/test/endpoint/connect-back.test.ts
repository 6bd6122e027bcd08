import { type ByteDuplex, memoryDuplexPair, NodeId } from "@p2panda-web/core";
import {
  answerConnectBack,
  asksToBeDialled,
  CONNECT_BACK_PAUSE_AFTER,
  CONNECT_BACK_PAUSE_MS,
  type ConnectBackOutcome,
  ConnectBackPause,
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

describe("ConnectBackPause: asks that bring nothing on a busy machine stop for a while", () => {
  it("keeps asking while asks are served or tried, however many", () => {
    const pause = new ConnectBackPause();
    for (let i = 0; i < 10; i++) {
      expect(pause.asks(i)).toBe(true);
      pause.answered(i % 2 === 0 ? "connected" : "failed", i);
    }
    // One refusal between served asks starts nothing.
    pause.answered("refused", 10);
    pause.answered("connected", 11);
    pause.answered("no-answer", 12);
    expect(pause.asks(13)).toBe(true);
  });

  it(`pauses for ${CONNECT_BACK_PAUSE_MS} ms after ${CONNECT_BACK_PAUSE_AFTER} asks in a row refused or not answered`, () => {
    expect(CONNECT_BACK_PAUSE_AFTER).toBe(2);
    const pause = new ConnectBackPause();
    pause.answered("no-answer", 1_000);
    expect(pause.asks(1_001)).toBe(true);
    pause.answered("refused", 2_000);
    expect(pause.asks(2_001)).toBe(false);
    expect(pause.asks(2_000 + CONNECT_BACK_PAUSE_MS - 1)).toBe(false);
    expect(pause.asks(2_000 + CONNECT_BACK_PAUSE_MS)).toBe(true);
  });

  it("after a pause one ask in vain pauses again, and a served one ends the streak", () => {
    const pause = new ConnectBackPause();
    pause.answered("no-answer", 0);
    pause.answered("no-answer", 0);
    const after = CONNECT_BACK_PAUSE_MS;
    expect(pause.asks(after)).toBe(true);
    pause.answered("refused", after);
    expect(pause.asks(after + 1)).toBe(false);
    const later = 2 * CONNECT_BACK_PAUSE_MS;
    pause.answered("connected", later);
    pause.answered("no-answer", later);
    expect(pause.asks(later + 1)).toBe(true);
  });
});

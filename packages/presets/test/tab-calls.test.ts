// The follower's calls as a pure state machine: ids, deadlines, re-sending on a new leader.
import { describe, expect, it } from "vitest";
import { TabCalls, type TabCallsOutput } from "../src/tabs/tab-calls.ts";
import {
  TAB_LEADER_STEPPED_DOWN,
  TabCallFailedError,
  TabCallTimeoutError,
} from "../src/tabs/tab-errors.ts";

const sent = (outputs: TabCallsOutput[]) =>
  outputs.flatMap((o) => (o.type === "send" ? [`${o.message.id}→${o.message.to}`] : []));
const bytes = new Uint8Array([1]);

describe("TabCalls", () => {
  it("holds a call until a leader is known, then sends it with its deadline", () => {
    const calls = new TabCalls("me");
    expect(calls.call("c1", "append", bytes, 1_000, 500)).toEqual([]);
    const out = calls.leaderAnnounced("L1");
    expect(out).toEqual([
      {
        type: "send",
        message: expect.objectContaining({
          kind: "call",
          from: "me",
          to: "L1",
          id: "c1",
          method: "append",
          content: bytes,
          deadline: 1_500,
        }),
      },
    ]);
    expect(out[0]).not.toHaveProperty("message.retry");
    // Known leader: the next call goes out at once.
    expect(sent(calls.call("c2", "history", undefined, 1_000, 500))).toEqual(["c2→L1"]);
  });

  it("resolves a call with its leader's answer, once", () => {
    const calls = new TabCalls("me");
    calls.leaderAnnounced("L1");
    calls.call("c1", "publish", bytes, 0, 1_000);
    expect(calls.result("L1", "me", "c1", { ok: true, value: "id" })).toEqual([
      { type: "resolve", id: "c1", value: "id" },
    ]);
    expect(calls.result("L1", "me", "c1", { ok: true, value: "id" })).toEqual([]);
    expect(calls.size).toBe(0);
  });

  it("ignores answers meant for another tab or from a leader it was not sent to", () => {
    const calls = new TabCalls("me");
    calls.leaderAnnounced("L1");
    calls.call("c1", "publish", bytes, 0, 1_000);
    expect(calls.result("L1", "other", "c1", { ok: true, value: "id" })).toEqual([]);
    expect(calls.result("L0", "me", "c1", { ok: true, value: "id" })).toEqual([]);
    expect(calls.size).toBe(1);
  });

  it("turns a leader's failure into TabCallFailedError with the leader's code", () => {
    const calls = new TabCalls("me");
    calls.leaderAnnounced("L1");
    calls.call("c1", "publish", bytes, 0, 1_000);
    const [out] = calls.result("L1", "me", "c1", {
      ok: false,
      error: { code: "ROOM_MESSAGE_TOO_LARGE", message: "too large" },
    });
    expect(out?.type).toBe("reject");
    const error = (out as { error: Error }).error;
    expect(error).toBeInstanceOf(TabCallFailedError);
    expect(error).toMatchObject({ code: "TAB_CALL_FAILED", leaderCode: "ROOM_MESSAGE_TOO_LARGE" });
  });

  it("re-sends every unanswered call, under the same id, to a new leader", () => {
    const calls = new TabCalls("me");
    calls.leaderAnnounced("L1");
    calls.call("c1", "append", bytes, 0, 10_000);
    calls.call("c2", "append", bytes, 0, 10_000);
    calls.result("L1", "me", "c1", { ok: true, value: "x" });
    // L1 dies without answering c2; L2 takes over. The call says it is a retry: L1 may have
    // run it.
    const resent = calls.leaderAnnounced("L2");
    expect(sent(resent)).toEqual(["c2→L2"]);
    expect(resent[0]).toMatchObject({ message: { retry: true } });
    // The same leader announcing itself again (a `who` answer) sends nothing twice.
    expect(sent(calls.leaderAnnounced("L2"))).toEqual([]);
    // Now only L2's answer counts.
    expect(calls.result("L1", "me", "c2", { ok: true, value: "late" })).toEqual([]);
    expect(calls.result("L2", "me", "c2", { ok: true, value: "y" })).toHaveLength(1);
  });

  it("after a leader says it is leaving, new calls wait for the next leader", () => {
    const calls = new TabCalls("me");
    calls.leaderAnnounced("L1");
    calls.leaderLeaving("L1");
    expect(calls.leader).toBeUndefined();
    expect(calls.call("c1", "append", bytes, 0, 1_000)).toEqual([]);
    expect(sent(calls.leaderAnnounced("L2"))).toEqual(["c1→L2"]);
    // A leaving message of another tab changes nothing.
    calls.leaderLeaving("L1");
    expect(calls.leader).toBe("L2");
  });

  it("a leader that stepped down mid-call does not fail it: the next leader gets it as a retry", () => {
    const calls = new TabCalls("me");
    calls.leaderAnnounced("L1");
    calls.call("c1", "append", bytes, 0, 1_000);
    const steppedDown = { code: TAB_LEADER_STEPPED_DOWN, message: "frozen" };
    expect(calls.result("L1", "me", "c1", { ok: false, error: steppedDown })).toEqual([]);
    expect(calls.size).toBe(1);
    expect(calls.leader).toBeUndefined();
    const out = calls.leaderAnnounced("L2");
    expect(sent(out)).toEqual(["c1→L2"]);
    expect(out[0]).toHaveProperty("message.retry", true);
    // Answered by L2 this time: settled.
    expect(calls.result("L2", "me", "c1", { ok: true, value: "entry" })).toEqual([
      { type: "resolve", id: "c1", value: "entry" },
    ]);
  });

  it("a call made as a retry is sent with retry from the first time", () => {
    const calls = new TabCalls("me");
    calls.leaderAnnounced("L1");
    const out = calls.call("c1", "append", bytes, 0, 1_000, true);
    expect(out[0]).toHaveProperty("message.retry", true);
  });

  it("gives up on a call at its deadline with TabCallTimeoutError, not before", () => {
    const calls = new TabCalls("me");
    calls.call("c1", "append", bytes, 1_000, 500);
    calls.call("c2", "history", undefined, 1_000, 2_000);
    expect(calls.nextDeadline()).toBe(1_500);
    expect(calls.tick(1_499)).toEqual([]);
    const [out] = calls.tick(1_500);
    expect(out).toMatchObject({ type: "reject", id: "c1" });
    expect((out as { error: Error }).error).toBeInstanceOf(TabCallTimeoutError);
    expect((out as { error: Error }).error).toMatchObject({ code: "TAB_CALL_TIMEOUT" });
    expect(calls.nextDeadline()).toBe(3_000);
  });

  it("fails every waiting call on failAll", () => {
    const calls = new TabCalls("me");
    calls.call("c1", "append", bytes, 0, 1_000);
    calls.call("c2", "append", bytes, 0, 1_000);
    const error = new Error("left");
    expect(calls.failAll(error)).toEqual([
      { type: "reject", id: "c1", error },
      { type: "reject", id: "c2", error },
    ]);
    expect(calls.nextDeadline()).toBeUndefined();
  });
});

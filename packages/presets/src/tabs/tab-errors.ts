import { P2pandaError } from "@p2panda-web/core";

/**
 * A follower tab's call (publish, append, history) got no answer before its deadline: no tab
 * ran the shared node long enough to answer it (the leader closed and no tab took over in time,
 * or the leader is frozen).
 */
export class TabCallTimeoutError extends P2pandaError {
  static override readonly name: string = "TabCallTimeoutError";
  /** What was called. */
  readonly method: string;

  constructor(method: string, timeoutMs: number) {
    super(
      "TAB_CALL_TIMEOUT",
      `no tab running the shared node answered "${method}" within ${timeoutMs} ms`,
    );
    this.method = method;
  }
}

/**
 * The leader tab ran a follower's call and it failed there: `leaderCode` is the code of the
 * leader's error (`ROOM_PUBLISH_TIMEOUT`, `ROOM_MESSAGE_TOO_LARGE`, …, or `UNKNOWN`).
 */
export class TabCallFailedError extends P2pandaError {
  static override readonly name: string = "TabCallFailedError";
  readonly leaderCode: string;

  constructor(leaderCode: string, message: string) {
    super("TAB_CALL_FAILED", `the tab running the shared node failed: ${message}`);
    this.leaderCode = leaderCode;
  }
}

/** No tab announced itself as the leader (running the shared node) in time. */
export class TabLeaderTimeoutError extends P2pandaError {
  static override readonly name: string = "TabLeaderTimeoutError";
  constructor(timeoutMs: number) {
    super(
      "TAB_LEADER_TIMEOUT",
      `no tab running the shared node answered within ${timeoutMs} ms (is a tab of this app frozen, or does one hold its identity in "per-tab" mode?)`,
    );
  }
}

/** The code of {@link TabLeaderSteppedDownError}, which a follower re-sends on. */
export const TAB_LEADER_STEPPED_DOWN = "TAB_LEADER_STEPPED_DOWN";

/**
 * The leader tab stepped down (its page was frozen) while it ran a follower's call. Sent on the
 * channel as the call's answer; the follower does not fail the call with it but sends it again
 * to the next leader (which finds an append the old one stored), so the app never sees it.
 */
export class TabLeaderSteppedDownError extends P2pandaError {
  static override readonly name: string = "TabLeaderSteppedDownError";
  constructor() {
    super(
      TAB_LEADER_STEPPED_DOWN,
      "the tab running the shared node stepped down (its page was frozen) before it answered",
    );
  }
}

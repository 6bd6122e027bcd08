// The pure sync manager (spec §6.4, "who syncs with whom"), driven directly: inputs in, the
// decisions out, with time passed in. No streams, no timers.
import { describe, expect, it } from "vitest";
import type { NodeId } from "../../src/ids/node-id.ts";
import { Topic } from "../../src/ids/topic.ts";
import {
  type SessionKey,
  SyncManager,
  type SyncManagerConfig,
  type SyncManagerOutput,
} from "../../src/sync/sync-manager.ts";

const topic = Topic.fromName("sync-manager");
const other = Topic.fromName("sync-manager/other");
const ME = "55".repeat(32) as NodeId;
const LOWER = "11".repeat(32) as NodeId;
const HIGHER = "99".repeat(32) as NodeId;
const HIGHER2 = "aa".repeat(32) as NodeId;

function manager(config: Partial<SyncManagerConfig> = {}, liveMode = true): SyncManager {
  const m = new SyncManager({ me: ME, ...config });
  m.handle({ type: "topic-opened", topic, liveMode }, 0);
  return m;
}

function only<T extends SyncManagerOutput["type"]>(
  outputs: readonly SyncManagerOutput[],
  type: T,
): Extract<SyncManagerOutput, { type: T }>[] {
  return outputs.filter((o): o is Extract<SyncManagerOutput, { type: T }> => o.type === type);
}

/** The key of the session the manager started with `remote` on `neighbour-up`. */
function initiated(m: SyncManager, remote: NodeId, now = 0): SessionKey {
  const [start] = only(m.handle({ type: "neighbour-up", topic, node: remote }, now), "initiate");
  if (start === undefined) throw new Error("no session initiated");
  return start.key;
}

function accepted(m: SyncManager, remote: NodeId, now = 0): SessionKey {
  const [accept] = only(m.handle({ type: "session-offered", remote }, now), "accept");
  if (accept === undefined) throw new Error("not accepted");
  return accept.key;
}

describe("NeighbourUp → a session with that node; the smaller id initiates (one per pair)", () => {
  it("starts a session with a neighbour whose id is greater than ours", () => {
    const m = manager();
    expect(m.handle({ type: "neighbour-up", topic, node: HIGHER }, 0)).toEqual([
      { type: "initiate", key: 1, topic, remote: HIGHER, liveMode: true, retry: false },
    ]);
    expect(m.sessionOf(topic, HIGHER)).toBe(1);
  });

  it("leaves a neighbour with a smaller id to initiate", () => {
    const m = manager();
    expect(m.handle({ type: "neighbour-up", topic, node: LOWER }, 0)).toEqual([]);
    expect(m.neighbours(topic)).toEqual([LOWER]);
  });

  it("starts no second session while one with the node runs", () => {
    const m = manager();
    initiated(m, HIGHER);
    expect(m.handle({ type: "neighbour-up", topic, node: HIGHER }, 1)).toEqual([]);
  });

  it("ignores neighbours of topics it does not sync, and itself", () => {
    const m = manager();
    expect(m.handle({ type: "neighbour-up", topic: other, node: HIGHER }, 0)).toEqual([]);
    expect(m.handle({ type: "neighbour-up", topic, node: ME }, 0)).toEqual([]);
  });

  it("carries the topic's live mode into the session", () => {
    const m = manager({}, false);
    expect(only(m.handle({ type: "neighbour-up", topic, node: HIGHER }, 0), "initiate")).toEqual([
      expect.objectContaining({ liveMode: false }),
    ]);
  });
});

describe("NeighbourDown → its live session ends", () => {
  it("ends a live session with the node that left", () => {
    const m = manager();
    const key = initiated(m, HIGHER);
    expect(m.handle({ type: "neighbour-down", topic, node: HIGHER }, 1)).toEqual([
      { type: "end-session", key, reason: "neighbour-down" },
    ]);
  });

  it("lets a session without live mode finish its catch-up", () => {
    const m = manager({}, false);
    initiated(m, HIGHER);
    expect(m.handle({ type: "neighbour-down", topic, node: HIGHER }, 1)).toEqual([]);
  });

  it("cancels a pending retry with the node", () => {
    const m = manager();
    const key = initiated(m, HIGHER);
    m.handle({ type: "session-ended", key, outcome: "failed" }, 10);
    expect(m.handle({ type: "neighbour-down", topic, node: HIGHER }, 20)).toEqual([
      { type: "cancel-timer", topic, node: HIGHER },
    ]);
    expect(m.handle({ type: "timer-fired", topic, node: HIGHER }, 5_010)).toEqual([]);
  });
});

describe("failed sessions are retried after 5 s while the node is a neighbour", () => {
  it("schedules a retry after the default 5,000 ms, and initiates again when it fires", () => {
    const m = manager();
    const key = initiated(m, HIGHER);
    expect(m.handle({ type: "session-ended", key, outcome: "failed" }, 100)).toEqual([
      { type: "retry-scheduled", topic, remote: HIGHER, delayMs: 5_000 },
      { type: "set-timer", topic, node: HIGHER, delayMs: 5_000 },
    ]);
    expect(m.sessionOf(topic, HIGHER)).toBeUndefined();
    expect(m.handle({ type: "timer-fired", topic, node: HIGHER }, 5_100)).toEqual([
      { type: "initiate", key: 2, topic, remote: HIGHER, liveMode: true, retry: true },
    ]);
  });

  it("takes its delay from the config", () => {
    const m = manager({ retryDelayMs: 250 });
    const key = initiated(m, HIGHER);
    expect(
      only(m.handle({ type: "session-ended", key, outcome: "failed" }, 0), "set-timer"),
    ).toEqual([{ type: "set-timer", topic, node: HIGHER, delayMs: 250 }]);
  });

  it("does not retry a session that finished", () => {
    const m = manager();
    const key = initiated(m, HIGHER);
    expect(m.handle({ type: "session-ended", key, outcome: "finished" }, 1)).toEqual([]);
    expect(m.sessionCount).toBe(0);
  });

  it("does not retry a node that is no longer a neighbour", () => {
    const m = manager({}, false);
    const key = initiated(m, HIGHER);
    m.handle({ type: "neighbour-down", topic, node: HIGHER }, 1);
    expect(m.handle({ type: "session-ended", key, outcome: "failed" }, 2)).toEqual([]);
  });

  it("keeps one retry per node", () => {
    const m = manager();
    const first = initiated(m, HIGHER);
    m.handle({ type: "session-ended", key: first, outcome: "failed" }, 0);
    // The neighbour comes up again meanwhile: a session starts, fails, and finds a retry pending.
    const second = initiated(m, HIGHER, 10);
    expect(m.handle({ type: "session-ended", key: second, outcome: "failed" }, 20)).toEqual([]);
  });

  it("a retry that fires while a session with the node runs does nothing", () => {
    const m = manager();
    const first = initiated(m, HIGHER);
    m.handle({ type: "session-ended", key: first, outcome: "failed" }, 0);
    initiated(m, HIGHER, 10);
    expect(m.handle({ type: "timer-fired", topic, node: HIGHER }, 5_000)).toEqual([]);
  });

  it("the acceptor never retries: the initiator does", () => {
    const m = manager();
    const key = accepted(m, LOWER);
    m.handle({ type: "neighbour-up", topic, node: LOWER }, 0);
    m.handle({ type: "topic-named", key, topic }, 0);
    expect(m.handle({ type: "session-ended", key, outcome: "failed" }, 1)).toEqual([]);
  });
});

describe("a session failed through the remote's fault puts it on cool-down", () => {
  it("refuses the peer until the cool-down is over, and retries only then", () => {
    const m = manager({ coolDownMs: 60_000 });
    const key = initiated(m, HIGHER);
    expect(m.handle({ type: "session-ended", key, outcome: "remote-fault" }, 1_000)).toEqual([
      { type: "peer-refused", key, topic, remote: HIGHER, until: 61_000 },
      { type: "retry-scheduled", topic, remote: HIGHER, delayMs: 60_000 },
      { type: "set-timer", topic, node: HIGHER, delayMs: 60_000 },
    ]);
    expect(m.isCoolingDown(HIGHER, 60_999)).toBe(true);
    expect(
      only(m.handle({ type: "timer-fired", topic, node: HIGHER }, 61_000), "initiate"),
    ).toHaveLength(1);
  });

  it("a neighbour on cool-down gets a retry when it ends instead of a session now", () => {
    const m = manager({ coolDownMs: 1_000 });
    const key = initiated(m, HIGHER);
    m.handle({ type: "session-ended", key, outcome: "remote-fault" }, 0);
    m.handle({ type: "neighbour-down", topic, node: HIGHER }, 100);
    expect(m.handle({ type: "neighbour-up", topic, node: HIGHER }, 400)).toEqual([
      { type: "retry-scheduled", topic, remote: HIGHER, delayMs: 600 },
      { type: "set-timer", topic, node: HIGHER, delayMs: 600 },
    ]);
  });

  it("a retry that fires early (cool-down extended meanwhile) waits for what is left", () => {
    const m = manager({ coolDownMs: 1_000, retryDelayMs: 100 });
    const key = initiated(m, HIGHER);
    m.handle({ type: "session-ended", key, outcome: "failed" }, 0);
    const accept = accepted(m, HIGHER, 10);
    m.handle({ type: "session-ended", key: accept, outcome: "remote-fault" }, 50);
    expect(m.handle({ type: "timer-fired", topic, node: HIGHER }, 100)).toEqual([
      { type: "retry-scheduled", topic, remote: HIGHER, delayMs: 950 },
      { type: "set-timer", topic, node: HIGHER, delayMs: 950 },
    ]);
  });

  it("refuses streams the peer opens while it cools down, and accepts them after", () => {
    const m = manager({ coolDownMs: 1_000 });
    const key = accepted(m, LOWER);
    m.handle({ type: "session-ended", key, outcome: "remote-fault" }, 0);
    expect(m.handle({ type: "session-offered", remote: LOWER }, 999)).toEqual([
      { type: "refuse", remote: LOWER, reason: "the remote is on cool-down" },
    ]);
    expect(
      only(m.handle({ type: "session-offered", remote: LOWER }, 1_000), "accept"),
    ).toHaveLength(1);
  });

  it("a failure that is not the remote's fault costs it nothing", () => {
    const m = manager();
    const key = accepted(m, LOWER);
    expect(m.handle({ type: "session-ended", key, outcome: "failed" }, 0)).toEqual([]);
    expect(m.isCoolingDown(LOWER, 1)).toBe(false);
  });
});

describe("accepted sessions: a bounded number of slots", () => {
  it("binds an accepted session to a topic we sync, and to no other", () => {
    const m = manager();
    const key = accepted(m, LOWER);
    expect(m.handle({ type: "topic-named", key, topic: other }, 0)).toEqual([]);
    expect(m.handle({ type: "topic-named", key, topic }, 0)).toEqual([
      { type: "bind", key, topic, liveMode: true },
    ]);
    expect(m.sessionOf(topic, LOWER)).toBe(key);
  });

  it("a session names its topic once: a second naming binds nothing", () => {
    const m = manager();
    m.handle({ type: "topic-opened", topic: other, liveMode: true }, 0);
    const key = accepted(m, LOWER);
    m.handle({ type: "topic-named", key, topic }, 0);
    expect(m.handle({ type: "topic-named", key, topic: other }, 1)).toEqual([]);
    expect(m.sessionOf(topic, LOWER)).toBe(key);
    expect(m.sessionOf(other, LOWER)).toBeUndefined();
  });

  it("a new session of the same pair and topic replaces the older one", () => {
    const m = manager();
    const first = accepted(m, LOWER);
    m.handle({ type: "topic-named", key: first, topic }, 0);
    const second = accepted(m, LOWER);
    expect(m.handle({ type: "topic-named", key: second, topic }, 1)).toEqual([
      { type: "end-session", key: first, reason: "replaced" },
      { type: "bind", key: second, topic, liveMode: true },
    ]);
    // The replaced session's end does not unbind its successor.
    m.handle({ type: "session-ended", key: first, outcome: "failed" }, 2);
    expect(m.sessionOf(topic, LOWER)).toBe(second);
  });

  it("when every slot is taken, evicts the oldest session that named no topic yet", () => {
    const m = manager({ maxAcceptedSessions: 2 });
    const bound = accepted(m, LOWER);
    m.handle({ type: "topic-named", key: bound, topic }, 0);
    const silent = accepted(m, HIGHER);
    const outputs = m.handle({ type: "session-offered", remote: HIGHER2 }, 1);
    expect(outputs).toEqual([
      { type: "end-session", key: silent, reason: "evicted" },
      { type: "accept", key: expect.any(Number), remote: HIGHER2 },
    ]);
  });

  it("never evicts sessions past their handshake: beyond the cap it refuses", () => {
    const m = manager({ maxAcceptedSessions: 1 });
    const key = accepted(m, LOWER);
    m.handle({ type: "topic-named", key, topic }, 0);
    expect(m.handle({ type: "session-offered", remote: HIGHER }, 1)).toEqual([
      { type: "refuse", remote: HIGHER, reason: "1 sessions are running" },
    ]);
  });

  it("a slot is free again once its session ended", () => {
    const m = manager({ maxAcceptedSessions: 1 });
    const key = accepted(m, LOWER);
    m.handle({ type: "topic-named", key, topic }, 0);
    m.handle({ type: "session-ended", key, outcome: "finished" }, 1);
    expect(only(m.handle({ type: "session-offered", remote: HIGHER }, 2), "accept")).toHaveLength(
      1,
    );
  });
});

describe("live mode: a new operation goes to every other live session of the topic", () => {
  function threeSessions() {
    const m = manager();
    const a = initiated(m, HIGHER);
    const b = initiated(m, HIGHER2);
    const c = accepted(m, LOWER);
    m.handle({ type: "topic-named", key: c, topic }, 0);
    return { m, a, b, c };
  }

  it("an operation written here goes to every session", () => {
    const { m, a, b, c } = threeSessions();
    expect(m.handle({ type: "operation", topic }, 1)).toEqual([
      { type: "forward", topic, keys: [a, b, c] },
    ]);
  });

  it("an operation received from one peer goes to the others, not back", () => {
    const { m, a, c } = threeSessions();
    expect(m.handle({ type: "operation", topic, from: HIGHER2 }, 1)).toEqual([
      { type: "forward", topic, keys: [a, c] },
    ]);
  });

  it("nothing is forwarded without live mode, or to sessions of other topics", () => {
    const m = manager({}, false);
    initiated(m, HIGHER);
    expect(m.handle({ type: "operation", topic }, 1)).toEqual([]);
    expect(m.handle({ type: "operation", topic: other }, 1)).toEqual([]);
  });
});

describe("closing a topic ends all its sessions; stopping ends everything", () => {
  it("topic-closed ends the topic's sessions and cancels its retries", () => {
    const m = manager({}, false);
    const running = initiated(m, HIGHER);
    const failing = initiated(m, HIGHER2);
    m.handle({ type: "session-ended", key: failing, outcome: "failed" }, 0);
    expect(m.handle({ type: "topic-closed", topic }, 1)).toEqual([
      { type: "cancel-timer", topic, node: HIGHER2 },
      { type: "end-session", key: running, reason: "topic-closed" },
    ]);
    expect(m.isOpen(topic)).toBe(false);
    // A session that ends afterwards schedules nothing.
    expect(m.handle({ type: "session-ended", key: running, outcome: "failed" }, 2)).toEqual([]);
  });

  it("stop closes every topic, ends accepted sessions, and refuses new ones", () => {
    const m = manager();
    const out = initiated(m, HIGHER);
    const unbound = accepted(m, LOWER);
    expect(m.handle({ type: "stop" }, 1)).toEqual([
      { type: "end-session", key: out, reason: "topic-closed" },
      { type: "end-session", key: unbound, reason: "stopped" },
    ]);
    expect(m.handle({ type: "session-offered", remote: LOWER }, 2)).toEqual([
      { type: "refuse", remote: LOWER, reason: "the service is stopping" },
    ]);
    expect(m.handle({ type: "topic-opened", topic, liveMode: true }, 3)).toEqual([]);
    expect(m.isOpen(topic)).toBe(false);
  });
});

import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.ts";
import {
  type AcceptDecision,
  type DiscoveryAddressBookView,
  DiscoveryCoolingDownError,
  DiscoveryManager,
  type DiscoveryOutput,
  DiscoveryProtocolError,
  DiscoverySessionLimitError,
  type DiscoveryTimer,
  ingestDiscoveryResult,
  isNewlyLearned,
  LATE_TIMER_TOLERANCE_MS,
} from "../../src/discovery/index.ts";
import { P2pandaError } from "../../src/errors.ts";
import type { NodeId } from "../../src/ids/node-id.ts";
import type { Topic } from "../../src/ids/topic.ts";
import { seededRng } from "../../src/random.ts";
import { nodeId, topic } from "./helpers.ts";

const me = nodeId(1);
const boot = nodeId(2);

function setup(config: ConstructorParameters<typeof DiscoveryManager>[0]["config"] = {}) {
  const clock = new ManualClock();
  const manager = new DiscoveryManager({ myNodeId: me, rng: seededRng(1), clock, config });
  const stale = new Set<NodeId>();
  const book: DiscoveryAddressBookView = {
    allNodeIds: [me, boot, nodeId(3)],
    bootstrapIds: [boot],
    isStale: (id) => stale.has(id),
  };
  return { clock, manager, book, stale };
}

const timers = (outs: DiscoveryOutput[]) =>
  outs.flatMap((o) => (o.type === "set-timer" ? [o] : [])) as {
    timer: DiscoveryTimer;
    delayMs: number;
  }[];
const events = (outs: DiscoveryOutput[]) =>
  outs.flatMap((o) => (o.type === "event" ? [o.event] : []));
const initiated = (outs: DiscoveryOutput[]) =>
  outs.flatMap((o) => (o.type === "initiate-session" ? [o] : []));
const result = (remote: NodeId, n = 1) => ({
  remoteNodeId: remote,
  transportInfos: new Map<NodeId, unknown>(
    Array.from({ length: n }, (_, i) => [nodeId(20 + i), {}]),
  ),
  topics: new Set<Topic>([topic(1)]),
});

/** Starts the manager and lets walker 0 begin a session; returns its id. */
function firstSession(s: ReturnType<typeof setup>) {
  const starts = timers(s.manager.start());
  const out = s.manager.timerFired((starts[0] as { timer: DiscoveryTimer }).timer, s.book);
  const session = initiated(out)[0];
  if (session === undefined) throw new Error("no session started");
  return { session, out };
}

describe("discovery manager: walkers drive outgoing sessions", () => {
  it("starts 2 walkers; a walker's timer starts a session with a bootstrap node", () => {
    const s = setup();
    const starts = timers(s.manager.start());
    expect(starts).toHaveLength(2);
    expect(s.manager.start()).toEqual([]);
    const { session, out } = firstSession(setup());
    expect(session.remote).toBe(boot);
    expect(timers(out)[0]).toMatchObject({ timer: { kind: "session" }, delayMs: 10_000 });
    expect(events(out)[0]).toMatchObject({
      type: "discovery:session-started",
      role: "initiated",
      remoteNodeId: boot,
    });
  });

  it("a successful session is counted, emitted and feeds the walker", () => {
    const s = setup();
    const { session } = firstSession(s);
    s.clock.advance(120);
    const out = s.manager.sessionEnded(session.sessionId, result(boot, 3), 3);
    expect(events(out)[0]).toMatchObject({
      type: "discovery:session-ended",
      durationMs: 120,
      newlyLearned: 3,
    });
    expect(timers(out)[0]).toMatchObject({ timer: { kind: "walker", walker: 0 }, delayMs: 0 });
    expect(s.manager.metrics).toMatchObject({
      successfulSessions: 1,
      newlyLearnedTransportInfos: 3,
      failedSessions: 0,
    });
    expect(s.manager.runningSessions).toBe(0);
  });

  it("a failed connection is counted, not blamed on the remote, and the walker backs off", () => {
    const s = setup();
    const { session } = firstSession(s);
    const out = s.manager.sessionFailed(
      session.sessionId,
      new DiscoveryProtocolError("channel-error", "dial failed"),
    );
    expect(events(out)[0]).toMatchObject({
      type: "discovery:session-failed",
      reason: "channel-error",
      misbehaving: false,
    });
    // The first unproductive step waits 0–500 ms (eager start, 250 ms on average), not
    // upstream's 1–5 s.
    const wait = (timers(out)[0] as { delayMs: number }).delayMs;
    expect(wait).toBeGreaterThanOrEqual(0);
    expect(wait).toBeLessThan(500);
    expect(s.manager.metrics).toMatchObject({ failedSessions: 1, misbehavingSessions: 0 });
    expect(s.manager.isCoolingDown(boot)).toBe(false);
  });

  it("a node that could not be reached at all (the dial failed) costs the walk no backoff", () => {
    const s = setup();
    const { session } = firstSession(s);
    const dialFailed = new P2pandaError(
      "DIAL_FAILED",
      "failed to connect via relay: NO_RESERVATION",
    );
    const out = s.manager.sessionFailed(
      session.sessionId,
      new DiscoveryProtocolError("channel-error", "DIAL_FAILED: …", { cause: dialFailed }),
    );
    expect(events(out)[0]).toMatchObject({ type: "discovery:session-failed", misbehaving: false });
    expect((timers(out)[0] as { delayMs: number }).delayMs).toBe(0);
    // A node known without any address is the same: nothing was attempted.
    const second = initiated(
      s.manager.timerFired((timers(out)[0] as { timer: DiscoveryTimer }).timer, s.book),
    )[0];
    expect(second).toBeDefined();
    const noInfo = new P2pandaError("NO_TRANSPORT_INFO", "no transport info");
    const again = s.manager.sessionFailed((second as { sessionId: number }).sessionId, noInfo);
    expect((timers(again)[0] as { delayMs: number }).delayMs).toBe(0);
  });
});

describe("discovery manager: session timeout (default 10 s)", () => {
  it("aborts a session still running at the timeout, as a typed failure with an event", () => {
    const s = setup();
    const { session, out } = firstSession(s);
    const timer = timers(out)[0] as { timer: DiscoveryTimer };
    s.clock.advance(3_000);
    // The dial took 3 s: the handshake still gets the whole 10 s from here.
    expect(timers(s.manager.sessionOpened(session.sessionId))).toEqual([
      {
        type: "set-timer",
        timer: { kind: "session", sessionId: session.sessionId },
        delayMs: 10_000,
      },
    ]);
    expect(s.manager.sessionOpened(session.sessionId)).toEqual([]);
    s.clock.advance(10_000);
    const fired = s.manager.timerFired(timer.timer, s.book);
    const abort = fired.find((o) => o.type === "abort-session");
    expect(abort).toMatchObject({ sessionId: session.sessionId });
    expect((abort as { error: DiscoveryProtocolError }).error.reason).toBe("timeout");
    expect(events(fired)[0]).toMatchObject({
      type: "discovery:session-failed",
      reason: "timeout",
      misbehaving: true,
    });
    // A late report of the aborted session changes nothing.
    expect(s.manager.sessionEnded(session.sessionId, result(boot), 1)).toEqual([]);
    expect(s.manager.metrics).toMatchObject({ successfulSessions: 0, failedSessions: 1 });
  });

  it("a session still dialling at the timeout is a failed dial: not blamed, no cool-down, no backoff", () => {
    const s = setup();
    const { session, out } = firstSession(s);
    s.clock.advance(10_000);
    const fired = s.manager.timerFired((timers(out)[0] as { timer: DiscoveryTimer }).timer, s.book);
    const abort = aborts(fired)[0];
    expect(abort?.sessionId).toBe(session.sessionId);
    expect(abort?.error.reason).toBe("channel-error");
    expect(abort?.error.message).toContain("did not finish within 10000 ms");
    expect(events(fired)[0]).toMatchObject({
      type: "discovery:session-failed",
      reason: "channel-error",
      misbehaving: false,
    });
    expect(s.manager.isCoolingDown(boot)).toBe(false);
    expect(s.manager.acceptSession(boot).accepted).toBe(true);
    // As an unreachable node: the walk moves on at once.
    expect(timers(fired)[0]).toMatchObject({ timer: { kind: "walker", walker: 0 }, delayMs: 0 });
  });

  it("ignores the timer of a session that already ended", () => {
    const s = setup();
    const { session, out } = firstSession(s);
    s.manager.sessionEnded(session.sessionId, result(boot), 1);
    expect(
      s.manager.timerFired((timers(out)[0] as { timer: DiscoveryTimer }).timer, s.book),
    ).toEqual([]);
  });
});

describe("discovery manager: cap on concurrently accepted sessions (default 16)", () => {
  it("refuses the 17th with DiscoverySessionLimitError and an event, accepts again once one ends", () => {
    const s = setup({ reservedForKnownPeers: 0 });
    const ids: number[] = [];
    for (let i = 0; i < 16; i++) {
      const d = s.manager.acceptSession(nodeId(100 + i));
      expect(d.accepted).toBe(true);
      if (d.accepted) ids.push(d.sessionId);
    }
    const refused = s.manager.acceptSession(nodeId(99));
    expect(refused.accepted).toBe(false);
    if (!refused.accepted) {
      expect(refused.error).toBeInstanceOf(DiscoverySessionLimitError);
      expect(refused.error.code).toBe("DISCOVERY_SESSION_LIMIT");
      expect(events(refused.outputs)[0]).toMatchObject({ type: "discovery:session-refused" });
    }
    expect(s.manager.metrics.refusedSessions).toBe(1);
    // Accepted sessions do not feed a walker.
    expect(timers(s.manager.sessionEnded(ids[0] as number, result(nodeId(100)), 0))).toEqual([]);
    expect(s.manager.acceptSession(nodeId(99)).accepted).toBe(true);
  });

  it("outgoing sessions do not count against the cap", () => {
    const s = setup({ maxAcceptedSessions: 1 });
    firstSession(s);
    expect(s.manager.acceptSession(nodeId(50)).accepted).toBe(true);
    expect(s.manager.acceptSession(nodeId(51)).accepted).toBe(false);
  });
});

/** Accepts a session from `remote` or fails the test. */
function accept(s: ReturnType<typeof setup>, remote: NodeId) {
  const d: AcceptDecision = s.manager.acceptSession(remote);
  if (!d.accepted) throw new Error(`refused ${remote.slice(0, 4)}: ${d.error.message}`);
  return d;
}
const aborts = (outs: DiscoveryOutput[]) =>
  outs.flatMap((o) => (o.type === "abort-session" ? [o] : []));

describe("discovery manager: an accepted session's remote must send its first message in time (default 2 s)", () => {
  it("a remote silent past the deadline fails with timeout, is blamed and cooled down", () => {
    const s = setup();
    const d = accept(s, nodeId(60));
    const deadline = timers(d.outputs).find((t) => t.timer.kind === "first-message");
    expect(deadline).toMatchObject({ delayMs: 2_000 });
    s.clock.advance(2_000);
    const fired = s.manager.timerFired(deadline?.timer as DiscoveryTimer, s.book);
    expect(aborts(fired)[0]?.error.reason).toBe("timeout");
    expect(events(fired)[0]).toMatchObject({
      type: "discovery:session-failed",
      role: "accepted",
      reason: "timeout",
      misbehaving: true,
    });
    expect(s.manager.isCoolingDown(nodeId(60))).toBe(true);
    expect(s.manager.metrics.failuresByReason).toEqual({ timeout: 1 });
  });

  it("a remote that sent its first message is not timed out by that deadline", () => {
    const s = setup();
    const d = accept(s, nodeId(60));
    s.manager.messageReceived(d.sessionId);
    s.clock.advance(2_000);
    const timer = { kind: "first-message", sessionId: d.sessionId } as const;
    expect(s.manager.timerFired(timer, s.book)).toEqual([]);
    expect(s.manager.runningSessions).toBe(1);
  });
});

describe("discovery manager: a timeout that fires late was our process held up, not the remote: it is given that time again", () => {
  it("a first-message deadline that fires 1.5 s late is armed again for 1.5 s; the message that came meanwhile keeps the session", () => {
    const s = setup();
    const d = accept(s, nodeId(60));
    const deadline = timers(d.outputs).find((t) => t.timer.kind === "first-message");
    // The event loop did not run from 0.5 s to 3.5 s: the timer fires then, before the socket
    // that holds the remote's first message is read.
    s.clock.advance(3_500);
    const fired = s.manager.timerFired(deadline?.timer as DiscoveryTimer, s.book);
    expect(fired).toEqual([
      {
        type: "set-timer",
        timer: { kind: "first-message", sessionId: d.sessionId },
        delayMs: 1_500,
      },
    ]);
    expect(s.manager.isCoolingDown(nodeId(60))).toBe(false);
    expect(s.manager.metrics).toMatchObject({ failedSessions: 0, deferredTimeouts: 1 });
    s.manager.messageReceived(d.sessionId);
    s.clock.advance(1_500);
    expect(s.manager.timerFired(deadline?.timer as DiscoveryTimer, s.book)).toEqual([]);
    expect(s.manager.runningSessions).toBe(1);
  });

  it("a remote still silent when the timer fires on time again is blamed as before", () => {
    const s = setup();
    const d = accept(s, nodeId(60));
    const timer = { kind: "first-message", sessionId: d.sessionId } as const;
    s.clock.advance(2_800);
    expect(timers(s.manager.timerFired(timer, s.book))).toEqual([
      { type: "set-timer", timer, delayMs: 800 },
    ]);
    s.clock.advance(800 + LATE_TIMER_TOLERANCE_MS);
    const fired = s.manager.timerFired(timer, s.book);
    expect(aborts(fired)[0]?.error.reason).toBe("timeout");
    expect(s.manager.isCoolingDown(nodeId(60))).toBe(true);
  });

  it("the grace adds up to one more timeout at most, so a process starved for ever still ends its sessions", () => {
    const s = setup();
    const { session } = firstSession(s);
    s.manager.sessionOpened(session.sessionId);
    const timer = { kind: "session", sessionId: session.sessionId } as const;
    s.clock.advance(10_000 + 6_000);
    expect(timers(s.manager.timerFired(timer, s.book))).toEqual([
      { type: "set-timer", timer, delayMs: 6_000 },
    ]);
    s.clock.advance(6_000 + 7_000);
    // 4 s of grace are left of the 10 s, not the 7 s it was late.
    expect(timers(s.manager.timerFired(timer, s.book))).toEqual([
      { type: "set-timer", timer, delayMs: 4_000 },
    ]);
    s.clock.advance(4_000 + 9_000);
    const fired = s.manager.timerFired(timer, s.book);
    expect(aborts(fired)[0]?.error.reason).toBe("timeout");
    expect(s.manager.metrics).toMatchObject({ failedSessions: 1, deferredTimeouts: 2 });
  });

  it("a dial whose session timer fired late is given the time too, and then the handshake its own", () => {
    const s = setup();
    const { session } = firstSession(s);
    const timer = { kind: "session", sessionId: session.sessionId } as const;
    s.clock.advance(12_000);
    expect(timers(s.manager.timerFired(timer, s.book))).toEqual([
      { type: "set-timer", timer, delayMs: 2_000 },
    ]);
    s.clock.advance(100);
    expect(timers(s.manager.sessionOpened(session.sessionId))).toEqual([
      { type: "set-timer", timer, delayMs: 10_000 },
    ]);
    s.clock.advance(10_000);
    expect(aborts(s.manager.timerFired(timer, s.book))[0]?.error.reason).toBe("timeout");
  });

  it("a timer within the tolerance of its due time acts at once", () => {
    const s = setup();
    const d = accept(s, nodeId(60));
    s.clock.advance(2_000 + LATE_TIMER_TOLERANCE_MS);
    const timer = { kind: "first-message", sessionId: d.sessionId } as const;
    expect(aborts(s.manager.timerFired(timer, s.book))[0]?.error.reason).toBe("timeout");
    expect(s.manager.metrics.deferredTimeouts).toBe(0);
  });
});

describe("discovery manager: when every accepted slot is taken, a newcomer evicts the session waiting longest on its remote (≥ 1 s)", () => {
  // Strangers only here, so none of the slots is reserved for known peers.
  const setupStrangers = () => setup({ reservedForKnownPeers: 0 });
  function full(s: ReturnType<typeof setup>) {
    return Array.from({ length: 16 }, (_, i) => accept(s, nodeId(100 + i)).sessionId);
  }

  it("refuses while no session has waited 1 s, then evicts the longest-waiting one and blames it", () => {
    const s = setupStrangers();
    const ids = full(s);
    s.clock.advance(999);
    expect(s.manager.acceptSession(nodeId(99)).accepted).toBe(false);
    // All but the fifth heard from their remote just now.
    for (const [i, id] of ids.entries()) if (i !== 4) s.manager.messageReceived(id);
    s.clock.advance(1);
    const d = accept(s, nodeId(99));
    expect(aborts(d.outputs)).toEqual([
      expect.objectContaining({
        sessionId: ids[4],
        error: expect.objectContaining({ reason: "evicted" }),
      }),
    ]);
    expect(events(d.outputs)[0]).toMatchObject({
      type: "discovery:session-failed",
      remoteNodeId: nodeId(104),
      reason: "evicted",
      misbehaving: true,
    });
    expect(s.manager.isCoolingDown(nodeId(104))).toBe(true);
    // Everyone else heard from their remote 1 ms ago: the next newcomer is refused.
    expect(s.manager.acceptSession(nodeId(98)).accepted).toBe(false);
    expect(s.manager.metrics).toMatchObject({
      refusedSessions: 2,
      failuresByReason: { evicted: 1 },
    });
  });

  it("a session whose handshake is done (its result being stored) is never evicted", () => {
    const s = setup({ maxAcceptedSessions: 1 });
    const d = accept(s, nodeId(60));
    s.manager.handshakeFinished(d.sessionId);
    s.clock.advance(5_000);
    expect(s.manager.acceptSession(nodeId(61)).accepted).toBe(false);
  });

  it("evictIdleAfterMs 0 turns eviction off", () => {
    const s = setup({ maxAcceptedSessions: 1, evictIdleAfterMs: 0 });
    accept(s, nodeId(60));
    s.clock.advance(9_000);
    expect(s.manager.acceptSession(nodeId(61)).accepted).toBe(false);
  });
});

describe("discovery manager: 4 of the 16 accepted slots are kept for peers that finished a session with us before", () => {
  /** Makes `remote` a known peer: one accepted session with it that ended well. */
  function befriend(s: ReturnType<typeof setup>, remote: NodeId) {
    const d = accept(s, remote);
    s.manager.sessionEnded(d.sessionId, result(remote), 0);
  }

  it("strangers get 12 slots, known peers the other 4, and a stranger evicts only strangers", () => {
    const s = setup();
    const friends = [nodeId(70), nodeId(71), nodeId(72), nodeId(73), nodeId(74)];
    for (const friend of friends) befriend(s, friend);
    const strangers = Array.from({ length: 12 }, (_, i) => accept(s, nodeId(100 + i)).sessionId);
    const refused = s.manager.acceptSession(nodeId(99));
    expect(refused.accepted).toBe(false);
    if (!refused.accepted) expect((refused.error as DiscoverySessionLimitError).limit).toBe(12);
    for (const friend of friends.slice(0, 4)) accept(s, friend);
    expect(s.manager.runningSessions).toBe(16);
    // Everyone has waited long enough; the known peers' sessions even longer than the strangers'.
    s.clock.advance(500);
    for (const id of strangers) s.manager.messageReceived(id);
    s.clock.advance(1_000);
    const d = accept(s, nodeId(98));
    expect(aborts(d.outputs)[0]?.sessionId).toBe(strangers[0]);
    // A known peer may evict anyone: the session that waited longest is a known peer's.
    const friend = accept(s, friends[4] as NodeId);
    expect(events(friend.outputs)[0]).toMatchObject({
      reason: "evicted",
      remoteNodeId: friends[0],
    });
  });
});

describe("discovery manager: a remote runs at most 2 accepted sessions at a time (one per walker)", () => {
  it("its third session supersedes its oldest, without blaming it", () => {
    const s = setup();
    const first = accept(s, nodeId(60));
    const second = accept(s, nodeId(60));
    expect(aborts(second.outputs)).toEqual([]);
    const third = accept(s, nodeId(60));
    expect(aborts(third.outputs)).toEqual([
      expect.objectContaining({
        sessionId: first.sessionId,
        error: expect.objectContaining({ reason: "superseded" }),
      }),
    ]);
    expect(events(third.outputs)[0]).toMatchObject({ reason: "superseded", misbehaving: false });
    expect(s.manager.runningSessions).toBe(2);
    expect(s.manager.isCoolingDown(nodeId(60))).toBe(false);
    // Other remotes are not affected.
    expect(aborts(accept(s, nodeId(61)).outputs)).toEqual([]);
    expect(s.manager.runningSessions).toBe(3);
  });
});

describe("discovery manager: a remote on cool-down is refused when it opens a session", () => {
  it("refuses with DiscoveryCoolingDownError and why cooling-down until the cool-down ends", () => {
    const s = setup({ misbehaviourCooldownMs: 60_000 });
    const d = accept(s, nodeId(60));
    s.manager.sessionFailed(d.sessionId, new DiscoveryProtocolError("malformed-frame", "x"));
    const refused = s.manager.acceptSession(nodeId(60));
    expect(refused.accepted).toBe(false);
    if (!refused.accepted) {
      expect(refused.error).toBeInstanceOf(DiscoveryCoolingDownError);
      expect(refused.error.code).toBe("DISCOVERY_COOLING_DOWN");
      expect(events(refused.outputs)[0]).toMatchObject({
        type: "discovery:session-refused",
        why: "cooling-down",
      });
    }
    s.clock.advance(60_000);
    expect(s.manager.acceptSession(nodeId(60)).accepted).toBe(true);
  });
});

describe("discovery manager: skips stale and misbehaving nodes", () => {
  it("skips a node that became stale and repeats the step with backoff", () => {
    const s = setup();
    s.stale.add(boot);
    const starts = timers(s.manager.start());
    const out = s.manager.timerFired((starts[0] as { timer: DiscoveryTimer }).timer, s.book);
    expect(initiated(out)).toEqual([]);
    expect(events(out)[0]).toMatchObject({
      type: "discovery:node-skipped",
      remoteNodeId: boot,
      why: "stale",
    });
    expect((timers(out)[0] as { delayMs: number }).delayMs).toBeGreaterThan(0);
    expect(s.manager.metrics.skippedNodes).toBe(1);
  });

  it("a protocol violation counts as misbehaviour and cools the node down for a while", () => {
    const s = setup({ misbehaviourCooldownMs: 60_000 });
    const { session } = firstSession(s);
    const out = s.manager.sessionFailed(
      session.sessionId,
      new DiscoveryProtocolError("unexpected-message", "x"),
    );
    expect(events(out)[0]).toMatchObject({ misbehaving: true, reason: "unexpected-message" });
    expect(s.manager.metrics.misbehavingSessions).toBe(1);
    expect(s.manager.isCoolingDown(boot)).toBe(true);
    // Walker 1 now draws the bootstrap node and must skip it.
    const skipped = s.manager.timerFired({ kind: "walker", walker: 1, token: 1 }, s.book);
    expect(events(skipped)[0]).toMatchObject({
      type: "discovery:node-skipped",
      why: "cooling-down",
    });
    s.clock.advance(60_000);
    expect(s.manager.isCoolingDown(boot)).toBe(false);
  });
});

describe("discovery manager: a slow remote is cooled down briefly, a hostile one for long", () => {
  it.each([
    ["timeout", 30_000],
    ["evicted", 30_000],
    ["malformed-frame", 300_000],
  ] as const)("a session that failed with %s cools its remote down for %i ms", (reason, ms) => {
    const s = setup();
    const d = accept(s, nodeId(60));
    s.manager.sessionFailed(d.sessionId, new DiscoveryProtocolError(reason, "x"));
    expect(s.manager.metrics.misbehavingSessions).toBe(1);
    s.clock.advance(ms - 1);
    expect(s.manager.isCoolingDown(nodeId(60))).toBe(true);
    s.clock.advance(1);
    expect(s.manager.isCoolingDown(nodeId(60))).toBe(false);
  });
});

describe("discovery manager: reset signal", () => {
  it("our topic set gaining a topic restarts waiting walkers at once; removal does not", () => {
    const s = setup();
    s.manager.start();
    expect(s.manager.ownTopicsChanged(new Set([topic(1), topic(2)]), new Set([topic(1)]))).toEqual(
      [],
    );
    const out = s.manager.ownTopicsChanged(new Set([topic(1)]), new Set([topic(1), topic(2)]));
    expect(timers(out)).toHaveLength(2);
    for (const t of timers(out)) expect(t.delayMs).toBe(0);
    expect(timers(s.manager.ownTransportInfoChanged({ addresses: ["/memory/1"] }))).toHaveLength(2);
    expect(s.manager.ownTransportInfoChanged(undefined)).toEqual([]);
  });
});

describe("ingestDiscoveryResult: nothing unverified is stored", () => {
  type Info = { signedBy?: NodeId; ts?: number; forged?: boolean };
  const good = (id: NodeId, ts = 1): Info => ({ signedBy: id, ts });
  /** An address book in miniature: last write wins, and `insert` says whether the info is
   * stored afterwards (also when it was already), as `AddressBook.insertTransportInfo` does. */
  const store = () => {
    const infos = new Map<NodeId, Info>();
    const topics = new Map<NodeId, ReadonlySet<Topic>>();
    const tsOf = (info: unknown) => (info as Info).ts ?? 0;
    return {
      infos,
      topics,
      verify: (id: NodeId, info: unknown) => (info as Info).signedBy === id,
      holds: (id: NodeId, info: unknown) => infos.get(id)?.ts === tsOf(info),
      insert: (id: NodeId, info: unknown) => {
        const current = infos.get(id);
        if (current !== undefined && (current.ts ?? 0) > tsOf(info)) return false;
        infos.set(id, info as Info);
        return true;
      },
      setTopics: (id: NodeId, t: ReadonlySet<Topic>) => void topics.set(id, t),
      topicsOf: (id: NodeId): ReadonlySet<Topic> => topics.get(id) ?? new Set(),
    };
  };
  const me = nodeId(1);

  it("stores verified infos and the remote's shared topics, counting the new ones", () => {
    const s = store();
    s.infos.set(nodeId(5), good(nodeId(5)));
    const r = {
      remoteNodeId: boot,
      transportInfos: new Map([
        [nodeId(5), good(nodeId(5))],
        [nodeId(6), good(nodeId(6))],
      ]),
      topics: new Set([topic(1)]),
    };
    expect(ingestDiscoveryResult(r, me, s)).toEqual({
      ok: true,
      newlyLearned: 1,
      newSharedTopics: 1,
    });
    expect(s.topics.get(boot)).toEqual(new Set([topic(1)]));
    // The same shared topic again is not new; a second one is.
    expect(ingestDiscoveryResult(r, me, s)).toMatchObject({ newSharedTopics: 0 });
    const more = { ...r, topics: new Set([topic(1), topic(2)]) };
    expect(ingestDiscoveryResult(more, me, s)).toMatchObject({ newSharedTopics: 1 });
  });

  it("a forged or mismatched info fails the whole result: nothing stored, typed error", () => {
    for (const bad of [{ signedBy: nodeId(9) }, { forged: true }] as Info[]) {
      const s = store();
      const r = {
        remoteNodeId: boot,
        transportInfos: new Map<NodeId, unknown>([
          [nodeId(5), good(nodeId(5))],
          [nodeId(6), bad],
        ]),
        topics: new Set([topic(1)]),
      };
      const outcome = ingestDiscoveryResult(r, me, s);
      expect(outcome.ok).toBe(false);
      if (!outcome.ok) expect(outcome.error.reason).toBe("invalid-transport-info");
      expect(s.infos.size).toBe(0);
      expect(s.topics.size).toBe(0);
    }
  });

  it("newly learned = stored after the session and not before: a new node or a newer info; not the same again, an older one, or our own", async () => {
    const result = {
      remoteNodeId: boot,
      transportInfos: new Map<NodeId, unknown>([
        [nodeId(5), good(nodeId(5))], // a node we had no info of: new
        [nodeId(6), good(nodeId(6), 3)], // newer than ours of it: new
        [nodeId(7), good(nodeId(7), 2)], // the info we hold: not new
        [nodeId(8), good(nodeId(8), 1)], // older than ours (last write wins): not new
        [me, good(me, 9)], // our own, even if newer: not taken from a remote
      ]),
      topics: new Set([topic(1)]),
    };
    const held = (s: ReturnType<typeof store>) => {
      s.infos.set(nodeId(6), good(nodeId(6), 2));
      s.infos.set(nodeId(7), good(nodeId(7), 2));
      s.infos.set(nodeId(8), good(nodeId(8), 2));
      return s;
    };
    const sync = held(store());
    expect(ingestDiscoveryResult(result, me, sync)).toMatchObject({ ok: true, newlyLearned: 2 });
    expect(sync.infos.has(me)).toBe(false);
    expect(sync.infos.get(nodeId(8))?.ts).toBe(2);
    // The service's asynchronous address book counts exactly the same.
    const s = held(store());
    const async = {
      ...s,
      verify: async (id: NodeId, info: unknown) => s.verify(id, info),
      insert: async (id: NodeId, info: unknown) => s.insert(id, info),
      setTopics: async (id: NodeId, t: ReadonlySet<Topic>) => s.setTopics(id, t),
    };
    const pending = ingestDiscoveryResult(result, me, async);
    expect(pending).toBeInstanceOf(Promise);
    await expect(pending).resolves.toMatchObject({ ok: true, newlyLearned: 2 });
    expect(s.topics.get(boot)).toEqual(new Set([topic(1)]));
  });

  it("isNewlyLearned is the one definition", () => {
    expect(isNewlyLearned({ ours: false, heldBefore: false, storedNow: true })).toBe(true);
    expect(isNewlyLearned({ ours: false, heldBefore: true, storedNow: true })).toBe(false);
    expect(isNewlyLearned({ ours: false, heldBefore: false, storedNow: false })).toBe(false);
    expect(isNewlyLearned({ ours: true, heldBefore: false, storedNow: true })).toBe(false);
  });

  it("an asynchronous verify that rejects distrusts the whole result", async () => {
    const s = store();
    const outcome = await ingestDiscoveryResult(
      {
        remoteNodeId: boot,
        transportInfos: new Map([[nodeId(5), good(nodeId(5))]]),
        topics: new Set(),
      },
      me,
      { ...s, verify: async () => Promise.reject(new Error("bad signature")) },
    );
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.error.message).toContain("bad signature");
    expect(s.infos.size).toBe(0);
  });
});

describe("discovery manager: at a start only walker 0 steps to a bootstrap node (sharedFirstStep)", () => {
  const others = [nodeId(20), nodeId(21), nodeId(22)];
  const fire = (s: ReturnType<typeof setup>, t: { timer: DiscoveryTimer }) =>
    s.manager.timerFired(t.timer, s.book);

  it("walker 1 waits for walker 0's first session, then steps to a node of its result", () => {
    const s = setup();
    const starts = timers(s.manager.start());
    const lead = initiated(fire(s, starts[0] as { timer: DiscoveryTimer }))[0];
    expect(lead?.remote).toBe(boot);
    // Walker 1's first timer starts nothing while walker 0's session runs.
    expect(fire(s, starts[1] as { timer: DiscoveryTimer })).toEqual([]);
    const out = s.manager.sessionEnded(
      (lead as { sessionId: number }).sessionId,
      {
        remoteNodeId: boot,
        transportInfos: new Map(others.map((id) => [id, {}])),
        topics: new Set(),
      },
      others.length,
    );
    const follower = timers(out).find((t) => t.timer.kind === "walker" && t.timer.walker === 1);
    expect(follower).toMatchObject({ delayMs: 0 });
    const step = initiated(fire(s, follower as { timer: DiscoveryTimer }))[0];
    expect(step?.walker).toBe(1);
    expect(others).toContain(step?.remote);
  });

  it("if walker 0's first session fails, walker 1 starts from a bootstrap node", () => {
    const s = setup();
    const starts = timers(s.manager.start());
    const lead = initiated(fire(s, starts[0] as { timer: DiscoveryTimer }))[0];
    expect(fire(s, starts[1] as { timer: DiscoveryTimer })).toEqual([]);
    const out = s.manager.sessionFailed(
      (lead as { sessionId: number }).sessionId,
      new DiscoveryProtocolError("channel-error", "refused"),
    );
    const follower = timers(out).find((t) => t.timer.kind === "walker" && t.timer.walker === 1);
    expect(initiated(fire(s, follower as { timer: DiscoveryTimer }))[0]?.remote).toBe(boot);
  });

  it("sharedFirstStep false: both walkers start at a bootstrap node at once (upstream)", () => {
    const s = setup({ sharedFirstStep: false });
    const starts = timers(s.manager.start());
    const remotes = starts.map(
      (t) => initiated(fire(s, t as { timer: DiscoveryTimer }))[0]?.remote,
    );
    expect(remotes).toEqual([boot, boot]);
  });
});

describe("discovery manager: a bootstrap node is cooled down for being slow only briefly (slowBootstrapCooldownMs, default 5 s)", () => {
  it("a timed-out session with the bootstrap cools it down 5 s, a peer 30 s; a protocol violation 5 min", () => {
    const s = setup();
    const { session, out } = firstSession(s);
    expect(session.remote).toBe(boot);
    const timer = timers(out)[0] as { timer: DiscoveryTimer };
    // The stream opened: the handshake, not our dial, ran out of time.
    s.manager.sessionOpened(session.sessionId);
    s.clock.advance(10_000);
    const fired = s.manager.timerFired(timer.timer, s.book);
    expect(events(fired)[0]).toMatchObject({ reason: "timeout", misbehaving: true });
    expect(s.manager.isCoolingDown(boot)).toBe(true);
    // A peer that is not a bootstrap node is cooled down for the same, 30 s.
    const d = accept(s, nodeId(60));
    s.manager.sessionFailed(d.sessionId, new DiscoveryProtocolError("timeout", "x"));
    s.clock.advance(5_000);
    expect(s.manager.isCoolingDown(boot)).toBe(false);
    expect(s.manager.isCoolingDown(nodeId(60))).toBe(true);
    // Walker 1 steps to the bootstrap again and breaks the protocol: that is held against it.
    const next = timers(fired).find((t) => t.timer.kind === "walker") as { timer: DiscoveryTimer };
    const again = initiated(s.manager.timerFired(next.timer, s.book))[0];
    expect(again?.remote).toBe(boot);
    s.manager.sessionFailed(
      (again as { sessionId: number }).sessionId,
      new DiscoveryProtocolError("unexpected-message", "x"),
    );
    expect(s.manager.isCoolingDown(boot)).toBe(true);
  });
});

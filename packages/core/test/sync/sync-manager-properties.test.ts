// SyncManager under random input sequences (fast-check): whatever happens around it, the rules
// of spec §6.4 hold for every decision it makes.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { NodeId } from "../../src/ids/node-id.ts";
import { Topic } from "../../src/ids/topic.ts";
import {
  type SessionKey,
  type SessionOutcome,
  SyncManager,
  type SyncManagerInput,
} from "../../src/sync/sync-manager.ts";

const ME = "55".repeat(32) as NodeId;
// fast-check draws small indices most often: peer 0 has the larger id, so that we initiate.
const PEERS = ["99", "11", "77"].map((b) => b.repeat(32) as NodeId);
const TOPICS = [Topic.fromName("p/0"), Topic.fromName("p/1")];

/** What a driver does, with indices into the peers, topics and open sessions. */
type Command =
  | { kind: "open" | "close"; topic: number; live: boolean }
  | { kind: "up" | "down"; topic: number; peer: number }
  | { kind: "offer"; peer: number }
  | { kind: "name"; session: number; topic: number }
  | { kind: "end"; session: number; outcome: SessionOutcome }
  | { kind: "operation"; topic: number; from: number }
  | { kind: "fire"; timer: number }
  | { kind: "wait"; ms: number }
  | { kind: "stop" };

const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({
    kind: fc.constantFrom("open" as const, "close" as const),
    topic: fc.nat(1),
    live: fc.boolean(),
  }),
  fc.record({
    kind: fc.constantFrom("up" as const, "down" as const),
    topic: fc.nat(1),
    peer: fc.nat(2),
  }),
  fc.record({ kind: fc.constant("offer" as const), peer: fc.nat(2) }),
  fc.record({ kind: fc.constant("name" as const), session: fc.nat(20), topic: fc.nat(1) }),
  fc.record({
    kind: fc.constant("end" as const),
    session: fc.nat(20),
    outcome: fc.constantFrom<SessionOutcome>("finished", "failed", "remote-fault"),
  }),
  fc.record({
    kind: fc.constant("operation" as const),
    topic: fc.nat(1),
    from: fc.integer({ min: -1, max: 2 }),
  }),
  fc.record({ kind: fc.constant("fire" as const), timer: fc.nat(10) }),
  fc.record({ kind: fc.constant("wait" as const), ms: fc.integer({ min: 0, max: 70_000 }) }),
  fc.constant({ kind: "stop" as const }),
);

interface Open {
  readonly key: SessionKey;
  readonly remote: NodeId;
  readonly role: "initiator" | "acceptor";
  topic: Topic | undefined;
}

/** Plays `commands` against one manager as a driver would, checking every output. */
function play(commands: readonly Command[]): void {
  const m = new SyncManager({
    me: ME,
    retryDelayMs: 5_000,
    coolDownMs: 60_000,
    maxAcceptedSessions: 3,
  });
  let now = 0;
  let stopped = false;
  const open = new Map<SessionKey, Open>();
  /** Sessions the manager asked to end (they run until the driver reports their end). */
  const ending = new Set<SessionKey>();
  const topics = new Set<Topic>();
  const neighbours = new Map<Topic, Set<NodeId>>();
  const timers = new Map<string, { topic: Topic; node: NodeId }>();

  const feed = (input: SyncManagerInput): void => {
    const outputs = m.handle(input, now);
    for (const out of outputs) {
      switch (out.type) {
        case "initiate": {
          expect(stopped).toBe(false);
          // The smaller id initiates, only with a neighbour of an open topic, one per pair.
          expect(ME < out.remote).toBe(true);
          expect(topics.has(out.topic)).toBe(true);
          expect(neighbours.get(out.topic)?.has(out.remote)).toBe(true);
          const twin = [...open.values()].find(
            (s) =>
              s.role === "initiator" &&
              s.topic === out.topic &&
              s.remote === out.remote &&
              !ending.has(s.key),
          );
          expect(twin).toBeUndefined();
          expect(m.isCoolingDown(out.remote, now)).toBe(false);
          open.set(out.key, {
            key: out.key,
            remote: out.remote,
            role: "initiator",
            topic: out.topic,
          });
          break;
        }
        case "accept":
          expect(stopped).toBe(false);
          expect(m.isCoolingDown(out.remote, now)).toBe(false);
          open.set(out.key, {
            key: out.key,
            remote: out.remote,
            role: "acceptor",
            topic: undefined,
          });
          break;
        case "bind": {
          expect(topics.has(out.topic)).toBe(true);
          const session = open.get(out.key);
          expect(session?.role).toBe("acceptor");
          if (session !== undefined) session.topic = out.topic;
          break;
        }
        case "end-session":
          // Only sessions that run are ended; an evicted one is gone for the manager at once.
          expect(open.has(out.key)).toBe(true);
          ending.add(out.key);
          if (out.reason === "evicted") {
            expect(open.get(out.key)?.topic).toBeUndefined();
            open.delete(out.key);
          }
          break;
        case "forward": {
          expect(topics.has(out.topic)).toBe(true);
          const from = input.type === "operation" ? input.from : undefined;
          for (const key of out.keys) {
            const session = open.get(key);
            expect(session?.topic).toBe(out.topic);
            expect(session?.remote).not.toBe(from);
          }
          break;
        }
        case "set-timer": {
          expect(stopped).toBe(false);
          const id = `${out.topic}/${out.node}`;
          // One pending retry per pair, and only for a neighbour.
          expect(timers.has(id)).toBe(false);
          expect(neighbours.get(out.topic)?.has(out.node)).toBe(true);
          timers.set(id, { topic: out.topic, node: out.node });
          break;
        }
        case "cancel-timer":
          expect(timers.delete(`${out.topic}/${out.node}`)).toBe(true);
          break;
        case "refuse":
        case "retry-scheduled":
        case "peer-refused":
          break;
      }
    }
  };

  for (const c of commands) {
    const topic = TOPICS["topic" in c ? c.topic : 0] as Topic;
    switch (c.kind) {
      case "open":
        feed({ type: "topic-opened", topic, liveMode: c.live });
        if (!stopped) topics.add(topic);
        break;
      case "close":
        feed({ type: "topic-closed", topic });
        topics.delete(topic);
        neighbours.delete(topic);
        for (const id of [...timers.keys()]) if (timers.get(id)?.topic === topic) timers.delete(id);
        break;
      case "up":
        if (topics.has(topic)) {
          const set = neighbours.get(topic) ?? new Set();
          set.add(PEERS[c.peer] as NodeId);
          neighbours.set(topic, set);
        }
        feed({ type: "neighbour-up", topic, node: PEERS[c.peer] as NodeId });
        break;
      case "down":
        neighbours.get(topic)?.delete(PEERS[c.peer] as NodeId);
        feed({ type: "neighbour-down", topic, node: PEERS[c.peer] as NodeId });
        break;
      case "offer":
        feed({ type: "session-offered", remote: PEERS[c.peer] as NodeId });
        break;
      case "name": {
        const acceptors = [...open.values()].filter((s) => s.role === "acceptor");
        const session = acceptors[c.session % Math.max(1, acceptors.length)];
        if (session !== undefined) feed({ type: "topic-named", key: session.key, topic });
        break;
      }
      case "end": {
        const sessions = [...open.values()];
        const session = sessions[c.session % Math.max(1, sessions.length)];
        if (session === undefined) break;
        open.delete(session.key);
        feed({ type: "session-ended", key: session.key, outcome: c.outcome });
        break;
      }
      case "operation":
        feed({
          type: "operation",
          topic,
          ...(c.from >= 0 ? { from: PEERS[c.from] as NodeId } : {}),
        });
        break;
      case "fire": {
        const pending = [...timers.values()];
        const timer = pending[c.timer % Math.max(1, pending.length)];
        if (timer === undefined) break;
        timers.delete(`${timer.topic}/${timer.node}`);
        feed({ type: "timer-fired", topic: timer.topic, node: timer.node });
        break;
      }
      case "wait":
        now += c.ms;
        break;
      case "stop":
        feed({ type: "stop" });
        stopped = true;
        topics.clear();
        neighbours.clear();
        timers.clear();
        break;
    }
  }
}

describe("SyncManager under any sequence of inputs", () => {
  it("initiates only as the smaller id, with a neighbour of an open topic, one session per pair; keeps one retry per pair; forwards only to other sessions of the topic; decides nothing after stop", () => {
    fc.assert(
      fc.property(fc.array(command, { minLength: 20, maxLength: 120 }), (commands) =>
        play(commands),
      ),
      { numRuns: 500, seed: 12 },
    );
  });
});

// The inspector's state from a node's events, without a browser: what each section is drawn
// from, bounded, and the package index that loads nothing heavy until asked.
import type { NodeId, Topic } from "@p2panda-web/core";
import { emptyMetrics } from "@p2panda-web/core/sync";
import type { P2pEvent } from "@p2panda-web/events";
import { describe, expect, it } from "vitest";
import { eventsToJson } from "../src/event-json.ts";
import { InspectorState, SESSION_RATE_WINDOW_MS } from "../src/inspector-state.ts";
import { layoutRings, MAP_SIZE, renderNetworkMap } from "../src/network-map.ts";
import { type NodeSnapshot, renderGossip, renderSync } from "../src/render.ts";

const REMOTE = "aa".repeat(32) as NodeId;
const TOPIC = "bb".repeat(32) as Topic;

function event(fields: Record<string, unknown> & { type: string; at: number }): P2pEvent {
  return fields as P2pEvent;
}

function syncEvent(type: string, at: number, extra: Record<string, unknown> = {}): P2pEvent {
  return event({ type, at, sessionId: "s1", remote: REMOTE, topic: TOPIC, ...extra });
}

describe("InspectorState", () => {
  it("keeps only the last events, messages, sessions and errors, and counts them all", () => {
    const state = new InspectorState({ events: 10, messagesPerTopic: 3, errors: 2 });
    for (let i = 0; i < 25; i++) {
      state.apply(
        event({
          type: "gossip:received",
          at: i,
          topic: TOPIC,
          content: new Uint8Array(i),
          id: new Uint8Array(32),
          deliveredBy: REMOTE,
          hops: i,
        }),
      );
      state.apply(
        event({ type: "endpoint:dial-failed", at: i, remote: REMOTE, code: `E${i}`, message: "" }),
      );
    }
    expect(state.eventCount).toBe(50);
    expect(state.events).toHaveLength(10);
    expect(state.messages.get(TOPIC)?.map((m) => m.hops)).toEqual([22, 23, 24]);
    expect(state.messages.get(TOPIC)?.[2]?.bytes).toBe(24);
    expect(state.errors.map((e) => e.code)).toEqual(["E23", "E24"]);
    state.apply(event({ type: "gossip:left", at: 99, topic: TOPIC }));
    expect(state.messages.has(TOPIC)).toBe(false);
  });

  it("follows a sync session from handshake through catch-up to live, with its progress", () => {
    const state = new InspectorState();
    state.apply(syncEvent("sync:session-started", 1, { role: "initiator", liveMode: true }));
    expect(state.syncSessions.get("s1")).toMatchObject({ state: "handshake", liveMode: true });
    const metrics = { ...emptyMetrics(), inboundOperations: 4 };
    state.apply(syncEvent("sync:started", 2, { metrics }));
    state.apply(
      syncEvent("sync:operation-received", 3, {
        phase: "sync",
        metrics: { ...metrics, receivedSyncOperations: 3 },
      }),
    );
    expect(state.syncSessions.get("s1")).toMatchObject({ state: "sync", expected: 4, received: 3 });
    state.apply(
      syncEvent("sync:finished", 4, { metrics: { ...metrics, receivedSyncOperations: 4 } }),
    );
    expect(state.syncSessions.get("s1")).toMatchObject({ state: "live", received: 4 });
    state.apply(syncEvent("sync:live-finished", 5, { metrics }));
    expect(state.syncSessions.get("s1")?.state).toBe("closed");
  });

  it("adopts sessions that started before it was attached, with their live mode", () => {
    const state = new InspectorState();
    // A live operation alone says the session is in live mode.
    state.apply(
      syncEvent("sync:operation-received", 1, { phase: "live", metrics: emptyMetrics() }),
    );
    expect(state.syncSessions.get("s1")).toMatchObject({ state: "live", liveMode: true });
    const info = {
      remote: REMOTE,
      topic: TOPIC,
      role: "acceptor" as const,
      liveMode: true,
      progress: undefined,
    };
    state.adoptSyncSessions([{ ...info, sessionId: "s2", phase: "sync" }], 2);
    expect(state.syncSessions.get("s2")).toMatchObject({
      state: "sync",
      role: "acceptor",
      liveMode: true,
      topic: TOPIC,
    });
    // What its events said stays: adopting again does not move it back.
    state.apply(syncEvent("sync:finished", 3, { sessionId: "s2", metrics: emptyMetrics() }));
    state.adoptSyncSessions([{ ...info, sessionId: "s2", phase: "sync" }], 4);
    expect(state.syncSessions.get("s2")?.state).toBe("live");
  });

  it("takes a running session's operations behind and received from sync.sessions()", () => {
    const state = new InspectorState();
    const info = {
      sessionId: "s1",
      remote: REMOTE,
      topic: TOPIC,
      role: "initiator" as const,
      liveMode: true,
      phase: "handshake",
      progress: undefined,
    };
    state.adoptSyncSessions([info], 1);
    // Nothing is known before the log heights were compared.
    expect(state.syncSessions.get("s1")?.expected).toBeUndefined();
    expect(renderSync({ syncSessions: [info] } as unknown as NodeSnapshot, state)).toContain(
      "comparing log heights",
    );
    const progress = { behind: 7, received: 3, ahead: 0, sent: 0 };
    state.adoptSyncSessions([{ ...info, phase: "sync", progress }], 2);
    expect(state.syncSessions.get("s1")).toMatchObject({ expected: 7, received: 3 });
    const html = renderSync({ syncSessions: [info] } as unknown as NodeSnapshot, state);
    expect(html).toContain('data-behind="7" data-received="3"');
    expect(html).toContain('data-progress="43"');
    expect(html).toContain("7 operations behind");
  });

  it("records each gossip message's path: its id, the neighbour that delivered it, its hops and the app's origin", () => {
    const ORIGIN = "cc".repeat(32) as NodeId;
    const state = new InspectorState({}, (content) => (content[0] === 1 ? ORIGIN : undefined));
    const received = (content: number[], hops: number) =>
      event({
        type: "gossip:received",
        at: 1,
        topic: TOPIC,
        content: new Uint8Array(content),
        id: new Uint8Array([0xab, 0x01]),
        deliveredBy: REMOTE,
        hops,
      });
    state.apply(received([1], 3));
    state.apply(received([2], 1));
    const [far, near] = state.messages.get(TOPIC) ?? [];
    expect(far).toMatchObject({ id: "ab01", deliveredBy: REMOTE, hops: 3, origin: ORIGIN });
    expect(near?.origin).toBeUndefined();
    const html = renderGossip(
      {
        now: 1,
        gossipTopics: [{ topic: TOPIC, neighbours: [REMOTE], overlay: undefined }],
      } as unknown as NodeSnapshot,
      state,
    );
    expect(html).toContain(`data-hops="3" data-via="${REMOTE}" data-origin="${ORIGIN}"`);
    expect(html).toContain("2 relays");
    expect(html).toContain("3 hops");
    // A reader that throws on a message it does not know names no origin.
    const throwing = new InspectorState({}, () => {
      throw new Error("not ours");
    });
    throwing.apply(received([1], 1));
    expect(throwing.messages.get(TOPIC)?.[0]?.origin).toBeUndefined();
  });

  it("marks a failed sync session with the error's code and lists the error", () => {
    const state = new InspectorState();
    const error = Object.assign(new Error("bad signature"), { code: "INVALID_OPERATION" });
    state.apply(syncEvent("sync:failed", 1, { error, metrics: emptyMetrics() }));
    expect(state.syncSessions.get("s1")).toMatchObject({
      state: "failed",
      error: "INVALID_OPERATION",
    });
    expect(state.errors).toEqual([
      {
        at: 1,
        type: "sync:failed",
        code: "INVALID_OPERATION",
        message: "bad signature",
        remote: REMOTE,
      },
    ]);
  });

  it("logs discovery sessions with outcome and reason, and rates them over ten seconds", () => {
    const state = new InspectorState();
    const base = { remoteNodeId: REMOTE, role: "initiated", durationMs: 5 };
    for (let at = 0; at < 20; at++) {
      state.apply(
        event({
          type: "discovery:session-ended",
          at: at * 1000,
          ...base,
          result: { remoteNodeId: REMOTE, transportInfos: new Map(), topics: new Set([TOPIC]) },
          newlyLearned: 1,
        }),
      );
    }
    state.apply(
      event({
        type: "discovery:session-failed",
        at: 20_000,
        ...base,
        reason: "malformed-message",
        error: Object.assign(new Error("bad frame"), { code: "DISCOVERY_PROTOCOL" }),
        misbehaving: true,
      }),
    );
    state.apply(
      event({ type: "discovery:node-skipped", at: 20_000, remoteNodeId: REMOTE, why: "stale" }),
    );
    expect(state.discoveryLog.map((e) => [e.outcome, e.detail]).slice(-3)).toEqual([
      ["ended", "1 shared topic"],
      ["failed", "malformed-message"],
      ["skipped", "stale"],
    ]);
    expect(state.errors.map((e) => e.code)).toEqual(["malformed-message"]);
    // Sessions at 11 … 20 s are inside the window ending at 20 s: ten sessions in ten seconds.
    expect(state.sessionsPerSecond(20_000)).toBe(10 / (SESSION_RATE_WINDOW_MS / 1000));
    expect(state.sessionsPerSecond(40_000)).toBe(0);
  });

  it("dates a connection from its opened event, or from when it is first asked about", () => {
    const state = new InspectorState();
    const summary = { remote: REMOTE, remoteAddress: "/memory/x", transport: "tcp" };
    state.apply(event({ type: "endpoint:connection-opened", at: 100, ...summary }));
    expect(state.connectionSince(REMOTE, "/memory/x", 5_000)).toBe(100);
    state.apply(event({ type: "endpoint:connection-closed", at: 200, ...summary }));
    expect(state.connectionSince(REMOTE, "/memory/x", 5_000)).toBe(5_000);
    expect(state.connectionSince(REMOTE, "/memory/x", 9_000)).toBe(5_000);
  });
});

describe("the export", () => {
  it("writes bytes as hex, errors with their code and sets as arrays", () => {
    const json = eventsToJson(
      "me",
      [
        event({
          type: "x:y",
          at: 1,
          bytes: new Uint8Array([1, 255]),
          error: Object.assign(new Error("boom"), { code: "BOOM" }),
          topics: new Set(["t"]),
        }),
      ],
      7,
      42,
    );
    expect(JSON.parse(json)).toEqual({
      nodeId: "me",
      exportedAt: 42,
      eventCount: 7,
      events: [
        {
          type: "x:y",
          at: 1,
          bytes: "01ff",
          error: { name: "Error", code: "BOOM", message: "boom" },
          topics: ["t"],
        },
      ],
    });
  });
});

describe("the package index", () => {
  it("imports without a DOM: the element loads only when defineInspector is called", async () => {
    expect(typeof globalThis.HTMLElement).toBe("undefined");
    const index = await import("../src/index.ts");
    expect(index.INSPECTOR_TAG).toBe("p2panda-inspector");
    await expect(index.defineInspector()).rejects.toThrow(/HTMLElement/);
  });
});

describe("the network map", () => {
  const ids = (n: number) =>
    Array.from({ length: n }, (_, i) => i.toString(16).padStart(64, "0") as NodeId);

  it("puts every node at its own place inside the map, on rings of 8, 16, 24, …", () => {
    for (const n of [1, 8, 9, 24, 25, 1_000]) {
      const points = layoutRings(ids(n));
      expect(points.size).toBe(n);
      const seen = new Set<string>();
      const radii = new Map<string, number>();
      for (const p of points.values()) {
        expect(p.x).toBeGreaterThan(0);
        expect(p.x).toBeLessThan(MAP_SIZE);
        expect(p.y).toBeGreaterThan(0);
        expect(p.y).toBeLessThan(MAP_SIZE);
        seen.add(`${p.x.toFixed(3)},${p.y.toFixed(3)}`);
        const r = Math.hypot(p.x - MAP_SIZE / 2, p.y - MAP_SIZE / 2).toFixed(3);
        radii.set(r, (radii.get(r) ?? 0) + 1);
      }
      expect(seen.size).toBe(n);
      const perRing = [...radii].sort(([a], [b]) => Number(a) - Number(b)).map(([, c]) => c);
      const inner = perRing.slice(0, -1);
      expect(inner).toEqual(inner.map((_, k) => 8 * (k + 1)));
    }
  });

  it("keeps a node's place when a node sorted after it comes", () => {
    const before = layoutRings(ids(5));
    const after = layoutRings([...ids(5), "ff".repeat(32) as NodeId]);
    expect(after.get(ids(5)[0] as NodeId)).toEqual(before.get(ids(5)[0] as NodeId));
  });

  it("draws co-topic nodes, walkers where they are and links by transport", () => {
    const [me, a, b] = ids(3) as [NodeId, NodeId, NodeId];
    const svg = renderNetworkMap({
      me,
      known: [me, a, b],
      coTopic: new Set([a]),
      bootstrap: new Set([b]),
      stale: new Set(),
      links: [{ remote: b, transport: "websockets" }],
      walkers: [{ walker: 0, at: b, trail: [b, a] }],
    });
    expect(svg).toContain(
      `class="node co-topic" data-testid="inspector-map-node" data-node-id="${a}"`,
    );
    expect(svg).toContain(
      `class="node bootstrap" data-testid="inspector-map-node" data-node-id="${b}"`,
    );
    expect(svg).toContain(`data-testid="inspector-map-walker" data-at="${b}"`);
    expect(svg).toContain(`class="link transport-websockets"`);
    expect(svg.match(/<polyline/g)).toHaveLength(1);
  });
});

// LifecycleRecovery carries out PageLifecycle's decisions: these tests drive it with manual page
// signals and a scripted endpoint on virtual time, and check what it does to the endpoint,
// discovery and gossip.
import { Subject } from "rxjs";
import { describe, expect, it } from "vitest";
import type { NodeLifecycleEvent } from "../../src/composition/events.ts";
import { LifecycleRecovery } from "../../src/composition/lifecycle-recovery.ts";
import { ManualPageSignals } from "../../src/composition/page-signals.ts";
import type { DiscoveryService } from "../../src/discovery/discovery-service.ts";
import type { EndpointEvent } from "../../src/endpoint/events.ts";
import type { GossipService } from "../../src/gossip/gossip-service.ts";
import { NodeId } from "../../src/ids/node-id.ts";
import { createNodeInfo, type NodeInfo } from "../../src/records/node-info.ts";
import { VirtualRuntime } from "../../src/runtime/runtime.ts";

const ME = NodeId.fromBytes(new Uint8Array(32).fill(1));
const BOOTSTRAP = NodeId.fromBytes(new Uint8Array(32).fill(2));
const PEER = NodeId.fromBytes(new Uint8Array(32).fill(3));

function setUp(options: { online?: boolean } = {}) {
  const runtime = new VirtualRuntime();
  const events = new Subject<EndpointEvent>();
  const connected = new Set<NodeId>([BOOTSTRAP]);
  const dials: { node: NodeId; at: number }[] = [];
  const closed: { node: NodeId; at: number }[] = [];
  let answer = false;
  const infos = new Map<NodeId, NodeInfo>([
    [BOOTSTRAP, createNodeInfo(BOOTSTRAP, { bootstrap: true })],
    [PEER, createNodeInfo(PEER)],
  ]);
  const calls: string[] = [];
  const signals = new ManualPageSignals({ online: options.online ?? true });
  const recovery = new LifecycleRecovery({
    runtime,
    // Exact waits: the jitter has its own test (page-lifecycle.test.ts).
    reconnect: { jitter: 0 },
    signals,
    endpoint: {
      nodeId: ME,
      events$: events,
      accept: () => {},
      connect: () => Promise.reject(new Error("unused")),
      isConnected: (node) => connected.has(node),
      dial: async (node) => {
        dials.push({ node, at: runtime.now() });
        if (!answer) throw new Error("refused");
        connected.add(node);
        events.next(connection("endpoint:connection-opened", node, runtime.now()));
      },
      suspend: () => {
        calls.push("endpoint.suspend");
        return 1;
      },
      resume: () => calls.push("endpoint.resume"),
      closeConnections: (node) => {
        closed.push({ node, at: runtime.now() });
        if (connected.delete(node)) {
          events.next(connection("endpoint:connection-closed", node, runtime.now()));
        }
      },
    },
    addressBook: { nodeInfo: (id) => infos.get(id), allNodeInfos: () => [...infos.values()] },
    discovery: {
      pause: () => calls.push("discovery.pause"),
      resume: () => calls.push("discovery.resume"),
    } as unknown as DiscoveryService,
    gossip: { healNow: () => calls.push("gossip.healNow") } as unknown as GossipService,
  });
  const seen: NodeLifecycleEvent[] = [];
  recovery.events$.subscribe((event) => seen.push(event));
  return {
    runtime,
    recovery,
    signals,
    calls,
    dials,
    closed,
    seen,
    answer: (yes: boolean) => {
      answer = yes;
    },
    lose(node: NodeId) {
      connected.delete(node);
      events.next(connection("endpoint:connection-closed", node, runtime.now()));
    },
  };
}

function connection(
  type: "endpoint:connection-opened" | "endpoint:connection-closed",
  remote: NodeId,
  at: number,
): EndpointEvent {
  return {
    type,
    at,
    remote,
    transport: "websockets",
    direction: "outbound",
    limited: false,
    remoteAddress: "/ip4/127.0.0.1/tcp/1/ws",
  } as EndpointEvent;
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("LifecycleRecovery", () => {
  it("redials a lost bootstrap after 250 ms, then 375 ms, and reports the reconnect", async () => {
    const t = setUp();
    t.recovery.start();
    t.lose(BOOTSTRAP);
    await t.runtime.advance(249);
    expect(t.dials).toEqual([]);
    await t.runtime.advance(1);
    await flush();
    expect(t.dials).toEqual([{ node: BOOTSTRAP, at: 250 }]);
    t.answer(true);
    await t.runtime.advance(375);
    await flush();
    expect(t.dials.map((d) => d.at)).toEqual([250, 625]);
    expect(t.seen.map((e) => e.type)).toEqual([
      "node:bootstrap-reconnect-scheduled",
      "node:bootstrap-reconnect-scheduled",
      "node:bootstrap-reconnected",
    ]);
    expect(t.seen.at(-1)).toMatchObject({ node: BOOTSTRAP, afterMs: 625 });
    // Connected: no more dials.
    await t.runtime.advance(60_000);
    expect(t.dials).toHaveLength(2);
    t.recovery.stop();
  });

  it("a peer that is not a bootstrap is left to gossip", async () => {
    const t = setUp();
    t.recovery.start();
    t.lose(PEER);
    await t.runtime.advance(10_000);
    expect(t.dials).toEqual([]);
    expect(t.seen).toEqual([]);
    t.recovery.stop();
  });

  it("offline pauses the walkers and dials nothing; online dials, heals and walks again", async () => {
    const t = setUp();
    t.recovery.start();
    t.signals.emit({ type: "offline" });
    expect(t.calls).toEqual(["discovery.pause"]);
    t.lose(BOOTSTRAP);
    await t.runtime.advance(30_000);
    expect(t.dials).toEqual([]);
    t.answer(true);
    t.signals.emit({ type: "online" });
    await flush();
    expect(t.calls).toEqual(["discovery.pause", "gossip.healNow", "discovery.resume"]);
    expect(t.dials).toEqual([{ node: BOOTSTRAP, at: 30_000 }]);
    expect(t.seen.map((e) => e.type)).toEqual([
      "node:page-signal",
      "node:paused",
      "node:page-signal",
      "node:resumed",
      "node:bootstrap-reconnected",
    ]);
    expect(t.recovery.paused).toBe(false);
    t.recovery.stop();
  });

  it("into the bfcache it suspends its connections within the pagehide, and on return lets them through, dials and heals", async () => {
    const t = setUp();
    t.answer(true);
    t.recovery.start();
    t.signals.emit({ type: "pagehide", persisted: true });
    // Synchronously: the page is stored as soon as its pagehide listeners return.
    expect(t.calls).toEqual(["endpoint.suspend", "discovery.pause"]);
    await t.runtime.advance(3_000);
    t.signals.emit({ type: "pageshow", persisted: true });
    await flush();
    // Connections are let through again before the bootstraps are dialled.
    expect(t.calls.slice(2)).toEqual(["endpoint.resume", "gossip.healNow", "discovery.resume"]);
    expect(t.dials).toEqual([{ node: BOOTSTRAP, at: 3_000 }]);
    expect(t.seen.map((e) => e.type)).toContain("node:resumed");
    expect(t.seen.find((e) => e.type === "node:resumed")).toMatchObject({
      reason: "bfcache",
      pausedMs: 3_000,
    });
    // A page that really goes away closes nothing here (the app tears it down).
    const u = setUp();
    u.recovery.start();
    u.signals.emit({ type: "pagehide", persisted: false });
    expect(u.calls).toEqual([]);
    t.recovery.stop();
    u.recovery.stop();
  });

  it("back from a 60 s freeze, the bootstrap connection still counted open is replaced", async () => {
    const t = setUp();
    t.answer(true);
    t.recovery.start();
    t.signals.emit({ type: "frozen" });
    await t.runtime.advance(60_000);
    t.signals.emit({ type: "resumed" });
    await flush();
    // Closed, then dialled anew: a plain dial would have been handed the dead connection.
    expect(t.closed).toEqual([{ node: BOOTSTRAP, at: 60_000 }]);
    expect(t.dials).toEqual([{ node: BOOTSTRAP, at: 60_000 }]);
    expect(t.seen.at(-1)).toMatchObject({ type: "node:bootstrap-reconnected", node: BOOTSTRAP });
    // The reconnect scheduled by the close was cancelled by the new connection.
    await t.runtime.advance(10_000);
    expect(t.dials).toHaveLength(1);
    t.recovery.stop();
  });

  it("back from a 2 s freeze, the bootstrap connection is kept", async () => {
    const t = setUp();
    t.answer(true);
    t.recovery.start();
    t.signals.emit({ type: "frozen" });
    await t.runtime.advance(2_000);
    t.signals.emit({ type: "resumed" });
    await flush();
    expect(t.closed).toEqual([]);
    expect(t.dials).toEqual([{ node: BOOTSTRAP, at: 2_000 }]);
    t.recovery.stop();
  });

  it("a node created offline starts with its walkers paused", () => {
    const t = setUp({ online: false });
    t.recovery.start();
    expect(t.calls).toEqual(["discovery.pause"]);
    expect(t.recovery.paused).toBe(true);
    t.recovery.stop();
  });

  it("stop ends its timers and its events", async () => {
    const t = setUp();
    t.recovery.start();
    let completed = false;
    t.recovery.events$.subscribe({ complete: () => (completed = true) });
    t.lose(BOOTSTRAP);
    t.recovery.stop();
    await t.runtime.advance(10_000);
    expect(t.dials).toEqual([]);
    expect(completed).toBe(true);
    t.signals.emit({ type: "offline" });
    expect(t.calls).toEqual([]);
  });
});

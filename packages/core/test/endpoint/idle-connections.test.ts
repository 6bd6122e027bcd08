// Connections that only served a discovery session are closed once idle, so a tab keeps its
// overlay neighbours and a few more instead of one connection per node its walkers met; and a
// relay forgets the tabs that were reachable only through it once they are gone.
import { createNodeInfo, isStale, NodeId } from "@p2panda-web/core";
import {
  IdleConnections,
  reachableOnlyThrough,
  SUPERSEDED_GRACE_MS,
} from "@p2panda-web/core/endpoint";
import { filter, firstValueFrom, timeout } from "rxjs";
import { afterEach, describe, expect, it, vi } from "vitest";
import { nodeId } from "../gossip/helpers.ts";
import { echo, introduce, memoryNode, stopAll } from "./helpers.ts";

afterEach(stopAll);

describe("idle rule (pure)", () => {
  const connection = (id: string, sessions = 0, exempt = false) => ({
    id,
    remote: nodeId(1),
    sessions,
    exempt,
  });

  it("closes a connection with no session once it has been idle for the whole timeout", () => {
    const idle = new IdleConnections(1_000);
    expect(idle.sweep([connection("a")], 0)).toEqual([]);
    expect(idle.sweep([connection("a")], 999)).toEqual([]);
    expect(idle.sweep([connection("a")], 1_000)).toEqual(["a"]);
  });

  it("a session restarts the clock; exempt connections are never closed", () => {
    const idle = new IdleConnections(1_000);
    idle.sweep([connection("a"), connection("b", 0, true)], 0);
    idle.sweep([connection("a", 1), connection("b", 0, true)], 800);
    expect(idle.sweep([connection("a"), connection("b", 0, true)], 1_500)).toEqual([]);
    expect(idle.sweep([connection("a"), connection("b", 0, true)], 2_500)).toEqual(["a"]);
  });

  it("beyond the cap, idle connections close at once, longest idle first; busy ones never", () => {
    const idle = new IdleConnections(60_000, 2);
    // a and b go idle first, c later; d carries a session; e is exempt (bootstrap).
    idle.sweep([connection("a"), connection("b")], 0);
    const all = [
      connection("a"),
      connection("b"),
      connection("c"),
      connection("d", 1),
      connection("e", 0, true),
    ];
    // Four counted (a, b, c idle; d busy), two allowed: the two longest idle go.
    expect(idle.sweep(all, 100).sort()).toEqual(["a", "b"]);
    expect(
      idle.sweep([connection("c"), connection("d", 1), connection("e", 0, true)], 200),
    ).toEqual([]);
    // Busy connections alone beyond the cap are kept.
    const busy = [connection("x", 1), connection("y", 1), connection("z", 1)];
    expect(idle.sweep(busy, 300)).toEqual([]);
    // Without a cap nothing closes before the timeout.
    const uncapped = new IdleConnections(60_000);
    uncapped.sweep(all, 0);
    expect(uncapped.sweep(all, 100)).toEqual([]);
  });

  it("a relayed connection whose signalling is over, beside a direct one, closes after the grace", () => {
    const idle = new IdleConnections(60_000);
    const relayed = { ...connection("r", 0, true), superseded: true };
    const others = [connection("d", 1), connection("e", 0, true)];
    expect(idle.sweep([relayed, ...others], 0)).toEqual([]);
    // A stream on it again (another set-up) starts the grace over.
    expect(idle.sweep([connection("r", 0, true), ...others], 3_000)).toEqual([]);
    expect(idle.sweep([relayed, ...others], 4_000)).toEqual([]);
    expect(idle.sweep([relayed, ...others], 4_000 + SUPERSEDED_GRACE_MS - 1)).toEqual([]);
    expect(idle.sweep([relayed, ...others], 4_000 + SUPERSEDED_GRACE_MS)).toEqual(["r"]);
  });

  it("forgets connections that are gone", () => {
    const idle = new IdleConnections(1_000);
    idle.sweep([connection("a")], 0);
    idle.sweep([], 500);
    expect(idle.sweep([connection("a")], 1_200)).toEqual([]);
  });
});

describe("an endpoint closes connections its sessions no longer use", () => {
  it("after a finished session the connection closes; one with a session open stays", async () => {
    const a = await memoryNode({ idleConnectionTimeoutMs: 300 });
    const b = await memoryNode();
    const c = await memoryNode();
    a.endpoint.accept("test/echo/v1", echo);
    b.endpoint.accept("test/echo/v1", echo);
    c.endpoint.accept("test/echo/v1", echo);
    await introduce(a, b);
    await introduce(a, c);
    // A finished session with b (as a discovery session is) …
    const done = await a.endpoint.connect(b.endpoint.nodeId, "test/echo/v1");
    await done.send("hi");
    expect(await done.receive()).toBe("hi");
    await done.close();
    expect(await done.receive()).toBeUndefined();
    // … and a session with c that stays open (as a gossip link does).
    const open = await a.endpoint.connect(c.endpoint.nodeId, "test/echo/v1");
    await open.send("hi");
    expect(await open.receive()).toBe("hi");

    const closed = await firstValueFrom(
      a.endpoint.events$.pipe(
        filter((e) => e.type === "endpoint:connection-closed"),
        timeout(3_000),
      ),
    );
    expect(closed).toMatchObject({ remote: b.endpoint.nodeId });
    expect(a.endpoint.metrics.idleConnectionsClosed).toBe(1);
    expect(a.endpoint.connections().map((x) => x.remote)).toEqual([c.endpoint.nodeId]);
    // Closing is not a failure: b is not stale, and the next session simply dials again.
    expect(a.addressBook.nodeInfo(b.endpoint.nodeId)?.metrics.failures).toBe(0);
    const again = await a.endpoint.connect(b.endpoint.nodeId, "test/echo/v1");
    await again.send("again");
    expect(await again.receive()).toBe("again");
  });

  it("with maxDirectConnections, idle connections beyond it close without waiting", async () => {
    const a = await memoryNode({ idleConnectionTimeoutMs: 600_000, maxDirectConnections: 1 });
    const others = await Promise.all([memoryNode(), memoryNode(), memoryNode()]);
    for (const other of others) {
      other.endpoint.accept("test/echo/v1", echo);
      await introduce(a, other);
      const session = await a.endpoint.connect(other.endpoint.nodeId, "test/echo/v1");
      await session.send("hi");
      expect(await session.receive()).toBe("hi");
      await session.close();
      expect(await session.receive()).toBeUndefined();
    }
    await vi.waitFor(() => expect(a.endpoint.connections().length).toBeLessThanOrEqual(1), {
      timeout: 10_000,
      interval: 50,
    });
    expect(a.endpoint.metrics.idleConnectionsClosed).toBeGreaterThanOrEqual(2);
  });

  it("a connection to a bootstrap node is kept however idle", async () => {
    const a = await memoryNode({ idleConnectionTimeoutMs: 150 });
    const b = await memoryNode();
    await introduce(a, b);
    const info = a.addressBook.nodeInfo(b.endpoint.nodeId);
    await a.addressBook.insertNodeInfo(
      createNodeInfo(b.endpoint.nodeId, { bootstrap: true, transports: info?.transports }),
    );
    await a.endpoint.dial(b.endpoint.nodeId);
    const closedSoon = firstValueFrom(
      a.endpoint.events$.pipe(
        filter((e) => e.type === "endpoint:connection-closed"),
        timeout(1_000),
      ),
    ).catch(() => "kept");
    expect(await closedSoon).toBe("kept");
    expect(a.endpoint.metrics.idleConnectionsClosed).toBe(0);
  });
});

describe("a relay forgets the nodes that could only be reached through it once they leave", () => {
  const circuitVia = (relay: NodeId, node: NodeId) =>
    `/memory/gone/p2p/${NodeId.toPeerId(relay).toString()}/p2p-circuit/webrtc/p2p/${NodeId.toPeerId(node).toString()}`;

  it("reachableOnlyThrough: every address is a circuit through that relay", () => {
    const relay = nodeId(1);
    const node = nodeId(2);
    const other = nodeId(3);
    expect(reachableOnlyThrough([circuitVia(relay, node)], relay)).toBe(true);
    expect(reachableOnlyThrough([circuitVia(relay, node), circuitVia(other, node)], relay)).toBe(
      false,
    );
    expect(reachableOnlyThrough([], relay)).toBe(false);
  });

  it("a tab's connection closes: stale at once, removed after the grace; a node with its own address stays", async () => {
    const relay = await memoryNode({ forgetDepartedAfterMs: 300 });
    const tab = await memoryNode();
    const server = await memoryNode();
    await introduce(tab, relay);
    await introduce(server, relay);
    await introduce(relay, server);
    // What discovery would have told the relay: the tab is reachable only through the relay.
    await relay.addressBook.insertNodeInfo(
      createNodeInfo(tab.endpoint.nodeId, {
        transports: {
          kind: "trusted",
          addresses: [circuitVia(relay.endpoint.nodeId, tab.endpoint.nodeId)],
        },
      }),
    );
    await tab.endpoint.dial(relay.endpoint.nodeId);
    await server.endpoint.dial(relay.endpoint.nodeId);
    const closed = (who: NodeId) =>
      firstValueFrom(
        relay.endpoint.events$.pipe(
          filter((e) => e.type === "endpoint:connection-closed" && e.remote === who),
          timeout(3_000),
        ),
      );
    const tabGone = closed(tab.endpoint.nodeId);
    await tab.endpoint.stop();
    await tabGone;
    const info = relay.addressBook.nodeInfo(tab.endpoint.nodeId);
    expect(info && isStale(info)).toBe(true);
    expect(relay.endpoint.metrics.departedNodes).toBe(1);
    await vi.waitFor(() => expect(relay.addressBook.nodeInfo(tab.endpoint.nodeId)).toBeUndefined());
    expect(relay.endpoint.metrics.departedNodesForgotten).toBe(1);

    const serverGone = closed(server.endpoint.nodeId);
    await server.endpoint.stop();
    await serverGone;
    expect(relay.addressBook.nodeInfo(server.endpoint.nodeId)).toBeDefined();
    expect(relay.endpoint.metrics.departedNodes).toBe(1);
  });
});

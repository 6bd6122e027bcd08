import type { Connection } from "@libp2p/interface";
import { byteStream } from "@libp2p/utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  ConnectionLiveness,
  type LivenessConnection,
  PING_PROTOCOL,
  pingOverConnection,
} from "../../src/endpoint/liveness.ts";
import { systemTimers } from "../../src/runtime/timers.ts";
import { introduce, memoryNode, nextEvent, stopAll } from "./helpers.ts";

const timing = { intervalMs: 5_000, timeoutMs: 3_000, confirmMs: 3_000 };

interface FakeConnection extends LivenessConnection {
  status: string;
}

/** A liveness over `connections` whose pings answer after `answerMs(n)` (n-th ping, 0-based). */
function liveness(
  connections: FakeConnection[],
  answerMs: (n: number) => number | undefined,
  now?: () => number,
  mayNeverHaveWorked?: (connection: FakeConnection) => boolean,
): { live: ConnectionLiveness<FakeConnection>; dropped: string[]; missed: () => number } {
  let pings = 0;
  let missed = 0;
  const dropped: string[] = [];
  const live = new ConnectionLiveness<FakeConnection>({
    timing,
    timers: systemTimers,
    connections: () => connections,
    ping: (_connection, signal) => {
      const after = answerMs(pings++);
      return new Promise<void>((resolve, reject) => {
        signal.addEventListener("abort", () => reject(signal.reason), { once: true });
        if (after !== undefined) setTimeout(resolve, after);
      });
    },
    drop: (connection, error) => {
      connection.status = "closed";
      dropped.push(`${connection.id}: ${error.message}`);
    },
    missed: () => {
      missed++;
    },
    ...(now !== undefined ? { now } : {}),
    ...(mayNeverHaveWorked !== undefined ? { mayNeverHaveWorked } : {}),
  });
  return { live, dropped, missed: () => missed };
}

describe("ConnectionLiveness: a peer is dropped only when it misses a ping and its confirmation", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("keeps a connection whose pings are answered in time", async () => {
    const connection = { id: "c1", status: "open" };
    const { live, dropped, missed } = liveness([connection], () => 2_900);
    live.start();
    await vi.advanceTimersByTimeAsync(60_000);
    live.stop();
    expect(dropped).toEqual([]);
    expect(missed()).toBe(0);
  });

  it("drops a peer that answered before and then fell silent after interval + timeout + confirm", async () => {
    const connection = { id: "c1", status: "open" };
    const { live, dropped } = liveness([connection], (n) => (n === 0 ? 10 : undefined));
    live.start();
    // The first heartbeat's ping is answered; the second (at 10 s) and its confirmation are not.
    await vi.advanceTimersByTimeAsync(10_000 + 3_000 + 3_000 - 1);
    expect(dropped).toEqual([]);
    // Each deadline gives the event loop one more turn (a 0 ms timer) before it counts.
    await vi.advanceTimersByTimeAsync(5);
    expect(dropped).toEqual(["c1: no answer to two pings (3000 ms, then 3000 ms)"]);
    live.stop();
  });

  it("drops a connection that never answered after its first ping, without a confirmation", async () => {
    const connection = { id: "c1", status: "open" };
    const { live, dropped } = liveness([connection], () => undefined);
    live.start();
    await vi.advanceTimersByTimeAsync(5_000 + 3_000 - 1);
    expect(dropped).toEqual([]);
    await vi.advanceTimersByTimeAsync(5);
    expect(dropped).toEqual(["c1: no answer to its first ping (3000 ms)"]);
    live.stop();
  });

  it("confirms before it drops a connection that never answered but cannot be one that never worked (not WebRTC)", async () => {
    const socket = { id: "ws", status: "open" };
    const webrtc = { id: "rtc", status: "open" };
    const isWebRtc = (c: FakeConnection) => c.id === "rtc";
    // Each connection's first ping is answered late (4 s), its confirmation in 1 s.
    const slowFirst = liveness([socket], (n) => (n === 0 ? 4_000 : 1_000), undefined, isWebRtc);
    slowFirst.live.start();
    await vi.advanceTimersByTimeAsync(30_000);
    slowFirst.live.stop();
    expect(slowFirst.dropped).toEqual([]);
    expect(slowFirst.missed()).toBe(1);
    // The same timing on a WebRTC connection drops it at its first missed ping.
    const rtc = liveness([webrtc], (n) => (n === 0 ? 4_000 : 1_000), undefined, isWebRtc);
    rtc.live.start();
    await vi.advanceTimersByTimeAsync(30_000);
    rtc.live.stop();
    expect(rtc.dropped).toEqual(["rtc: no answer to its first ping (3000 ms)"]);
    // One that never answers at all is still dropped, after the confirmation.
    const silent = liveness([{ id: "ws", status: "open" }], () => undefined, undefined, isWebRtc);
    silent.live.start();
    await vi.advanceTimersByTimeAsync(5_000 + 3_000 + 3_000 + 5);
    silent.live.stop();
    expect(silent.dropped).toEqual(["ws: no answer to two pings (3000 ms, then 3000 ms)"]);
  });

  it("keeps a slow peer that answers the confirming ping, and counts the miss", async () => {
    const connection = { id: "c1", status: "open" };
    // The first ping is answered at once, the second too late (4 s), its confirmation in 1 s.
    const { live, dropped, missed } = liveness([connection], (n) =>
      n === 1 ? 4_000 : n === 2 ? 1_000 : 10,
    );
    live.start();
    await vi.advanceTimersByTimeAsync(30_000);
    live.stop();
    expect(dropped).toEqual([]);
    expect(missed()).toBe(1);
  });

  it("reads an answer that came while the process could not run before it calls the ping missed", async () => {
    const connection = { id: "c1", status: "open" };
    // The answer's task is due at the same moment as the deadline (a starved process runs both
    // in one go): the deadline's extra turn lets the answer count.
    const { live, dropped, missed } = liveness([connection], () => 3_000);
    live.start();
    await vi.advanceTimersByTimeAsync(20_000);
    live.stop();
    expect(dropped).toEqual([]);
    expect(missed()).toBe(0);
  });

  it("a deadline that fires late (the process was held up) waits as long again before it calls the ping missed", async () => {
    const connection = { id: "c1", status: "open" };
    // The clock runs ahead of the timers while the process cannot run: 1.5 s right before the
    // deadline of the first ping (sent at 5 s, due at 8 s, answered at 9 s).
    let stalled = 0;
    const { live, dropped, missed } = liveness(
      [connection],
      (n) => (n === 0 ? 4_000 : 10),
      () => Date.now() + stalled,
    );
    live.start();
    await vi.advanceTimersByTimeAsync(7_999);
    stalled = 1_500;
    await vi.advanceTimersByTimeAsync(3_000);
    live.stop();
    // Without the grace: never answered yet, so dropped at once, without a confirming ping.
    expect(dropped).toEqual([]);
    expect(missed()).toBe(0);
  });

  it("the grace adds up to the deadline once more at most: a peer that never answers is still dropped", async () => {
    const connection = { id: "c1", status: "open" };
    let stalled = 0;
    const { live, dropped } = liveness(
      [connection],
      () => undefined,
      () => Date.now() + stalled,
    );
    live.start();
    await vi.advanceTimersByTimeAsync(7_999);
    // A 10 s stall: the grace is the deadline once more (3 s), not the 10 s it was late.
    stalled = 10_000;
    await vi.advanceTimersByTimeAsync(3_002);
    live.stop();
    expect(dropped).toEqual(["c1: no answer to its first ping (3000 ms)"]);
  });

  it("sends no second ping on a connection that closed meanwhile, and never two at once", async () => {
    const connection = { id: "c1", status: "open" };
    let started = 0;
    const live = new ConnectionLiveness<FakeConnection>({
      timing: { intervalMs: 1_000, timeoutMs: 3_000, confirmMs: 3_000 },
      timers: systemTimers,
      connections: () => [connection],
      ping: (_c, signal) => {
        started++;
        return new Promise<void>((_resolve, reject) =>
          signal.addEventListener("abort", () => reject(signal.reason), { once: true }),
        );
      },
      drop: () => {
        throw new Error("a closed connection is not dropped");
      },
    });
    live.start();
    // Heartbeats at 1, 2 and 3 s: one ping under way, so no second one.
    await vi.advanceTimersByTimeAsync(3_500);
    expect(started).toBe(1);
    connection.status = "closed";
    await vi.advanceTimersByTimeAsync(10_000);
    expect(started).toBe(1);
    live.stop();
  });

  it("pings nothing once stopped", async () => {
    const connection = { id: "c1", status: "open" };
    let pings = 0;
    const { live } = liveness([connection], () => {
      pings++;
      return 10;
    });
    live.start();
    await vi.advanceTimersByTimeAsync(5_000);
    live.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(pings).toBe(1);
  });
});

describe("liveness over real libp2p connections (memory transport)", () => {
  afterEach(stopAll);

  it("pingOverConnection gets its bytes back over the one connection it is given", async () => {
    const a = await memoryNode();
    const b = await memoryNode();
    await introduce(b, a);
    a.endpoint.accept("test/hold/v1", () => new Promise<void>(() => {}));
    await b.endpoint.connect(a.endpoint.nodeId, "test/hold/v1");
    const [connection] = b.endpoint.libp2p.getConnections() as Connection[];
    await expect(
      pingOverConnection(connection!, AbortSignal.timeout(5_000)),
    ).resolves.toBeUndefined();
  });

  it("a ping answered with other bytes, or with far more than it sent, fails; it never hangs or throws past its caller", async () => {
    const a = await memoryNode();
    const b = await memoryNode();
    let answer = new Uint8Array(32).fill(7);
    await a.endpoint.libp2p.unhandle(PING_PROTOCOL);
    await a.endpoint.libp2p.handle(
      PING_PROTOCOL,
      async (stream) => {
        const bytes = byteStream(stream);
        await bytes.read({ bytes: 32 });
        await bytes.write(answer);
        await stream.close();
      },
      { runOnLimitedConnection: true },
    );
    await introduce(b, a);
    a.endpoint.accept("test/hold/v1", () => new Promise<void>(() => {}));
    await b.endpoint.connect(a.endpoint.nodeId, "test/hold/v1");
    const [connection] = b.endpoint.libp2p.getConnections() as Connection[];
    // Malformed: 32 bytes, not ours.
    await expect(pingOverConnection(connection!, AbortSignal.timeout(5_000))).rejects.toThrow(
      "ping answered with other bytes",
    );
    // Oversized: 1 MiB of other bytes.
    answer = new Uint8Array(1024 * 1024).fill(9);
    await expect(pingOverConnection(connection!, AbortSignal.timeout(5_000))).rejects.toThrow(
      "ping answered with other bytes",
    );
  });

  it("drops a connection whose peer takes the ping stream but never answers, and counts it", async () => {
    const a = await memoryNode();
    const b = await memoryNode({
      liveness: { pingIntervalMs: 200, pingTimeoutMs: 300, pingConfirmMs: 300 },
    });
    // `a` reads pings and never echoes them: a peer that is there for libp2p but not answering.
    await a.endpoint.libp2p.unhandle(PING_PROTOCOL);
    await a.endpoint.libp2p.handle(PING_PROTOCOL, () => {}, { runOnLimitedConnection: true });
    await introduce(b, a);
    a.endpoint.accept("test/hold/v1", () => new Promise<void>(() => {}));
    const closed = nextEvent(
      b.endpoint.events$,
      "endpoint:connection-closed",
      (e) => e.remote === a.endpoint.nodeId,
      10_000,
    );
    const opened = Date.now();
    await b.endpoint.connect(a.endpoint.nodeId, "test/hold/v1");
    await closed;
    // The first heartbeat may come at any point of its interval; its timeout at the least.
    expect(Date.now() - opened).toBeGreaterThanOrEqual(300);
    expect(b.endpoint.metrics.connectionsDroppedUnanswered).toBe(1);
  });

  it("drops a connection whose peer answered once and then missed a ping and its confirmation", async () => {
    const a = await memoryNode();
    const b = await memoryNode({
      liveness: { pingIntervalMs: 200, pingTimeoutMs: 300, pingConfirmMs: 300 },
    });
    // `a` echoes the first ping and none after it.
    let pings = 0;
    await a.endpoint.libp2p.unhandle(PING_PROTOCOL);
    await a.endpoint.libp2p.handle(
      PING_PROTOCOL,
      async (stream) => {
        if (pings++ > 0) return;
        const bytes = byteStream(stream);
        await bytes.write(await bytes.read({ bytes: 32 }));
        await stream.close();
      },
      { runOnLimitedConnection: true },
    );
    await introduce(b, a);
    a.endpoint.accept("test/hold/v1", () => new Promise<void>(() => {}));
    const closed = nextEvent(
      b.endpoint.events$,
      "endpoint:connection-closed",
      (e) => e.remote === a.endpoint.nodeId,
      10_000,
    );
    await b.endpoint.connect(a.endpoint.nodeId, "test/hold/v1");
    await closed;
    // The answered ping, then the missed one and its missed confirmation.
    expect(pings).toBeGreaterThanOrEqual(3);
    expect(b.endpoint.metrics.connectionsDroppedUnanswered).toBe(1);
    expect(b.endpoint.metrics.pingsMissed).toBe(0);
  });

  it("keeps a connection whose peer answers pings", async () => {
    const a = await memoryNode();
    const b = await memoryNode({
      liveness: { pingIntervalMs: 100, pingTimeoutMs: 2_000, pingConfirmMs: 2_000 },
    });
    await introduce(b, a);
    a.endpoint.accept("test/hold/v1", () => new Promise<void>(() => {}));
    await b.endpoint.connect(a.endpoint.nodeId, "test/hold/v1");
    // Ten heartbeats; each ping is answered.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(b.endpoint.libp2p.getConnections().filter((c) => c.status === "open")).toHaveLength(1);
    expect(b.endpoint.metrics.connectionsDroppedUnanswered).toBe(0);
    expect(b.endpoint.metrics.pingsMissed).toBe(0);
  });
});

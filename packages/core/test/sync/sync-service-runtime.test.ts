// SyncService on the injected runtime: the Startable lifecycle, and retries and cool-downs that
// wait their full default delays in virtual time (the memory endpoint needs no timers).
import { afterEach, describe, expect, it } from "vitest";
import { ProtocolName } from "../../src/ids/network-id.ts";
import { Topic } from "../../src/ids/topic.ts";
import { ServiceStoppedError } from "../../src/runtime/lifecycle.ts";
import { VirtualRuntime } from "../../src/runtime/runtime.ts";
import { SyncStoppedError } from "../../src/sync/errors.ts";
import { DEFAULT_SYNC_COOL_DOWN_MS } from "../../src/sync/remote-fault.ts";
import { DEFAULT_SYNC_RETRY_DELAY_MS } from "../../src/sync/sync-manager.ts";
import { describeLifecycle } from "../lifecycle-suite.ts";
import { holds, nextSyncEvent, SyncCluster, type SyncNode, text } from "./service-helpers.ts";

const topic = Topic.fromName("sync-service/runtime");
let cluster: SyncCluster | undefined;

afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

describeLifecycle("SyncService", async () => {
  const own = new SyncCluster();
  const node = await own.add();
  return {
    service: node.sync,
    use: () => node.sync.stream(topic),
    dispose: () => own.stop(),
  };
});

describe("SyncStoppedError stays the sync service's stopped error", () => {
  it("is a ServiceStoppedError with its own code", () => {
    const error = new SyncStoppedError();
    expect(error).toBeInstanceOf(ServiceStoppedError);
    expect(error.code).toBe("SYNC_STOPPED");
    expect(new SyncStoppedError("sync handle is closed").message).toBe("sync handle is closed");
  });

  it("is what stream() throws after stop", async () => {
    cluster = new SyncCluster();
    const a = await cluster.add();
    await a.sync.stop();
    await expect(a.sync.stream(topic)).rejects.toMatchObject({ code: "SYNC_STOPPED" });
  });
});

/** Two nodes on one virtual runtime; `a` has the smaller id, so it initiates. */
async function pair() {
  const runtime = new VirtualRuntime();
  cluster = new SyncCluster();
  const n1 = await cluster.add({ runtime, retryDelayMs: DEFAULT_SYNC_RETRY_DELAY_MS });
  const n2 = await cluster.add({ runtime, retryDelayMs: DEFAULT_SYNC_RETRY_DELAY_MS });
  const [a, b] = n1.id < n2.id ? [n1, n2] : [n2, n1];
  return { runtime, a: a as SyncNode, b: b as SyncNode };
}

describe("in virtual time", () => {
  it("failed_sync_session_retry: a failed session is retried after 5 s, not before", async () => {
    const { runtime, a, b } = await pair();
    let failures = 1;
    const heights = a.logStore.heights.bind(a.logStore);
    a.logStore.heights = async (logs) => {
      if (failures-- > 0) throw new Error("disk hiccup");
      return heights(logs);
    };
    const ha = await a.sync.stream(topic, { liveMode: false });
    const hb = await b.sync.stream(topic, { liveMode: false });
    await ha.publish(text("after retry"));
    const scheduled = nextSyncEvent(a, (e) => e.type === "sync:retry-scheduled");
    await cluster?.meshKnown(topic);
    expect(await scheduled).toMatchObject({ remote: b.id, delayMs: 5_000, at: 0 });
    await runtime.advance(DEFAULT_SYNC_RETRY_DELAY_MS - 1);
    expect(a.sync.metrics).toMatchObject({ retries: 0, sessionsInitiated: 1 });
    expect(await hb.operations()).toHaveLength(0);
    await runtime.advance(1);
    expect(a.sync.metrics).toMatchObject({ retries: 1, sessionsInitiated: 2 });
    await holds(hb, 1);
  });

  it("a peer at fault gets no session from us for the whole 60 s cool-down, then syncs", async () => {
    const { runtime, a, b } = await pair();
    const ha = await a.sync.stream(topic);
    const refused = nextSyncEvent(a, (e) => e.type === "sync:peer-refused");
    const evil = await cluster?.network.endpoint(b.id).connect(a.id, ProtocolName.logSync);
    await evil?.send({ not: "a sync message" });
    expect(await refused).toMatchObject({ remote: b.id, until: DEFAULT_SYNC_COOL_DOWN_MS });
    await runtime.advance(10_000);
    const scheduled = nextSyncEvent(a, (e) => e.type === "sync:retry-scheduled");
    const hb = await b.sync.stream(topic);
    await cluster?.meshKnown(topic);
    // What is left of the cool-down, not the 5 s of an honest failure.
    expect(await scheduled).toMatchObject({ remote: b.id, delayMs: 50_000 });
    await ha.publish(text("after the cool-down"));
    await runtime.advance(49_999);
    expect(a.sync.isCoolingDown(b.id)).toBe(true);
    expect(a.sync.metrics.sessionsInitiated).toBe(0);
    await runtime.advance(1);
    expect(a.sync.isCoolingDown(b.id)).toBe(false);
    expect(a.sync.metrics.sessionsInitiated).toBe(1);
    await holds(hb, 1);
  });

  it("a retry pending when the topic closes never fires", async () => {
    const { runtime, a, b } = await pair();
    let failures = 1;
    const heights = a.logStore.heights.bind(a.logStore);
    a.logStore.heights = async (logs) => {
      if (failures-- > 0) throw new Error("disk hiccup");
      return heights(logs);
    };
    const ha = await a.sync.stream(topic, { liveMode: false });
    await b.sync.stream(topic, { liveMode: false });
    const scheduled = nextSyncEvent(a, (e) => e.type === "sync:retry-scheduled");
    await cluster?.meshKnown(topic);
    await scheduled;
    await ha.close();
    await runtime.advance(DEFAULT_SYNC_RETRY_DELAY_MS * 2);
    expect(a.sync.metrics).toMatchObject({ retries: 0, sessionsInitiated: 1 });
  });
});

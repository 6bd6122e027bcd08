// The sync seam made real: a second protocol (last-writer-wins key/value, test/sync/lww-kv-
// protocol.ts) runs through the same SyncService, manager and memory endpoint as log sync.
import { filter, firstValueFrom, timeout } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import type { NodeId } from "../../src/ids/node-id.ts";
import { Topic } from "../../src/ids/topic.ts";
import type { SyncServiceEvent } from "../../src/sync/service-events.ts";
import { SyncService } from "../../src/sync/sync-service.ts";
import { GossipCluster } from "../gossip/service-helpers.ts";
import { seededIdentity } from "./helpers.ts";
import {
  KV_STREAM_PROTOCOL,
  type KvEntry,
  type KvEvent,
  type KvWrite,
  type KvWriteOptions,
  LwwKvProtocol,
} from "./lww-kv-protocol.ts";

type KvSync = SyncService<KvEntry, KvEvent, KvWrite, KvWriteOptions>;

interface KvNode {
  readonly id: NodeId;
  readonly protocol: LwwKvProtocol;
  readonly sync: KvSync;
  readonly events: SyncServiceEvent<KvEvent>[];
}

const topic = Topic.fromName("lww-kv");

class KvCluster {
  readonly gossip = new GossipCluster();
  readonly nodes: KvNode[] = [];

  async add(): Promise<KvNode> {
    const identity = await seededIdentity(this.nodes.length + 1);
    const id = identity.nodeId;
    const base = await this.gossip.add({ identity });
    const protocol = new LwwKvProtocol(id);
    const sync: KvSync = new SyncService({
      endpoint: this.gossip.network.endpoint(id),
      gossip: base.gossip,
      protocol,
      retryDelayMs: 100,
    });
    const node: KvNode = { id, protocol, sync, events: [] };
    sync.events$.subscribe((e) => node.events.push(e));
    this.nodes.push(node);
    return node;
  }

  /** `who` learns that `about` syncs the topic (what discovery would tell it). */
  async learn(who: KvNode, about: KvNode): Promise<void> {
    const base = (node: KvNode) => this.gossip.nodes.find((n) => n.id === node.id);
    const [w, a] = [base(who), base(about)];
    if (w === undefined || a === undefined) throw new Error("not in this cluster");
    await this.gossip.learn(w, a, topic);
  }

  async meshKnown(): Promise<void> {
    for (const a of this.nodes) for (const b of this.nodes) if (a !== b) await this.learn(a, b);
  }

  async stop(): Promise<void> {
    for (const node of this.nodes) await node.sync.stop();
    await this.gossip.stop();
  }
}

let cluster: KvCluster | undefined;

afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

function nextEvent(
  node: KvNode,
  predicate: (e: SyncServiceEvent<KvEvent>) => boolean,
  ms = 5_000,
): Promise<SyncServiceEvent<KvEvent>> {
  return firstValueFrom(node.sync.events$.pipe(filter(predicate), timeout(ms)));
}

/** The map as `node` holds it: key → value. */
async function map(node: KvNode): Promise<Record<string, string>> {
  const entries = await node.sync.protocol.items(topic);
  return Object.fromEntries(entries.map((e) => [e.key, e.value]));
}

async function pair(): Promise<{ a: KvNode; b: KvNode }> {
  cluster = new KvCluster();
  const [n1, n2] = [await cluster.add(), await cluster.add()];
  const [a, b] = n1.id < n2.id ? [n1, n2] : [n2, n1];
  return { a: a as KvNode, b: b as KvNode };
}

describe("a last-writer-wins key/value protocol through the same SyncService", () => {
  it("catch-up: what each side wrote before they met is on both sides after their session", async () => {
    const { a, b } = await pair();
    const ha = await a.sync.stream(topic, { liveMode: false });
    const hb = await b.sync.stream(topic, { liveMode: false });
    await ha.publish({ key: "title", value: "minutes" });
    await ha.publish({ key: "date", value: "monday" });
    await hb.publish({ key: "place", value: "library" });
    const finished = nextEvent(b, (e) => e.type === "kv:received" && e.entry.key === "date");
    await cluster?.meshKnown();
    await finished;
    await expect.poll(() => map(a)).toEqual({ title: "minutes", date: "monday", place: "library" });
    expect(await map(b)).toEqual(await map(a));
    // The sessions ran on the key/value stream protocol, initiated by the smaller id only.
    expect(a.sync.metrics.sessionsInitiated).toBe(1);
    expect(b.sync.metrics.sessionsInitiated).toBe(0);
    expect((await hb.operations()).map((e) => e.writer).sort()).toEqual([a.id, a.id, b.id].sort());
  });

  it("live updates: a write after catching up reaches the peer without a new session", async () => {
    const { a, b } = await pair();
    const ha = await a.sync.stream(topic);
    await b.sync.stream(topic);
    const live = Promise.all([
      nextEvent(a, (e) => e.type === "kv:live-started"),
      nextEvent(b, (e) => e.type === "kv:live-started"),
    ]);
    await cluster?.meshKnown();
    await live;
    const arrived = nextEvent(b, (e) => e.type === "kv:received");
    await ha.publish({ key: "cursor", value: "line 12" });
    expect(await arrived).toMatchObject({ remote: a.id, entry: { key: "cursor", writer: a.id } });
    expect(await map(b)).toEqual({ cursor: "line 12" });
    expect(a.sync.metrics.sessionsInitiated + b.sync.metrics.sessionsInitiated).toBe(1);
  });

  it("live forwarding: a write reaches a third node through the middle one", async () => {
    cluster = new KvCluster();
    const [a, b, c] = [await cluster.add(), await cluster.add(), await cluster.add()];
    cluster.gossip.network.setReachable(a.id, c.id, false);
    await cluster.learn(a, b);
    await cluster.learn(c, b);
    const ha = await a.sync.stream(topic);
    await b.sync.stream(topic);
    await c.sync.stream(topic);
    await expect.poll(() => b.sync.sessions().filter((s) => s.phase === "live").length).toBe(2);
    const arrived = nextEvent(c, (e) => e.type === "kv:received");
    await ha.publish({ key: "via", value: "b" });
    expect(await arrived).toMatchObject({ remote: b.id, entry: { writer: a.id } });
    expect(b.sync.metrics.operationsForwarded).toBe(1);
  });

  it("conflicting writes resolve the same on both sides: the later write, then the larger writer id", async () => {
    const { a, b } = await pair();
    const ha = await a.sync.stream(topic, { liveMode: false });
    const hb = await b.sync.stream(topic, { liveMode: false });
    // Same key, written on both sides before they met.
    await ha.publish({ key: "colour", value: "red" }, { timestamp: 200 });
    await hb.publish({ key: "colour", value: "blue" }, { timestamp: 100 });
    // A tie in time: the writer with the larger id (b) wins.
    await ha.publish({ key: "size", value: "small" }, { timestamp: 300 });
    await hb.publish({ key: "size", value: "large" }, { timestamp: 300 });
    await cluster?.meshKnown();
    const expected = { colour: "red", size: "large" };
    await expect.poll(() => map(a)).toEqual(expected);
    await expect.poll(() => map(b)).toEqual(expected);
  });

  it("malformed input from a remote ends only that session, and puts the remote on cool-down", async () => {
    const { a, b } = await pair();
    const ha = await a.sync.stream(topic);
    await b.sync.stream(topic);
    const live = nextEvent(b, (e) => e.type === "kv:live-started");
    await cluster?.meshKnown();
    await live;
    const mallory = (await seededIdentity(99)).nodeId;
    const failed = nextEvent(a, (e) => e.type === "kv:failed");
    const refused = nextEvent(a, (e) => e.type === "sync:peer-refused");
    const evil = await cluster?.gossip.network.endpoint(mallory).connect(a.id, KV_STREAM_PROTOCOL);
    await evil?.send(["topic", topic]);
    await evil?.receive();
    await evil?.send(["entries", [["key", 7, "not a timestamp", "x"]]]);
    expect(await failed).toMatchObject({ remote: mallory });
    expect(await refused).toMatchObject({ remote: mallory, code: "DECODE_ERROR" });
    expect(a.sync.isCoolingDown(mallory)).toBe(true);
    expect(await map(a)).toEqual({});
    // The session with b goes on.
    const arrived = nextEvent(b, (e) => e.type === "kv:received");
    await ha.publish({ key: "still", value: "here" });
    await arrived;
    expect(a.sync.sessions().map((s) => s.remote)).toEqual([b.id]);
  });
});

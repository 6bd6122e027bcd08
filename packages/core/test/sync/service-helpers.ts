import { filter, firstValueFrom, merge, of, switchMap, timeout } from "rxjs";
import type { Identity } from "../../src/identity/identity.ts";
import type { Topic } from "../../src/ids/topic.ts";
import type { SyncServiceEvent } from "../../src/sync/service-events.ts";
import type { LogStore } from "../../src/sync/store/log-store.ts";
import { MemoryLogStore, MemoryTopicStore } from "../../src/sync/store/memory.ts";
import type { TopicStore } from "../../src/sync/store/topic-store.ts";
import type { SyncHandle } from "../../src/sync/sync-handle.ts";
import type { SyncService, SyncServiceOptions } from "../../src/sync/sync-service.ts";
import { type ClusterNode, GossipCluster } from "../gossip/service-helpers.ts";
import { seededIdentity } from "./helpers.ts";

/** A node with gossip, sync and memory stores. */
export interface SyncNode extends ClusterNode {
  readonly identity: Identity;
  readonly logStore: LogStore;
  readonly topicStore: TopicStore;
  readonly sync: SyncService;
  readonly syncEvents: SyncServiceEvent[];
}

/** Nodes with gossip and sync (made by createNode) on one in-process memory network. */
export class SyncCluster {
  readonly gossip = new GossipCluster();
  readonly nodes: SyncNode[] = [];

  get network() {
    return this.gossip.network;
  }

  async add(
    options: { logStore?: LogStore; topicStore?: TopicStore; seed?: number } & Partial<
      Pick<SyncServiceOptions, "retryDelayMs" | "coolDownMs" | "clock" | "runtime">
    > = {},
  ): Promise<SyncNode> {
    const identity = await seededIdentity(options.seed ?? this.nodes.length + 1);
    const logStore = options.logStore ?? new MemoryLogStore();
    const topicStore = options.topicStore ?? new MemoryTopicStore();
    const base = await this.gossip.add({
      identity,
      sync: {
        stores: { logStore, topicStore },
        retryDelayMs: options.retryDelayMs ?? 100,
        ...(options.coolDownMs !== undefined ? { coolDownMs: options.coolDownMs } : {}),
        ...(options.clock !== undefined ? { clock: options.clock } : {}),
        ...(options.runtime !== undefined ? { runtime: options.runtime } : {}),
      },
    });
    const sync = base.node.sync;
    const node: SyncNode = { ...base, identity, logStore, topicStore, sync, syncEvents: [] };
    sync.events$.subscribe((e) => node.syncEvents.push(e));
    this.nodes.push(node);
    return node;
  }

  /** Every node learns every other node's interest in `topic` (what discovery would do). */
  async meshKnown(topic: Topic, nodes: readonly SyncNode[] = this.nodes): Promise<void> {
    for (const a of nodes) for (const b of nodes) if (a !== b) await this.gossip.learn(a, b, topic);
  }

  async stop(): Promise<void> {
    // Every sync first, as the nodes' stop would do one node at a time.
    for (const node of this.nodes) await node.sync.stop();
    await this.gossip.stop();
  }
}

/** Resolves once `handle` holds at least `count` operations (checked on every received one). */
export async function holds(handle: SyncHandle, count: number, ms = 10_000): Promise<void> {
  await firstValueFrom(
    merge(of(null), handle.events$.pipe(filter((e) => e.type === "sync:operation-received"))).pipe(
      switchMap(async () => (await handle.operations()).length),
      filter((n) => n >= count),
      timeout(ms),
    ),
  );
}

/** The first event of `node` matching `predicate` from now on. */
export function nextSyncEvent(
  node: SyncNode,
  predicate: (e: SyncServiceEvent) => boolean,
  ms = 10_000,
): Promise<SyncServiceEvent> {
  return firstValueFrom(node.sync.events$.pipe(filter(predicate), timeout(ms)));
}

export const text = (s: string) => new TextEncoder().encode(s);
export const untext = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

import { type MessageChannel, memoryChannelPair } from "../../src/codec/message-channel.ts";
import { Identity } from "../../src/identity/identity.ts";
import type { NodeId } from "../../src/ids/node-id.ts";
import type { Topic } from "../../src/ids/topic.ts";
import type { SyncEvent } from "../../src/sync/events.ts";
import { logKey } from "../../src/sync/log-heights.ts";
import type { LogId } from "../../src/sync/log-id.ts";
import {
  decodeSyncMessage,
  encodeSyncMessage,
  type TopicSyncMessage,
} from "../../src/sync/messages.ts";
import type { SyncMetrics } from "../../src/sync/metrics.ts";
import { createOperation, type Operation } from "../../src/sync/operation.ts";
import { SyncSession, type SyncSessionOptions } from "../../src/sync/session.ts";
import { MemoryLogStore, MemoryTopicStore } from "../../src/sync/store/memory.ts";

/** An identity from a one-byte seed pattern, so tests are reproducible. */
export function seededIdentity(seed: number): Promise<Identity> {
  return Identity.fromSecretKey(new Uint8Array(32).fill(seed));
}

/** A node with its own stores that writes signed logs. */
export class Peer {
  readonly identity: Identity;
  readonly logStore = new MemoryLogStore();
  readonly topicStore = new MemoryTopicStore();
  readonly #tips = new Map<string, Operation>();
  #clock = 1_700_000_000_000_000;

  private constructor(identity: Identity) {
    this.identity = identity;
  }

  static async create(seed: number): Promise<Peer> {
    return new Peer(await seededIdentity(seed));
  }

  get id(): NodeId {
    return this.identity.nodeId;
  }

  /** Creates the next operation of one of our logs without storing it. */
  async next(payload: Uint8Array | string | undefined, logId: LogId = 0): Promise<Operation> {
    const key = logKey(this.id, logId);
    const tip = this.#tips.get(key);
    const body = typeof payload === "string" ? new TextEncoder().encode(payload) : payload;
    const op = await createOperation(this.identity, {
      ...(body !== undefined ? { payload: body } : {}),
      logId,
      seqNum: tip === undefined ? 0 : tip.header.seqNum + 1,
      ...(tip !== undefined ? { backlink: tip.hash } : {}),
      timestamp: this.#clock++,
    });
    this.#tips.set(key, op);
    return op;
  }

  /** Creates, stores and associates with `topic` the next operation of one of our logs. */
  async write(
    payload: Uint8Array | string | undefined,
    logId: LogId = 0,
    topic?: Topic,
  ): Promise<Operation> {
    const op = await this.next(payload, logId);
    await this.logStore.putMany([op]);
    if (topic !== undefined) await this.topicStore.associate(topic, this.id, logId);
    return op;
  }

  /** A session of this peer. */
  session(options: Partial<SyncSessionOptions> & Pick<SyncSessionOptions, "role">): SyncSession {
    return new SyncSession({ logStore: this.logStore, topicStore: this.topicStore, ...options });
  }
}

/** Collects a session's events (subscribe before running). */
export function collect(session: SyncSession): SyncEvent[] {
  const events: SyncEvent[] = [];
  session.events$.subscribe((e) => events.push(e));
  return events;
}

/** The event types in order. */
export function types(events: readonly SyncEvent[]): string[] {
  return events.map((e) => e.type);
}

/** Runs two sessions against each other over a memory channel pair. */
export async function runPair(
  a: SyncSession,
  b: SyncSession,
  aId: NodeId,
  bId: NodeId,
  options?: { receiveTimeoutMs?: number },
): Promise<[SyncMetrics, SyncMetrics]> {
  const [ca, cb] = memoryChannelPair(aId, bId, options);
  return Promise.all([a.run(ca), b.run(cb)]);
}

export type Scripted = [string, ...unknown[]] | TopicSyncMessage;

/**
 * Runs `session` against a scripted remote: the script's messages (wire form or message
 * objects) are sent up front, then the remote half-closes; everything the session sends is
 * collected until it ends. Returns the session's outcome and what it sent.
 */
export async function runScripted(
  session: SyncSession,
  script: readonly Scripted[],
  options: { receiveTimeoutMs?: number; keepOpen?: boolean; local?: NodeId; remote?: NodeId } = {},
): Promise<{ metrics?: SyncMetrics; error?: Error; sent: TopicSyncMessage[] }> {
  const local = options.local ?? ("aa".repeat(32) as NodeId);
  const remote = options.remote ?? ("bb".repeat(32) as NodeId);
  const [mine, theirs] = memoryChannelPair(local, remote, {
    receiveTimeoutMs: options.receiveTimeoutMs ?? 5_000,
  });
  const running = session.run(mine).then(
    (metrics) => ({ metrics }),
    (error: Error) => ({ error }),
  );
  for (const m of script) {
    const wire = Array.isArray(m) ? m : encodeSyncMessage(m as TopicSyncMessage);
    await theirs.send(wire).catch(() => {});
  }
  if (!options.keepOpen) await theirs.close().catch(() => {});
  const sent = await drain(theirs);
  const outcome = await running;
  return { ...outcome, sent };
}

async function drain(channel: MessageChannel): Promise<TopicSyncMessage[]> {
  const out: TopicSyncMessage[] = [];
  for (;;) {
    let value: unknown;
    try {
      value = await channel.receive();
    } catch {
      return out;
    }
    if (value === undefined) return out;
    out.push(decodeSyncMessage(value, { maxLogsInHave: 1_000_000 }));
  }
}

/** The handshake an initiating remote sends before anything else. */
export function handshake(topic: Topic): TopicSyncMessage[] {
  return [{ type: "topic", topic }, { type: "done" }];
}

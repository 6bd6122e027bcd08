// A measurable log catch-up between two tabs, apart from the chat: the sending tab fills a fresh
// IndexedDB database with one signed log, the receiving tab syncs it into another fresh
// database over whatever connection the two have (WebRTC between tabs). For the benchmarks and
// the devtools console; the chat's own stores are never touched.
import type { Identity, NodeId } from "@p2panda-web/core";
import { Topic } from "@p2panda-web/core";
import type { Endpoint } from "@p2panda-web/core/endpoint";
import { createOperation, type Operation, SyncSession } from "@p2panda-web/core/sync";
import { type IndexedDbSyncStores, openIndexedDbSyncStores } from "@p2panda-web/log-store";

/** The protocol the receiving tab serves (a plain log-sync session under another name). */
export const CATCH_UP_PROTOCOL = "demo/catch-up/v1";
/**
 * The catch-up's topic, derived on first use: `Topic.fromName` runs scrypt (~0.1 s on a laptop,
 * 0.3 s on a loaded machine), which at module load held up every page's start for a benchmark
 * hook that most loads never call.
 */
const catchUpTopic = (): Topic => Topic.fromName("p2panda-web demo catch-up");
const RECEIVE_TIMEOUT_MS = 60_000;
const BATCH = 128;

/** What the receiving tab measured of one catch-up. */
export interface CatchUpResult {
  /** Operations validated and written to IndexedDB. */
  readonly stored: number;
  /** From the stream's arrival until the session ended (everything durable). */
  readonly ms: number;
  readonly opsPerSecond: number;
}

/** A log written by {@link fillLog}, ready to be sent. */
export interface FilledLog {
  readonly operations: number;
  /** Signing and writing it to IndexedDB. */
  readonly ms: number;
}

let filled: { stores: IndexedDbSyncStores; name: string } | undefined;
let resolveReceived: ((result: CatchUpResult) => void) | undefined;
let rejectReceived: ((error: unknown) => void) | undefined;

function freshName(kind: string): string {
  return `p2panda-demo-catch-up-${kind}-${crypto.randomUUID()}`;
}

async function dropDatabase(stores: IndexedDbSyncStores, name: string): Promise<void> {
  await stores.close();
  await new Promise<void>((resolve) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = () => resolve();
    request.onerror = () => resolve();
    request.onblocked = () => resolve();
  });
}

/** Serves {@link CATCH_UP_PROTOCOL}: each session syncs into a fresh database, then deletes it. */
export function serveCatchUp(endpoint: Endpoint): void {
  endpoint.accept(
    CATCH_UP_PROTOCOL,
    async (channel) => {
      const started = performance.now();
      const name = freshName("received");
      const stores = await openIndexedDbSyncStores(name, { persist: false });
      const resolve = resolveReceived;
      const reject = rejectReceived;
      resolveReceived = undefined;
      rejectReceived = undefined;
      try {
        const session = new SyncSession({
          role: "acceptor",
          logStore: stores.logStore,
          topicStore: stores.topicStore,
        });
        const metrics = await session.run(channel);
        const ms = performance.now() - started;
        resolve?.({
          stored: metrics.storedOperations,
          ms,
          opsPerSecond: metrics.storedOperations / (ms / 1000),
        });
      } catch (error) {
        reject?.(error);
        throw error;
      } finally {
        await dropDatabase(stores, name);
      }
    },
    { receiveTimeoutMs: RECEIVE_TIMEOUT_MS },
  );
}

/** Resolves with the result of the next catch-up this tab receives. */
export function nextReceived(): Promise<CatchUpResult> {
  return new Promise<CatchUpResult>((resolve, reject) => {
    resolveReceived = resolve;
    rejectReceived = reject;
  });
}

/** Signs `count` operations with 100-byte payloads into a fresh database of this tab. */
export async function fillLog(identity: Identity, count: number): Promise<FilledLog> {
  if (filled !== undefined) throw new Error("a filled log is already waiting to be sent");
  const started = performance.now();
  const name = freshName("sent");
  const stores = await openIndexedDbSyncStores(name, { persist: false });
  await stores.topicStore.associate(catchUpTopic(), identity.nodeId, 0);
  const firstTimestamp = Date.now() * 1000; // microseconds
  let previous: Operation | undefined;
  let batch: Operation[] = [];
  for (let seqNum = 0; seqNum < count; seqNum++) {
    const payload = new Uint8Array(100);
    new DataView(payload.buffer).setUint32(0, seqNum);
    previous = await createOperation(identity, {
      payload,
      seqNum,
      ...(previous !== undefined ? { backlink: previous.hash } : {}),
      timestamp: firstTimestamp + seqNum,
    });
    batch.push(previous);
    if (batch.length === BATCH) {
      await stores.logStore.putMany(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await stores.logStore.putMany(batch);
  filled = { stores, name };
  return { operations: count, ms: performance.now() - started };
}

/** Sends the log from {@link fillLog} to `remote` (which serves the protocol); then drops it. */
export async function sendLog(endpoint: Endpoint, remote: NodeId): Promise<void> {
  const log = filled;
  if (log === undefined) throw new Error("call fillLog first");
  filled = undefined;
  const { stores, name } = log;
  try {
    const channel = await endpoint.connect(remote, CATCH_UP_PROTOCOL, {
      receiveTimeoutMs: RECEIVE_TIMEOUT_MS,
    });
    await new SyncSession({
      role: "initiator",
      topic: catchUpTopic(),
      logStore: stores.logStore,
      topicStore: stores.topicStore,
    }).run(channel);
  } finally {
    await dropDatabase(stores, name);
  }
}

// The log-store workload, shared by the Node benchmark (memory, SQLite) and Chromium (memory,
// IndexedDB, through bench/browser.ts). Imports nothing Node-only.
import { Identity, memoryChannelPair, Topic } from "@p2panda-web/core";
import {
  type LogStore,
  MemoryLogStore,
  MemoryTopicStore,
  type Operation,
  SyncSession,
  type TopicStore,
} from "@p2panda-web/core/sync";
import { openIndexedDbSyncStores } from "@p2panda-web/log-store";
import { signedLog } from "../packages/core/test/sync/signed-log.ts";

/** Operations per `putMany` in the write measurement (the session's default batch). */
export const WRITE_BATCH = 128;
/** Operations per `range` call in the read measurement (the session's default page). */
export const READ_PAGE = 256;
const PAYLOAD = 100;
const topic = Topic.fromName("log-store bench");

/** Stores to measure and how to dispose of them. */
export interface BenchStores {
  readonly logStore: LogStore;
  readonly topicStore: TopicStore;
  close(): Promise<void>;
}

/** Operations per second for one backend. */
export interface StoreResult {
  readonly writeOpsPerSecond: number;
  readonly readOpsPerSecond: number;
}

/** Catch-up between two nodes: operations stored by the reader per second. */
export interface CatchUpResult {
  readonly opsPerSecond: number;
  readonly seconds: number;
}

/** What the Chromium half measures. */
export interface ChromiumResult {
  readonly userAgent: string;
  readonly memory: StoreResult;
  readonly indexedDb: StoreResult;
  readonly catchUpMemory: CatchUpResult;
  readonly catchUpIndexedDb: CatchUpResult;
}

/** Operation count for a run. */
export function operationCount(quick: boolean): number {
  return quick ? 2_000 : 10_000;
}

/** One author's log of `n` signed operations with 100-byte payloads (made before timing). */
export function prepareOperations(n: number): Promise<{ author: Identity; ops: Operation[] }> {
  return signedLog(n, { payloadBytes: PAYLOAD });
}

/**
 * Fills an empty store with `ops` in sequential `putMany` batches of {@link WRITE_BATCH} (each
 * awaited, i.e. durable), then reads the whole log back in pages of {@link READ_PAGE} as a
 * sending session does.
 */
export async function measureStore(
  author: Identity,
  ops: readonly Operation[],
  stores: BenchStores,
): Promise<StoreResult> {
  const store = stores.logStore;
  let started = performance.now();
  for (let i = 0; i < ops.length; i += WRITE_BATCH) {
    await store.putMany(ops.slice(i, i + WRITE_BATCH));
  }
  const writeSeconds = (performance.now() - started) / 1000;
  started = performance.now();
  let read = 0;
  let after: number | undefined;
  for (;;) {
    const page = await store.range(author.nodeId, 0, after, undefined, READ_PAGE);
    read += page.length;
    if (page.length < READ_PAGE) break;
    after = page.at(-1)?.header.seqNum;
  }
  const readSeconds = (performance.now() - started) / 1000;
  if (read !== ops.length) throw new Error(`read ${read} of ${ops.length} operations`);
  await stores.close();
  return {
    writeOpsPerSecond: ops.length / writeSeconds,
    readOpsPerSecond: ops.length / readSeconds,
  };
}

/**
 * Catch-up of `ops` from a node holding them (`writer`, filled before timing) to an empty node
 * (`reader`): a full `SyncSession` pair over `memoryChannelPair` (framing, CBOR, validation with
 * Ed25519 verification, batched `putMany` into the reader's store). Timed until both sessions end.
 */
export async function measureCatchUp(
  author: Identity,
  ops: readonly Operation[],
  writer: BenchStores,
  reader: BenchStores,
): Promise<CatchUpResult> {
  for (let i = 0; i < ops.length; i += 1_000)
    await writer.logStore.putMany(ops.slice(i, i + 1_000));
  await writer.topicStore.associate(topic, author.nodeId, 0);
  const readerId = await Identity.fromSecretKey(new Uint8Array(32).fill(8));
  const initiator = new SyncSession({
    role: "initiator",
    topic,
    logStore: writer.logStore,
    topicStore: writer.topicStore,
  });
  const acceptor = new SyncSession({
    role: "acceptor",
    logStore: reader.logStore,
    topicStore: reader.topicStore,
  });
  const [a, b] = memoryChannelPair(author.nodeId, readerId.nodeId, { receiveTimeoutMs: 60_000 });
  const started = performance.now();
  const [, metrics] = await Promise.all([initiator.run(a), acceptor.run(b)]);
  const seconds = (performance.now() - started) / 1000;
  if (metrics.storedOperations !== ops.length) {
    throw new Error(`reader stored ${metrics.storedOperations} of ${ops.length}`);
  }
  await writer.close();
  await reader.close();
  return { opsPerSecond: ops.length / seconds, seconds };
}

/** Fresh memory stores. */
export function memoryStores(): BenchStores {
  return {
    logStore: new MemoryLogStore(),
    topicStore: new MemoryTopicStore(),
    close: async () => {},
  };
}

async function deleteDatabase(name: string): Promise<void> {
  await new Promise<void>((resolve) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = () => resolve();
    request.onerror = () => resolve();
    request.onblocked = () => resolve();
  });
}

/** The Chromium half: memory and IndexedDB stores, and catch-up between two IndexedDB nodes. */
export async function run(args: { quick: boolean }): Promise<ChromiumResult> {
  const { author, ops } = await prepareOperations(operationCount(args.quick));
  const prefix = `bench-log-store-${Date.now()}`;
  const memory = await measureStore(author, ops, memoryStores());
  const indexedDb = await measureStore(author, ops, await openIndexedDbSyncStores(`${prefix}-w`));
  const catchUpMemory = await measureCatchUp(author, ops, memoryStores(), memoryStores());
  const catchUpIndexedDb = await measureCatchUp(
    author,
    ops,
    await openIndexedDbSyncStores(`${prefix}-a`),
    await openIndexedDbSyncStores(`${prefix}-b`),
  );
  for (const suffix of ["w", "a", "b"]) await deleteDatabase(`${prefix}-${suffix}`);
  return { userAgent: navigator.userAgent, memory, indexedDb, catchUpMemory, catchUpIndexedDb };
}

// Sync catch-up into persistent stores over libp2p WebSockets (Node): verification on the main
// thread against a worker pool, measured against the single-core WebCrypto verify rate of the
// same run, and the peak heap a catch-up of 10,000 and 100,000 operations needs on its way from
// the stream into SQLite and into IndexedDB (fake-indexeddb).
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { GCProfiler, getHeapStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { AddressBook, memoryAddressBookStore } from "@p2panda-web/address-book";
import { Identity, ProtocolName, Topic, webCryptoEd25519 } from "@p2panda-web/core";
import type { Endpoint } from "@p2panda-web/core/endpoint";
import { createNodeEndpoint, createNodeVerifierPool } from "@p2panda-web/core/node";
import {
  type LogStore,
  type Operation,
  type SignatureVerifier,
  type SyncMetrics,
  SyncSession,
  type TopicStore,
  unsignedBytesOf,
} from "@p2panda-web/core/sync";
import { openIndexedDbSyncStores } from "@p2panda-web/log-store";
import { openSqliteSyncStores } from "@p2panda-web/log-store/sqlite";
import "fake-indexeddb/auto";
import { IDBFactory } from "fake-indexeddb";
import { signedLog } from "../packages/core/test/sync/signed-log.ts";

const topic = Topic.fromName("sync catch-up bench");
const RECEIVE_TIMEOUT_MS = 120_000;

/** `gc()` even without `--expose-gc`, so that heap deltas start from a clean heap. */
const gc: () => void = (() => {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
})();

type StoreKind = "SQLite" | "IndexedDB";

interface Stores {
  readonly logStore: LogStore;
  readonly topicStore: TopicStore;
  close(): Promise<void>;
}

interface Variant {
  readonly name: string;
  readonly verifier: () => SignatureVerifier & { close?: () => void };
  /** Batches in flight (0: each batch verified and stored before reading on, as before). */
  readonly inFlight?: number;
}

interface Row {
  n: number;
  store: StoreKind;
  variant: string;
  seconds: number;
  opsPerSecond: number;
  peakHeapMb: number;
  retainedHeapMb: number;
  workerChecks: number;
  /** CPU time of the whole process (both endpoints, every thread) per operation, in µs. */
  cpuMicrosPerOp: number;
}

/** Bytes in the JS heap (without `process.memoryUsage()`'s RSS read, too dear every 20 ms). */
function heapUsed(): number {
  return getHeapStatistics().used_heap_size;
}

/**
 * Highest heap use above the level at the start, in MB: read right before every garbage
 * collection (V8's `GCProfiler`: the heap is at its fullest just before one) and every 20 ms
 * (for the last stretch, which ends without a collection).
 */
function peakSampler(): { stop: () => { peakMb: number; base: number; collections: number } } {
  const base = heapUsed();
  let peak = base;
  const sample = (): void => {
    peak = Math.max(peak, heapUsed());
  };
  const timer = setInterval(sample, 20);
  const gcs = new GCProfiler();
  gcs.start();
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      const { statistics } = gcs.stop();
      for (const gc of statistics) peak = Math.max(peak, gc.beforeGC.heapStatistics.usedHeapSize);
      return { peakMb: (peak - base) / 1e6, base, collections: statistics.length };
    },
  };
}

/**
 * Sequential WebCrypto verifications of the operations' signatures: one core's rate, and the
 * CPU time (of every thread: WebCrypto verifies on libuv's pool) one verification takes.
 */
async function singleCoreVerifyRate(
  ops: readonly Operation[],
): Promise<{ perSecond: number; cpuMicros: number }> {
  const webCrypto = await webCryptoEd25519();
  if (webCrypto === undefined) throw new Error("this Node has no WebCrypto Ed25519");
  const started = performance.now();
  const cpu = process.cpuUsage();
  for (const op of ops) {
    const ok = await webCrypto.verify(
      op.header.verifyingKey,
      unsignedBytesOf(op.headerBytes),
      op.header.signature as Uint8Array,
    );
    if (!ok) throw new Error("bad signature in the bench log");
  }
  const used = process.cpuUsage(cpu);
  return {
    perSecond: ops.length / ((performance.now() - started) / 1000),
    cpuMicros: (used.user + used.system) / ops.length,
  };
}

/** The writer's log, in a SQLite file of its own, and a sample of its operations. */
interface WriterLog {
  readonly store: LogStore;
  readonly topics: TopicStore;
  /** The first operations (at most 10,000), for the verify rate and the pools' warm-up. */
  readonly sample: readonly Operation[];
  /** How many operations the log holds. */
  readonly operations: number;
  close(): Promise<void>;
}

/**
 * `n` signed operations of one log in a SQLite database: the writer serves its catch-ups from
 * disk, so its log is not in the JS heap (a log of 100,000 in a memory store would be ~100 MB of
 * heap whose size alone lets V8 defer collection by as much, and the peak would measure that).
 */
async function writerLog(n: number, dir: string, name: string): Promise<WriterLog> {
  const stores = await openSqliteSyncStores(join(dir, `${name}.sqlite`));
  const { author, ops } = await signedLog(n);
  await stores.topicStore.associate(topic, author.nodeId, 0);
  for (let i = 0; i < ops.length; i += 1_000)
    await stores.logStore.putMany(ops.slice(i, i + 1_000));
  return {
    store: stores.logStore,
    topics: stores.topicStore,
    sample: ops.slice(0, 10_000),
    operations: n,
    close: () => stores.close(),
  };
}

async function openStores(kind: StoreKind, dir: string, run: number): Promise<Stores> {
  if (kind === "SQLite") return openSqliteSyncStores(join(dir, `reader-${run}.sqlite`));
  return openIndexedDbSyncStores(`reader-${run}`, { indexedDB: new IDBFactory() });
}

async function endpointPair(): Promise<{
  reader: Endpoint;
  writer: Endpoint;
  close: () => Promise<void>;
}> {
  const books = [
    await AddressBook.open(memoryAddressBookStore()),
    await AddressBook.open(memoryAddressBookStore()),
  ] as const;
  // A machine loaded far beyond its cores can hold the event loop past the default 3 s ping
  // timeout, and a ping still open when the next is due fails that one at once (libp2p allows
  // one outbound ping stream), which aborts the connection: these endpoints ping every 30 s
  // and give a ping 25 s, so that a slow run is measured, not cut off.
  const make = async (addressBook: AddressBook) =>
    createNodeEndpoint({
      identity: await Identity.generate(),
      addressBook,
      allowPrivateAddresses: true,
      tcpPort: false,
      webrtcDirectPort: false,
      relay: false,
      liveness: { pingIntervalMs: 30_000, pingTimeoutMs: 25_000 },
    });
  const reader = await make(books[0]);
  const writer = await make(books[1]);
  const info = reader.transportInfo();
  if (info === undefined) throw new Error("reader has no transport info");
  await books[1].insertTransportInfo(reader.nodeId, info);
  await writer.dial(reader.nodeId);
  return {
    reader,
    writer,
    close: async () => {
      await writer.stop();
      await reader.stop();
      for (const book of books) await book.close();
    },
  };
}

/** One catch-up of the writer's log into `stores` over a fresh log-sync stream. */
async function catchUp(
  pair: Awaited<ReturnType<typeof endpointPair>>,
  writer: WriterLog,
  stores: Stores,
  verifier: SignatureVerifier,
  inFlight: number | undefined,
  /** Collect garbage every this many ms and report the highest heap left after it. */
  gcEveryMs?: number,
): Promise<{
  seconds: number;
  stored: number;
  peakMb: number;
  base: number;
  liveMb: number;
  cpuMicros: number;
}> {
  let accepted!: Promise<SyncMetrics>;
  const started = new Promise<void>((resolve) => {
    pair.reader.accept(
      ProtocolName.logSync,
      async (channel) => {
        const session = new SyncSession({
          role: "acceptor",
          logStore: stores.logStore,
          topicStore: stores.topicStore,
          verifier,
          ...(inFlight !== undefined ? { maxBatchesInFlight: inFlight } : {}),
        });
        accepted = session.run(channel);
        resolve();
        await accepted;
      },
      { receiveTimeoutMs: RECEIVE_TIMEOUT_MS },
    );
  });
  gc();
  const sampler = peakSampler();
  let liveMax = heapUsed();
  const collector =
    gcEveryMs === undefined
      ? undefined
      : setInterval(() => {
          gc();
          liveMax = Math.max(liveMax, heapUsed());
        }, gcEveryMs);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  try {
    const channel = await pair.writer.connect(pair.reader.nodeId, ProtocolName.logSync, {
      receiveTimeoutMs: RECEIVE_TIMEOUT_MS,
    });
    const sending = new SyncSession({
      role: "initiator",
      topic,
      logStore: writer.store,
      topicStore: writer.topics,
    }).run(channel);
    await started;
    const [sent, got] = await Promise.allSettled([sending, accepted]);
    if (got.status === "rejected")
      throw new Error(`reader: ${String(got.reason)}`, { cause: got.reason });
    if (sent.status === "rejected")
      throw new Error(`writer: ${String(sent.reason)}`, { cause: sent.reason });
    const metrics = got.value;
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const { peakMb, base } = sampler.stop();
    const liveMb = (liveMax - base) / 1e6;
    return {
      seconds,
      stored: metrics.storedOperations,
      peakMb,
      base,
      liveMb,
      cpuMicros: cpu.user + cpu.system,
    };
  } finally {
    if (collector !== undefined) clearInterval(collector);
    await pair.reader.unaccept(ProtocolName.logSync);
  }
}

export { catchUp, endpointPair, openStores, writerLog };

export async function run(options: {
  quick: boolean;
}): Promise<{ title: string; markdown: string }> {
  const sizes = options.quick ? [2_000] : [10_000, 100_000];
  const webCrypto = await webCryptoEd25519();
  if (webCrypto === undefined) throw new Error("this Node has no WebCrypto Ed25519");
  const pools: { close(): void }[] = [];
  const pool = (size: number) => () => {
    const p = createNodeVerifierPool({ size });
    pools.push(p);
    return p;
  };
  const variants: Variant[] = [
    {
      name: "main thread, one batch at a time (as before)",
      verifier: () => webCrypto,
      inFlight: 0,
    },
    {
      name: "main thread, pipelined (default: up to 4 batches in flight)",
      verifier: () => webCrypto,
    },
    { name: "pool of 1 worker", verifier: pool(1) },
    { name: "pool of 2 workers", verifier: pool(2) },
  ];
  const dir = mkdtempSync(join(tmpdir(), "p2panda-bench-sync-catch-up-"));
  const rows: Row[] = [];
  const failures: string[] = [];
  let verifyRate = 0;
  let verifyCpuMicros = 0;
  let runs = 0;
  const writers: WriterLog[] = [];
  const held: { n: number; liveMb: number }[] = [];
  const loads: number[] = [loadavg()[0] ?? 0];
  try {
    for (const n of sizes) {
      const writer = await writerLog(n, dir, `writer-${n}`);
      if (verifyRate === 0) {
        const verify = await singleCoreVerifyRate(writer.sample);
        verifyRate = verify.perSecond;
        verifyCpuMicros = verify.cpuMicros;
      }
      const warm = await writerLog(1_000, dir, `warm-${n}`);
      writers.push(writer, warm);
      for (const store of ["SQLite", "IndexedDB"] as const) {
        // Into fake-indexeddb, and at 100,000, only what a node runs by default (the pipelined
        // main thread) and what it did before: the machine is shared, every run takes minutes.
        const chosen =
          store === "IndexedDB"
            ? variants.slice(1, 2)
            : n >= 100_000
              ? variants.slice(0, 2)
              : variants;
        for (const variant of chosen) {
          const stores = await openStores(store, dir, runs++);
          const verifier = variant.verifier();
          // A pool's workers start (and compile) before timing, as after a node's first sync.
          await verifier.verifyMany?.(
            writer.sample.slice(0, 64).map((op) => ({
              publicKey: op.header.verifyingKey,
              message: unsignedBytesOf(op.headerBytes),
              signature: op.header.signature as Uint8Array,
            })),
          );
          // Every run on a connection of its own, after an untimed warm-up catch-up on it
          // (JIT, yamux windows): a second long catch-up on one connection of this process
          // failed now and then on the loaded machine (a liveness ping timed out).
          const pair = await endpointPair();
          let r: Awaited<ReturnType<typeof catchUp>>;
          try {
            await catchUp(pair, warm, await openStores("SQLite", dir, runs++), webCrypto, 0);
            r = await catchUp(pair, writer, stores, verifier, variant.inFlight);
            if (r.stored !== n) throw new Error(`stored ${r.stored} of ${n}`);
          } catch (error) {
            failures.push(`${fmt(n)} → ${store}, ${variant.name}: ${String(error)}`);
            console.log(`  failed: ${failures.at(-1)}`);
            await stores.close().catch(() => {});
            verifier.close?.();
            continue;
          } finally {
            await pair.close().catch(() => {});
          }
          gc();
          const retainedHeapMb = (heapUsed() - r.base) / 1e6;
          await stores.close();
          const workerChecks =
            (verifier as { metrics?: { workerChecks: number } }).metrics?.workerChecks ?? 0;
          verifier.close?.();
          const row: Row = {
            n,
            store,
            variant: variant.name,
            seconds: r.seconds,
            opsPerSecond: n / r.seconds,
            peakHeapMb: r.peakMb,
            retainedHeapMb,
            workerChecks,
            cpuMicrosPerOp: r.cpuMicros / n,
          };
          rows.push(row);
          loads.push(loadavg()[0] ?? 0);
          console.log(
            `  ${fmt(n)} → ${store}, ${variant.name}: ${fmt(row.seconds, 2)} s, ${fmt(row.opsPerSecond)} ops/s (${fmt(row.opsPerSecond / verifyRate, 2)}× verify), peak heap Δ ${fmt(row.peakHeapMb, 1)} MB, retained ${fmt(retainedHeapMb, 1)} MB, ${fmt(row.cpuMicrosPerOp)} µs CPU per operation`,
          );
        }
      }
    }
    // What a catch-up holds, without the garbage V8 has not collected yet: untimed runs into
    // SQLite with the default session, a forced GC every 2 s.
    for (const writer of writers.filter((w) => w.sample.length > 1_000)) {
      const n = writer.operations;
      const stores = await openStores("SQLite", dir, runs++);
      const pair = await endpointPair();
      try {
        const r = await catchUp(pair, writer, stores, webCrypto, undefined, 2_000);
        if (r.stored !== n) throw new Error(`stored ${r.stored} of ${n}`);
        held.push({ n, liveMb: r.liveMb });
        console.log(`  ${fmt(n)} → SQLite, held (GC every 2 s): ${fmt(r.liveMb, 1)} MB`);
      } catch (error) {
        failures.push(`${fmt(n)} → SQLite, held: ${String(error)}`);
      } finally {
        await pair.close().catch(() => {});
        await stores.close().catch(() => {});
      }
    }
  } finally {
    for (const p of pools) p.close();
    for (const w of writers) await w.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const table = [
    "| operations | into | verification | time (s) | ops/s | × single-core verify rate | process CPU per operation (µs) | peak heap Δ (MB) | retained after GC (MB) | peak − retained (MB) |",
    "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ...rows.map(
      (r) =>
        `| ${fmt(r.n)} | ${r.store} | ${r.variant} | ${fmt(r.seconds, 2)} | ${fmt(r.opsPerSecond)} | ${fmt(r.opsPerSecond / verifyRate, 2)}× | ${fmt(r.cpuMicrosPerOp)} | ${fmt(r.peakHeapMb, 1)} | ${fmt(r.retainedHeapMb, 1)} | ${fmt(r.peakHeapMb - r.retainedHeapMb, 1)} |`,
    ),
  ].join("\n");
  const heldTable = [
    "| operations | into | most heap held above the start, GC every 2 s (MB) |",
    "|---:|---|---:|",
    ...held.map((h) => `| ${fmt(h.n)} | SQLite | ${fmt(h.liveMb, 1)} |`),
  ].join("\n");
  const markdown = `${table}

${heldTable}

Load average (1 min) of the machine during this run: ${fmt(Math.min(...loads), 1)}–${fmt(Math.max(...loads), 1)} on ${availableParallelism()} cores.
Single-core WebCrypto verify rate of this run: **${fmt(verifyRate)} signatures/s** (the first
${fmt(Math.min(10_000, sizes[0] ?? 0))} operations' signatures verified one after the other on the main thread, before the
catch-ups), ${fmt(verifyCpuMicros)} µs of CPU per signature (of every thread: Node's WebCrypto verifies on
libuv's thread pool). "process CPU per operation" is the CPU time the whole process (both
endpoints, every thread) spent during the catch-up, per operation: on a machine loaded beyond
its cores it is steadier than the wall-clock rate, which depends on what the scheduler gave us. Two endpoints in one Node.js process on loopback WebSockets (noise, yamux); the
writer serves one log of N operations with 100-byte payloads from a SQLite file of its own
(filled and signed before timing, so its log is not in the JS heap); the reader runs the
acceptor \`SyncSession\` into a fresh store each run: SQLite (\`openSqliteSyncStores\`, WAL,
synchronous=FULL) or IndexedDB via fake-indexeddb (an in-memory IndexedDB in Node: its
database lives in the JS heap, so its retained column is the data itself). The sender hands
the channel a page of 256 operations at a time, which joins their frames into writes of up to
64 KiB. The reader validates and stores in batches of 128 operations (or 1 MiB), one \`putMany\` transaction each;
"one batch at a time" verifies and stores each batch before reading on (\`maxBatchesInFlight:
0\`), "pipelined" (the default) keeps up to 4 batches verifying and storing while the next
arrives, verification on this thread one batch after the other, a turn of the event loop
between batches and every 32 signatures or 10 ms. The pool verifies in \`worker_threads\`
(\`createNodeVerifierPool\`). "peak heap Δ" is the highest heap use (V8's used heap size)
above the level after a forced GC before the run, read right before every garbage collection
(V8's \`GCProfiler\`, where the heap is at its fullest) and every 20 ms; "retained after GC" what
is left after a forced GC once both sessions ended (what the store keeps in the heap); their
difference is what the catch-up held on its way, garbage not yet collected included. The
second table comes from untimed runs of the pipelined session into SQLite with a forced GC every 2 s: the highest heap left after a
collection, above the level before the run, i.e. what the catch-up keeps alive (stream
buffers, batches in flight) without the garbage V8 had not collected yet. Both sides share
the machine's cores with the noise encryption of both endpoints, and the machine with other
work (the load above); one run each.${failures.length === 0 ? "" : `\n\nFailed runs: ${failures.join("; ")}.`}`;
  return { title: "Sync catch-up into persistent stores (Node, WebSockets)", markdown };
}

function fmt(x: number, digits = 0): string {
  return x.toLocaleString("en-US", {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  });
}

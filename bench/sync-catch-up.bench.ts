// Sync catch-up into persistent stores over libp2p WebSockets (Node): verification on the main
// thread against a worker pool, measured against the single-core WebCrypto verify rate of the
// same run, and the peak heap a catch-up of 10,000 and 100,000 operations needs on its way from
// the stream into SQLite and into IndexedDB (fake-indexeddb).
import { type ChildProcess, fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { GCProfiler, getHeapStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { AddressBook, memoryAddressBookStore } from "@p2panda-web/address-book";
import { ProtocolName, Topic, transportInfoToWire, webCryptoEd25519 } from "@p2panda-web/core";
import type { Endpoint } from "@p2panda-web/core/endpoint";
import {
  createNodeCryptoVerify,
  createNodeVerifierPool,
  type NodeVerifyEngine,
} from "@p2panda-web/core/node";
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
import { catchUpEndpoint } from "./sync-catch-up-endpoint.ts";
import type { WriterReply, WriterRequest } from "./sync-catch-up-writer.ts";

const TOPIC_NAME = "sync catch-up bench";
const topic = Topic.fromName(TOPIC_NAME);
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
  /** What checks the signatures: WebCrypto (main thread or workers) or `crypto.verify`. */
  readonly engine: NodeVerifyEngine;
  readonly verifier: () => SignatureVerifier & { close?: () => void };
  /** Batches in flight (0: each batch verified and stored before reading on, as before). */
  readonly inFlight?: number;
}

interface Row {
  n: number;
  store: StoreKind;
  variant: string;
  engine: NodeVerifyEngine;
  seconds: number;
  opsPerSecond: number;
  peakHeapMb: number;
  retainedHeapMb: number;
  workerChecks: number;
  /** CPU time of the reader's process (every thread) per operation, in µs. */
  cpuMicrosPerOp: number;
  /** CPU time of the writer's process per operation, in µs. */
  writerCpuMicrosPerOp: number;
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
  let result: { peakMb: number; base: number; collections: number } | undefined;
  return {
    // Idempotent: a failed run stops it on its way out too.
    stop: () => {
      if (result !== undefined) return result;
      clearInterval(timer);
      sample();
      const { statistics } = gcs.stop();
      for (const gc of statistics) peak = Math.max(peak, gc.beforeGC.heapStatistics.usedHeapSize);
      result = { peakMb: (peak - base) / 1e6, base, collections: statistics.length };
      return result;
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

/**
 * The CPU time one WebCrypto verification takes when 32 are in flight at a time, as the
 * session issues them: without the wake-up of libuv's pool per check that the sequential
 * measurement pays, so the cost a catch-up's verification really has (µs, every thread). The
 * smallest of three passes: what other work on the machine adds is not the verification's.
 */
async function concurrentVerifyCpuMicros(ops: readonly Operation[]): Promise<number> {
  const webCrypto = await webCryptoEd25519();
  if (webCrypto === undefined) throw new Error("this Node has no WebCrypto Ed25519");
  let best = Number.POSITIVE_INFINITY;
  for (let pass = 0; pass < 3; pass++) {
    const cpu = process.cpuUsage();
    for (let start = 0; start < ops.length; start += 32) {
      const valid = await Promise.all(
        ops
          .slice(start, start + 32)
          .map((op) =>
            webCrypto.verify(
              op.header.verifyingKey,
              unsignedBytesOf(op.headerBytes),
              op.header.signature as Uint8Array,
            ),
          ),
      );
      if (valid.includes(false)) throw new Error("bad signature in the bench log");
    }
    const used = process.cpuUsage(cpu);
    best = Math.min(best, (used.user + used.system) / ops.length);
  }
  return best;
}

/**
 * Sequential synchronous `crypto.verify` checks (what a "crypto.verify" pool worker runs) on
 * this thread: its rate, and the CPU time one check takes; the best of three passes, as for
 * WebCrypto's CPU above.
 */
function syncVerifyRate(ops: readonly Operation[]): { perSecond: number; cpuMicros: number } {
  const verify = createNodeCryptoVerify();
  let best = { perSecond: 0, cpuMicros: Number.POSITIVE_INFINITY };
  for (let pass = 0; pass < 3; pass++) {
    const started = performance.now();
    const cpu = process.cpuUsage();
    for (const op of ops) {
      const ok = verify(
        op.header.verifyingKey,
        unsignedBytesOf(op.headerBytes),
        op.header.signature as Uint8Array,
      );
      if (!ok) throw new Error("bad signature in the bench log");
    }
    const used = process.cpuUsage(cpu);
    const cpuMicros = (used.user + used.system) / ops.length;
    if (cpuMicros < best.cpuMicros) {
      best = { perSecond: ops.length / ((performance.now() - started) / 1000), cpuMicros };
    }
  }
  return best;
}

/** The writer's log, in a SQLite file of its own, and a sample of its operations. */
interface WriterLog {
  /** The SQLite file the writer process serves it from. */
  readonly file: string;
  /** The first operations (at most 10,000), for the verify rate and the pools' warm-up. */
  readonly sample: readonly Operation[];
  /** How many operations the log holds. */
  readonly operations: number;
}

/**
 * `n` signed operations of one log in a SQLite file, written here and closed: the writer
 * process serves its catch-ups from that file, so the log is in no JS heap at all (a log of
 * 100,000 in a memory store would be ~100 MB of heap whose size alone lets V8 defer collection
 * by as much).
 */
async function writerLog(n: number, dir: string, name: string): Promise<WriterLog> {
  const file = join(dir, `${name}.sqlite`);
  const stores = await openSqliteSyncStores(file);
  const { author, ops } = await signedLog(n);
  await stores.topicStore.associate(topic, author.nodeId, 0);
  for (let i = 0; i < ops.length; i += 1_000)
    await stores.logStore.putMany(ops.slice(i, i + 1_000));
  await stores.close();
  return { file, sample: ops.slice(0, 10_000), operations: n };
}

/**
 * The writer endpoint in a child process (bench/sync-catch-up-writer.ts): its libp2p node, its
 * SQLite log and its SyncSession have their own heap and CPU clock, so this process's heap
 * sampler and CPU time see the reader only, as in a catch-up from a remote peer.
 */
class RemoteWriter {
  readonly #child: ChildProcess;
  readonly #waiting = new Map<number, (reply: WriterReply) => void>();
  #nextId = 1;
  #exited: Error | undefined;

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.on("message", (reply: WriterReply) => {
      const waiting = this.#waiting.get(reply.id);
      this.#waiting.delete(reply.id);
      waiting?.(reply);
    });
    child.on("exit", (code) => {
      this.#exited = new Error(`writer process exited with ${code}`);
      for (const [id, waiting] of this.#waiting)
        waiting({ id, ok: false, error: String(this.#exited) });
      this.#waiting.clear();
    });
  }

  /** Starts the writer process (with this process's flags: `--conditions=source`). */
  static start(): RemoteWriter {
    const child = fork(new URL("./sync-catch-up-writer.ts", import.meta.url), [], {
      execArgv: process.execArgv,
      serialization: "advanced",
      stdio: "inherit",
    });
    return new RemoteWriter(child);
  }

  /** Starts the writer's endpoint and dials `reader` (a fresh connection). */
  async connect(reader: Endpoint): Promise<void> {
    const info = reader.transportInfo();
    if (info === undefined) throw new Error("reader has no transport info");
    await this.#request({
      type: "connect",
      reader: reader.nodeId,
      info: transportInfoToWire(info),
    });
  }

  /** Runs the initiator session over a new log-sync stream; the writer's CPU time it took (µs). */
  async send(log: WriterLog): Promise<number> {
    const reply = await this.#request({ type: "send", file: log.file, topic: TOPIC_NAME });
    return reply.cpuMicros ?? 0;
  }

  /** Stops the writer's endpoint. */
  async disconnect(): Promise<void> {
    await this.#request({ type: "disconnect" });
  }

  /** Ends the writer process. */
  async close(): Promise<void> {
    if (this.#exited !== undefined) return;
    const exited = new Promise<void>((resolve) => this.#child.once("exit", () => resolve()));
    this.#child.send({ id: 0, type: "exit" } satisfies WriterRequest);
    const timer = setTimeout(() => this.#child.kill(), 10_000);
    await exited;
    clearTimeout(timer);
  }

  async #request(
    request: DistributiveOmit<WriterRequest, "id">,
  ): Promise<Extract<WriterReply, { ok: true }>> {
    if (this.#exited !== undefined) throw this.#exited;
    const id = this.#nextId++;
    const reply = await new Promise<WriterReply>((resolve) => {
      this.#waiting.set(id, resolve);
      this.#child.send({ ...request, id });
    });
    if (!reply.ok) throw new Error(reply.error);
    return reply;
  }
}

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

async function openStores(kind: StoreKind, dir: string, run: number): Promise<Stores> {
  if (kind === "SQLite") return openSqliteSyncStores(join(dir, `reader-${run}.sqlite`));
  return openIndexedDbSyncStores(`reader-${run}`, { indexedDB: new IDBFactory() });
}

/** The reader's endpoint in this process and the writer's, in `writer`'s process, connected. */
async function endpointPair(writer: RemoteWriter): Promise<{
  reader: Endpoint;
  writer: RemoteWriter;
  close: () => Promise<void>;
}> {
  const book = await AddressBook.open(memoryAddressBookStore());
  const reader = await catchUpEndpoint(book);
  await writer.connect(reader);
  return {
    reader,
    writer,
    close: async () => {
      await writer.disconnect().catch(() => {});
      await reader.stop();
      await book.close();
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
  /** CPU time of this (the reader's) process, every thread. */
  cpuMicros: number;
  /** CPU time of the writer's process while it sent. */
  writerCpuMicros: number;
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
    const sending = pair.writer.send(writer);
    // A writer that fails before its stream opens never starts the reader's session.
    await Promise.race([started, sending]);
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
      writerCpuMicros: sent.value,
    };
  } finally {
    sampler.stop();
    if (collector !== undefined) clearInterval(collector);
    await pair.reader.unaccept(ProtocolName.logSync);
  }
}

export { catchUp, endpointPair, openStores, RemoteWriter, writerLog };

export async function run(options: {
  quick: boolean;
}): Promise<{ title: string; markdown: string }> {
  const sizes = options.quick ? [2_000] : [10_000, 100_000];
  const webCrypto = await webCryptoEd25519();
  if (webCrypto === undefined) throw new Error("this Node has no WebCrypto Ed25519");
  const pools: { close(): void }[] = [];
  const pool = (size: number, engine: NodeVerifyEngine) => () => {
    const p = createNodeVerifierPool({ size, engine });
    pools.push(p);
    return p;
  };
  const variants: Variant[] = [
    {
      name: "main thread, one batch at a time (as before)",
      engine: "webcrypto",
      verifier: () => webCrypto,
      inFlight: 0,
    },
    {
      name: "main thread, pipelined (default: up to 4 batches in flight)",
      engine: "webcrypto",
      verifier: () => webCrypto,
    },
    {
      name: "pool of 1 worker (WebCrypto in it)",
      engine: "webcrypto",
      verifier: pool(1, "webcrypto"),
    },
    {
      name: "pool of 2 workers (WebCrypto in them)",
      engine: "webcrypto",
      verifier: pool(2, "webcrypto"),
    },
    {
      name: "pool of 1 worker (crypto.verify in it)",
      engine: "node-crypto",
      verifier: pool(1, "node-crypto"),
    },
    {
      name: "pool of 2 workers (crypto.verify in them)",
      engine: "node-crypto",
      verifier: pool(2, "node-crypto"),
    },
  ];
  /** The variants also run at 100,000 into SQLite: as before, the default, a pool of each engine. */
  const at100k = new Set([variants[0], variants[1], variants[2], variants[5]]);
  const dir = mkdtempSync(join(tmpdir(), "p2panda-bench-sync-catch-up-"));
  const rows: Row[] = [];
  const failures: string[] = [];
  let verifyRate = 0;
  let verifyCpuMicros = 0;
  let syncVerify = { perSecond: 0, cpuMicros: 0 };
  let concurrentCpuMicros = 0;
  let runs = 0;
  const writers: WriterLog[] = [];
  const held: { n: number; liveMb: number }[] = [];
  const loads: number[] = [loadavg()[0] ?? 0];
  const remote = RemoteWriter.start();
  try {
    for (const n of sizes) {
      const writer = await writerLog(n, dir, `writer-${n}`);
      if (verifyRate === 0) {
        const verify = await singleCoreVerifyRate(writer.sample);
        verifyRate = verify.perSecond;
        verifyCpuMicros = verify.cpuMicros;
        syncVerify = syncVerifyRate(writer.sample);
        concurrentCpuMicros = await concurrentVerifyCpuMicros(writer.sample);
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
              ? variants.filter((v) => at100k.has(v))
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
          const pair = await endpointPair(remote);
          let r: Awaited<ReturnType<typeof catchUp>>;
          try {
            const warmStores = await openStores("SQLite", dir, runs++);
            await catchUp(pair, warm, warmStores, webCrypto, 0);
            await warmStores.close();
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
            engine: variant.engine,
            seconds: r.seconds,
            opsPerSecond: n / r.seconds,
            peakHeapMb: r.peakMb,
            retainedHeapMb,
            workerChecks,
            cpuMicrosPerOp: r.cpuMicros / n,
            writerCpuMicrosPerOp: r.writerCpuMicros / n,
          };
          rows.push(row);
          loads.push(loadavg()[0] ?? 0);
          console.log(
            `  ${fmt(n)} → ${store}, ${variant.name}: ${fmt(row.seconds, 2)} s, ${fmt(row.opsPerSecond)} ops/s (${fmt(row.opsPerSecond / verifyRate, 2)}× verify), peak heap Δ ${fmt(row.peakHeapMb, 1)} MB, retained ${fmt(retainedHeapMb, 1)} MB, ${fmt(row.cpuMicrosPerOp)} µs reader CPU per operation (writer ${fmt(row.writerCpuMicrosPerOp)})`,
          );
        }
      }
    }
    // What a catch-up holds, without the garbage V8 has not collected yet: untimed runs into
    // SQLite with the default session, a forced GC every 2 s.
    for (const writer of writers.filter((w) => w.sample.length > 1_000)) {
      const n = writer.operations;
      const stores = await openStores("SQLite", dir, runs++);
      const pair = await endpointPair(remote);
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
    await remote.close();
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
  // Where an operation's CPU goes, at the largest N into SQLite: verification (its CPU per
  // signature measured alone, above) and the rest of the reader, the writer besides; with both
  // processes alone on the machine's cores, no catch-up can go faster than the cores divided by
  // the CPU per operation.
  const largest = Math.max(...rows.map((r) => r.n));
  const splitRows = rows.filter((r) => r.n === largest && r.store === "SQLite");
  const cores = availableParallelism();
  const splitTable = [
    `| operations | verification | reader CPU per operation (µs) | of which verification (µs) | rest of the reader (µs) | writer CPU per operation (µs) | ceiling on ${cores} idle cores (ops/s) | ceiling ÷ one core's WebCrypto verify capacity | the same with the writer on another machine |`,
    "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ...splitRows.map((r) => {
      const verify = r.engine === "node-crypto" ? syncVerify.cpuMicros : concurrentCpuMicros;
      const ceiling = (cores * 1e6) / (r.cpuMicrosPerOp + r.writerCpuMicrosPerOp);
      const readerAlone = (cores * 1e6) / r.cpuMicrosPerOp;
      return `| ${fmt(r.n)} | ${r.variant} | ${fmt(r.cpuMicrosPerOp)} | ${fmt(verify)} | ${fmt(r.cpuMicrosPerOp - verify)} | ${fmt(r.writerCpuMicrosPerOp)} | ${fmt(ceiling)} | ${fmt((ceiling * concurrentCpuMicros) / 1e6, 2)}× | ${fmt((readerAlone * concurrentCpuMicros) / 1e6, 2)}× |`;
    }),
  ].join("\n");
  const writerCpu = rows.map((r) => r.writerCpuMicrosPerOp);
  const writerCpuRange =
    writerCpu.length === 0 ? "–" : `${fmt(Math.min(...writerCpu))}–${fmt(Math.max(...writerCpu))}`;
  const markdown = `${table}

${heldTable}

${splitTable}

Load average (1 min) of the machine during this run: ${fmt(Math.min(...loads), 1)}–${fmt(Math.max(...loads), 1)} on ${availableParallelism()} cores.
Single-core WebCrypto verify rate of this run: **${fmt(verifyRate)} signatures/s** (the first
${fmt(Math.min(10_000, sizes[0] ?? 0))} operations' signatures verified one after the other on the main thread, before the
catch-ups), ${fmt(verifyCpuMicros)} µs of CPU per signature (of every thread: Node's WebCrypto verifies on
libuv's thread pool); synchronous \`crypto.verify\` (the same OpenSSL check, on the calling
thread) one after the other, best of three passes: ${fmt(syncVerify.perSecond)} signatures/s, ${fmt(syncVerify.cpuMicros)} µs of CPU per signature. "process CPU per operation" is the CPU time the reader's process (every
thread: main, libuv's pool, verify workers) spent during the catch-up, per operation: on a
machine loaded beyond its cores it is steadier than the wall-clock rate, which depends on what
the scheduler gave us; the writer's process took ${writerCpuRange} µs per operation besides. What runs
where: the **reader** (its libp2p endpoint, the acceptor \`SyncSession\`, its store, the heap
sampler) runs in the bench's Node.js process; the **writer** (its libp2p endpoint, its SQLite log,
the initiator \`SyncSession\`) in a child process of its own (bench/sync-catch-up-writer.ts), so
neither its heap nor its CPU time is in the reader's figures, as in a catch-up from a remote
peer; the two talk over loopback WebSockets (noise, yamux) and share the machine's 2 cores. The
writer serves one log of N operations with 100-byte payloads from a SQLite file of its own
(filled and signed before timing); the reader runs the
acceptor \`SyncSession\` into a fresh store each run: SQLite (\`openSqliteSyncStores\`, WAL,
synchronous=FULL) or IndexedDB via fake-indexeddb (an in-memory IndexedDB in Node: its
database lives in the JS heap, so its retained column is the data itself). The sender hands
the channel a page of 256 operations at a time, which joins their frames into writes of up to
64 KiB. The reader validates and stores in batches of 128 operations (or 1 MiB), one \`putMany\` transaction each;
"one batch at a time" verifies and stores each batch before reading on (\`maxBatchesInFlight:
0\`), "pipelined" (the default) keeps up to 4 batches verifying and storing while the next
arrives, verification on this thread one batch after the other, a turn of the event loop
between batches and every 32 signatures or 10 ms. A pool verifies in \`worker_threads\`
(\`createNodeVerifierPool\`), each batch split over its workers in one transferred buffer per
worker: "WebCrypto in it" is \`engine: "webcrypto"\` (each check a job on libuv's thread pool,
shared with the whole process), "crypto.verify in it" \`engine: "node-crypto"\` (the
synchronous OpenSSL check on the worker's own thread). "peak heap Δ" is the highest heap use (V8's used heap size)
above the level after a forced GC before the run, read right before every garbage collection
(V8's \`GCProfiler\`, where the heap is at its fullest) and every 20 ms; "retained after GC" what
is left after a forced GC once both sessions ended (what the store keeps in the heap); their
difference is what the catch-up held on its way, garbage not yet collected included. The
second table comes from untimed runs of the pipelined session into SQLite with a forced GC every 2 s: the highest heap left after a
collection, above the level before the run, i.e. what the catch-up keeps alive (stream
buffers, batches in flight) without the garbage V8 had not collected yet. The third table
splits the CPU an operation costs at the largest N into SQLite: "of which verification" is the
CPU per signature of that row's engine measured alone (\`crypto.verify\` as above, WebCrypto
with 32 in flight, below), "rest of the reader" the
remainder (noise, yamux, CBOR decoding, hashing, SQLite), the writer's besides; the ceiling is
what the ${cores} cores could do if both processes had them to themselves (cores ÷ CPU per
operation), i.e. the most any spreading of verification over workers could reach, and its
ratio to one core's WebCrypto verify capacity (${fmt(1e6 / Math.max(1, concurrentCpuMicros))} signatures per CPU-second: 10⁶ ÷ the CPU
per signature with 32 in flight, as the session issues them, ${fmt(concurrentCpuMicros)} µs, the least of three passes
over the sample; the sequential rate of the first table's ratio is lower, as each check waits
for a turn of the event loop and a wake-up of libuv's pool, the more so on a loaded machine);
the last column is that ratio with the reader alone on the cores (the writer elsewhere, as in a
real catch-up). 1.5× needs the CPU per operation to be at most ${cores} ÷ 1.5 = ${fmt(cores / 1.5, 2)} times the
verification's, i.e. all the rest at most ${fmt((cores / 1.5 - 1) * concurrentCpuMicros)} µs.
Both processes
share the machine with other work (the load above), the bench at the niceness it was started
with; one run each.${failures.length === 0 ? "" : `\n\nFailed runs: ${failures.join("; ")}.`}`;
  return { title: "Sync catch-up into persistent stores (Node, WebSockets)", markdown };
}

function fmt(x: number, digits = 0): string {
  return x.toLocaleString("en-US", {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  });
}

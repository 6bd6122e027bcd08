// Profiles one sync catch-up into SQLite (the bench's setup: Node, WebSockets, pipelined
// session, main-thread WebCrypto): a CPU profile and a sampling heap profile of the catch-up
// alone (not of signing the writer's log), summed by function, top self time and top allocation
// sites printed, the raw profiles written beside the writer's database.
//   node --conditions=source bench/profile-sync-catch-up.ts [operations=100000] [dir] [--no-profile]
// The writer (endpoint, log, session) runs in a child process, so the profiles show the reader
// alone. The writer's log is kept in `dir` (default: the system's temp dir) between runs.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Topic, webCryptoEd25519 } from "@p2panda-web/core";
import { openSqliteSyncStores } from "@p2panda-web/log-store/sqlite";
import { signedLog } from "../packages/core/test/sync/signed-log.ts";
import {
  catchUp,
  endpointPair,
  openStores,
  RemoteWriter,
  writerLog,
} from "./sync-catch-up.bench.ts";

const args = process.argv.slice(2).filter((a) => !a.startsWith("--"));
/** `--no-profile`: the catch-up alone, for its time and peak heap without the profilers' cost. */
const profiling = !process.argv.includes("--no-profile");
const n = Number(args[0] ?? 100_000);
const dir = args[1] ?? join(tmpdir(), "p2panda-profile-sync-catch-up");
mkdirSync(dir, { recursive: true });
const topic = Topic.fromName("sync catch-up bench");

/** The writer's log of `n` operations, signed once and kept in `dir` for later runs. */
async function cachedWriter(count: number) {
  const file = join(dir, `writer-${count}.sqlite`);
  if (!existsSync(file)) {
    const stores = await openSqliteSyncStores(file);
    const { author, ops } = await signedLog(count);
    await stores.topicStore.associate(topic, author.nodeId, 0);
    for (let i = 0; i < ops.length; i += 1_000)
      await stores.logStore.putMany(ops.slice(i, i + 1_000));
    await stores.close();
  }
  return { file, sample: [], operations: count };
}

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface CpuNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface HeapNode {
  callFrame: CallFrame;
  selfSize: number;
  children: HeapNode[];
}

function site(frame: CallFrame): string {
  const file = frame.url.replace(/^file:\/\//, "").replace(/^.*\/(node_modules|packages)\//, "");
  return `${frame.functionName || "(anonymous)"} ${file}:${frame.lineNumber + 1}`;
}

function top(totals: Map<string, number>, count: number, unit: (x: number) => string): string {
  const all = [...totals.values()].reduce((a, b) => a + b, 0);
  return [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(
      ([name, x]) =>
        `  ${((100 * x) / all).toFixed(1).padStart(5)} %  ${unit(x).padStart(10)}  ${name}`,
    )
    .join("\n");
}

const webCrypto = await webCryptoEd25519();
if (webCrypto === undefined) throw new Error("no WebCrypto Ed25519");
const writer = await cachedWriter(n);
const warm = await writerLog(1_000, dir, `warm-${Date.now()}`);
const remote = RemoteWriter.start();
const pair = await endpointPair(remote);
const warmStores = await openStores("SQLite", dir, Date.now());
await catchUp(pair, warm, warmStores, webCrypto, 0);
await warmStores.close();
const stores = await openStores("SQLite", dir, Date.now() + 1);

const load = loadavg()[0] ?? 0;
const session = new Session();
if (profiling) {
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 500 });
  await session.post("HeapProfiler.enable");
  await session.post("Profiler.start");
  await session.post("HeapProfiler.startSampling", {
    samplingInterval: 32_768,
    // Every allocation, not only what is still alive when sampling stops.
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
}
const cpuBefore = process.cpuUsage();
const r = await catchUp(pair, writer, stores, webCrypto, undefined);
const cpuUsed = process.cpuUsage(cpuBefore);
const cpuSeconds = (cpuUsed.user + cpuUsed.system) / 1e6;
await pair.close();
await stores.close();
await remote.close();
console.log(
  `${n} operations in ${r.seconds.toFixed(2)} s: ${(n / r.seconds).toFixed(0)} ops/s, stored ${r.stored}, peak heap Δ ${r.peakMb.toFixed(1)} MB, process CPU ${cpuSeconds.toFixed(1)} s = ${(n / cpuSeconds).toFixed(0)} ops per CPU-second (load ${load.toFixed(1)}${profiling ? ", profiled" : ""})`,
);
if (!profiling) process.exit(0);
const { profile: cpu } = (await session.post("Profiler.stop")) as unknown as {
  profile: { nodes: CpuNode[]; samples: number[]; timeDeltas: number[] };
};
const { profile: heap } = (await session.post("HeapProfiler.stopSampling")) as unknown as {
  profile: { head: HeapNode };
};
session.disconnect();

writeFileSync(join(dir, "catch-up.cpuprofile"), JSON.stringify(cpu));
writeFileSync(join(dir, "catch-up.heapprofile"), JSON.stringify(heap));

const selfTime = new Map<string, number>();
const byId = new Map(cpu.nodes.map((node) => [node.id, node]));
const parentOf = new Map<number, CpuNode>();
for (const node of cpu.nodes) for (const child of node.children ?? []) parentOf.set(child, node);
for (let i = 0; i < cpu.samples.length; i++) {
  const node = byId.get(cpu.samples[i] as number);
  if (node === undefined) continue;
  // A built-in (no URL) is named with its caller: "slice" alone says nothing.
  const caller = parentOf.get(node.id);
  const key =
    node.callFrame.url === "" && caller !== undefined && caller.callFrame.url !== ""
      ? `${node.callFrame.functionName} ← ${site(caller.callFrame)}`
      : site(node.callFrame);
  selfTime.set(key, (selfTime.get(key) ?? 0) + (cpu.timeDeltas[i] ?? 0) / 1000);
}
const allocated = new Map<string, number>();
const walk = (node: HeapNode, caller: HeapNode | undefined): void => {
  if (node.selfSize > 0) {
    const key =
      node.callFrame.url === "" && caller !== undefined && caller.callFrame.url !== ""
        ? `${node.callFrame.functionName} ← ${site(caller.callFrame)}`
        : site(node.callFrame);
    allocated.set(key, (allocated.get(key) ?? 0) + node.selfSize);
  }
  for (const child of node.children) walk(child, node);
};
walk(heap.head, undefined);
const allocatedTotal = [...allocated.values()].reduce((a, b) => a + b, 0);

console.log("top self time (ms):");
console.log(top(selfTime, 30, (x) => x.toFixed(0)));
console.log(
  `top allocation sites (sampled, collected objects included; ${(allocatedTotal / 1e6).toFixed(0)} MB in all, ${(allocatedTotal / n / 1e3).toFixed(1)} KB per operation):`,
);
console.log(top(allocated, 25, (x) => `${(x / 1e6).toFixed(1)} MB`));
process.exit(0);

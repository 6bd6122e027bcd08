// `npm run bench`: runs every benchmark script (bench/*.bench.ts, e2e/bench/*.bench.ts), prints
// each table and writes them all to docs/benchmarks.md.
//   npm run bench                  full run
//   npm run bench -- --quick       every benchmark in its short form, printed only
//   npm run bench -- gossip sync   only the named benchmarks
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromiumVersion } from "./browser.ts";

interface BenchModule {
  run(options: { quick: boolean }): Promise<{ title: string; markdown: string }>;
}

const root = fileURLToPath(new URL("..", import.meta.url));
const args = process.argv.slice(2);
const quick = args.includes("--quick");
const only = args.filter((a) => !a.startsWith("--"));

const files: string[] = [];
for (const dir of ["bench", "e2e/bench"]) {
  const full = join(root, dir);
  if (!existsSync(full)) continue;
  for (const f of readdirSync(full).sort()) if (f.endsWith(".bench.ts")) files.push(join(dir, f));
}
const selected = files.filter(
  (f) => only.length === 0 || only.some((name) => f.endsWith(`/${name}.bench.ts`)),
);

const sections: string[] = [];
const failures: string[] = [];
for (const file of selected) {
  console.log(`\n▶ ${file}${quick ? " (quick)" : ""}`);
  const started = performance.now();
  try {
    const module = (await import(join(root, file))) as BenchModule;
    const result = await module.run({ quick });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`## ${result.title}\n\n${result.markdown}\n(${seconds} s)`);
    sections.push(`## ${result.title}\n\n${result.markdown.trim()}\n\n_Run took ${seconds} s._`);
  } catch (error) {
    failures.push(file);
    console.error(`✗ ${file} failed:`, error);
  }
}

const cpu = cpus()[0]?.model ?? "unknown CPU";
let chromium = "unknown";
try {
  chromium = await chromiumVersion();
} catch {
  // No Chromium on this machine: the browser columns will have failed already.
}
const header = [
  "# Benchmarks",
  "",
  "Written by `npm run bench` (bench/run.ts); do not edit by hand.",
  "Decoder fuzzing (inputs/s, outcomes, crash reproducers) is in [fuzzing.md](fuzzing.md), written by `npm run fuzz`.",
  "",
  `- Last run: ${new Date().toISOString().slice(0, 10)}`,
  `- Machine: ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB`,
  `- Node ${process.version}, Chromium ${chromium}`,
  "",
].join("\n");

// Sections of this run replace those of the same title in docs/benchmarks.md; the others
// (benchmarks not selected, or failed this time) keep their last numbers.
const target = join(root, "docs/benchmarks.md");
const previous = existsSync(target) ? readFileSync(target, "utf8") : "";
const merged = new Map<string, string>();
for (const block of previous.split(/^(?=## )/m).slice(1)) {
  merged.set(block.split("\n", 1)[0] as string, block.trim());
}
for (const section of sections) merged.set(section.split("\n", 1)[0] as string, section);
if (quick) {
  console.log("\nquick run: docs/benchmarks.md left as it is");
} else if (sections.length > 0) {
  writeFileSync(target, `${header}\n${[...merged.values()].join("\n\n")}\n`);
  console.log(`\nwrote ${sections.length} section(s) to docs/benchmarks.md`);
}
if (failures.length > 0) {
  console.error(`failed: ${failures.join(", ")}`);
  process.exit(1);
}
// A benchmark may leave native handles behind (WebRTC, sockets of stopped libp2p nodes) that
// would keep the process alive after its results are written.
process.exit(0);

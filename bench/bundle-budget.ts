// The bundle budget (a step of `npm test`): builds examples/vite-app from the packed packages
// and a bare libp2p browser stack (bench/bundle-baseline) with the same Vite in the same run,
// gzips (-9) all JavaScript of each, prints both, their ratio and the example's largest modules,
// writes the table into docs/benchmarks.md ("Bundle budget") and fails past MAX_RATIO.
//
// Both are minified by Vite's default (esbuild), as a create-vite app is. Measured once with
// terser for both (`--minify terser`, when the check said 1.51×): the example shrank by 2.5 %,
// the baseline by 3.1 %, the ratio went from 1.52× to 1.53× (all JS as one gzip stream). So the
// minifier is no lever; whichever it is, the same one must build both.
//
// `--example-dir <dir>` builds the example there (emptied first) and keeps it, so the e2e step
// can serve that build instead of making its own (scripts/test.ts passes it on).
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { buildExampleApp, VITE_BIN } from "../scripts/example-app.ts";
import { costByPiece } from "./bundle-pieces.ts";
import {
  packageOf,
  type SourceMapV3,
  type SourceSegment,
  segmentsBySource,
} from "./sourcemap-breakdown.ts";

/** Where the example's gzipped JavaScript must get: at most this many times the bare stack's. */
export const GOAL_RATIO = 1.25;
/**
 * What the check enforces until the goal is reached, so the bundle cannot grow unnoticed while
 * our own layer is slimmed down: the last measured figure plus a little. History: 1.52× when
 * the check came in; 1.55× (201.8 KB / 130.2 KB) once joinTopic sealed its payloads (XChaCha20)
 * and derived topics from names with scrypt; 1.58× (205.6 KB) once its tabs shared one node
 * (SharedRoom and the tab protocol, +3.7 KB); 1.52× (197.8 KB) after three cuts, measured one by
 * one before that (201.9 → 196.8 KB our own CBOR codec instead of cborg; → 194.0 KB the noble
 * Ed25519 fallback on @noble/curves, which libp2p's keys bring anyway; → 193.1 KB no idb);
 * then lifecycle recovery and the warm start (+2.1 KB) and the signalling rate limits: 1.55×
 * (201.6 KB) with all of them; 1.53× (199.3 KB) after two more (→ 200.9 KB the libp2p key and
 * PeerId of an identity made without @libp2p/crypto's any-type raw parsers; → 199.3 KB our own
 * BLAKE3); 1.55× (202.1 KB) with the relayed data fallback, the unconfirmed-WebRTC watch, frame
 * coalescing and pipelined catch-up, and discovery's shared first step; 1.55× (201.9 KB) once
 * the memory log store planned its appends with the stores' shared rule; 1.56× (203.2 KB) with
 * the back/forward cache handling (endpoint suspend, a leader's hand-over, +0.3 KB); 1.57× (205.0 KB)
 * with the frozen leader's step-down, liveness pings that confirm a miss and the WebRTC init-channel
 * guard (+1.5 KB; libp2p's own connection monitor stays in the bundle, switched off). Lower it with every
 * cut; it becomes GOAL_RATIO once the example gets there. docs/benchmarks.md ("what each default
 * costs") says why the goal is out of reach with every default of issue 13 kept.
 */
export const MAX_RATIO = 1.58;

const run = promisify(execFile);
const root = resolve(import.meta.dirname, "..");
const baselineDir = join(root, "bench", "bundle-baseline");

interface BundleSize {
  /** Bytes of all `.js` files, minified. */
  readonly raw: number;
  /** Bytes of all `.js` files, each gzipped at level 9. */
  readonly gzip: number;
  /** Generated text per source file, over all chunks. */
  readonly bySource: Map<string, string>;
  /** Each file with a source map, as its source segments in order. */
  readonly segments: SourceSegment[][];
}

const gzipLength = (text: string | Uint8Array): number => gzipSync(text, { level: 9 }).length;

async function measure(distDir: string): Promise<BundleSize> {
  const files = (await readdir(distDir, { recursive: true })).filter((f) => f.endsWith(".js"));
  let raw = 0;
  let gzip = 0;
  const bySource = new Map<string, string>();
  const segments: SourceSegment[][] = [];
  for (const file of files) {
    const code = await readFile(join(distDir, file));
    raw += code.length;
    gzip += gzipLength(code);
    const mapPath = join(distDir, `${file}.map`);
    if (!existsSync(mapPath)) continue;
    const map = JSON.parse(await readFile(mapPath, "utf8")) as SourceMapV3;
    const fileSegments = segmentsBySource(code.toString("utf8"), map);
    segments.push(fileSegments);
    for (const { source, text } of fileSegments) {
      bySource.set(source, (bySource.get(source) ?? "") + text);
    }
  }
  return { raw, gzip, bySource, segments };
}

/**
 * Builds the baseline inside the example's installed copy, so its libp2p packages come from the
 * same fresh install as the example's (the repository's own node_modules, hoisted around older
 * lockfile entries, holds several copies of some and would inflate the baseline).
 */
async function buildBaseline(appDir: string, outDir: string): Promise<void> {
  const dir = join(appDir, "bundle-baseline");
  await cp(baselineDir, dir, { recursive: true });
  await run(
    process.execPath,
    [VITE_BIN, "build", "--sourcemap", "--logLevel", "warn", "--outDir", outDir, "--emptyOutDir"],
    { cwd: dir, maxBuffer: 64 * 1024 * 1024 },
  );
}

const kb = (bytes: number): string => (bytes / 1024).toFixed(1);

/** The example's sources (or packages), largest first: [name, minified bytes, gzip alone]. */
function largest(
  bySource: Map<string, string>,
  key: (source: string) => string,
  count: number,
): [string, number, number][] {
  const grouped = new Map<string, string>();
  for (const [source, text] of bySource) {
    const name = key(source);
    grouped.set(name, (grouped.get(name) ?? "") + text);
  }
  return [...grouped]
    .map(([name, text]): [string, number, number] => [
      name,
      Buffer.byteLength(text),
      gzipLength(text),
    ])
    .sort((a, b) => b[1] - a[1])
    .slice(0, count);
}

/** The source path as it reads in a table: from `node_modules/` on, or the app's own path. */
function shortSource(source: string): string {
  const at = source.lastIndexOf("node_modules/");
  if (at >= 0) return source.slice(at + "node_modules/".length);
  return source === "" ? "(unmapped)" : source.replace(/^(\.\.\/)+/, "");
}

async function writeSection(markdown: string): Promise<void> {
  const target = join(root, "docs", "benchmarks.md");
  const previous = await readFile(target, "utf8");
  const title = "## Bundle budget";
  const blocks = previous.split(/^(?=## )/m);
  const at = blocks.findIndex((b) => b.startsWith(`${title}\n`));
  const section = `${title}\n\n${markdown.trim()}\n\n`;
  if (at >= 0) blocks[at] = section;
  else blocks.push(`${blocks.at(-1)?.endsWith("\n\n") === true ? "" : "\n"}${section}`);
  await writeFile(target, `${blocks.join("").trimEnd()}\n`);
}

async function main(): Promise<void> {
  const flag = process.argv.indexOf("--example-dir");
  const exampleWorkDir = flag >= 0 ? process.argv[flag + 1] : undefined;
  const scratch = await mkdtemp(join(tmpdir(), "p2panda-web-budget-"));
  try {
    const started = performance.now();
    const example = await buildExampleApp(exampleWorkDir ?? join(scratch, "example"));
    const baselineStarted = performance.now();
    const baselineOut = join(scratch, "baseline");
    await buildBaseline(example.appDir, baselineOut);
    const baselineMs = Math.round(performance.now() - baselineStarted);
    const app = await measure(example.distDir);
    const bare = await measure(baselineOut);
    const ratio = app.gzip / bare.gzip;
    const seconds = ((performance.now() - started) / 1000).toFixed(1);

    const topModules = largest(app.bySource, shortSource, 10);
    const byPackage = (s: string): string => packageOf(s) ?? "(the app)";
    const topPackages = largest(app.bySource, byPackage, 10);
    const bareByPackage = new Map(
      largest(bare.bySource, byPackage, Number.POSITIVE_INFINITY).map(([n, , gz]) => [n, gz]),
    );
    const onTop = largest(app.bySource, byPackage, Number.POSITIVE_INFINITY)
      .map(([name, , gz]): [string, number] => [name, gz - (bareByPackage.get(name) ?? 0)])
      .filter(([, extra]) => extra >= 512)
      .sort((a, b) => b[1] - a[1]);
    const pieces = costByPiece(app.segments);
    const t = example.timings;
    const markdown = [
      "Written by `npm test` (bench/bundle-budget.ts). examples/vite-app, installed from the packed",
      "packages, against a bare libp2p browser stack (bench/bundle-baseline: WebSockets, WebRTC,",
      "circuit relay, Noise, yamux, identify, ping) from the same install, both built by the same",
      `Vite in the same run; all JavaScript, gzip -9. Goal: at most ${GOAL_RATIO}×; the check fails past ${MAX_RATIO}× (no growth) until the goal is met.`,
      "",
      "| bundle | minified KB | gzip KB |",
      "| --- | ---: | ---: |",
      `| examples/vite-app | ${kb(app.raw)} | ${kb(app.gzip)} |`,
      `| bare libp2p stack | ${kb(bare.raw)} | ${kb(bare.gzip)} |`,
      `| **ratio** | ${(app.raw / bare.raw).toFixed(2)}× | **${ratio.toFixed(2)}×** |`,
      "",
      "The example's 10 largest modules (bytes from its source map; gzip of each alone):",
      "",
      "| module | minified KB | gzip KB |",
      "| --- | ---: | ---: |",
      ...topModules.map(([name, size, gz]) => `| \`${name}\` | ${kb(size)} | ${kb(gz)} |`),
      "",
      "By package:",
      "",
      "| package | minified KB | gzip KB |",
      "| --- | ---: | ---: |",
      ...topPackages.map(([name, size, gz]) => `| \`${name}\` | ${kb(size)} | ${kb(gz)} |`),
      "",
      "What the example ships on top of the baseline (packages ≥ 0.5 KB more, gzip of each alone):",
      "",
      "| package | gzip KB more |",
      "| --- | ---: |",
      ...onTop.map(([name, extra]) => `| \`${name}\` | ${kb(extra)} |`),
      "",
      "What each piece of our own layer costs the example (bench/bundle-pieces.ts: source files",
      "grouped by path, first match wins; *alone*: gzip of the piece's text by itself; *in the",
      "bundle*: what the example's gzip loses without the piece's text):",
      "",
      "| piece | minified KB | gzip KB alone | gzip KB in the bundle |",
      "| --- | ---: | ---: | ---: |",
      ...pieces.map(
        (p) => `| ${p.name} | ${kb(p.raw)} | ${kb(p.gzipAlone)} | ${kb(p.gzipInBundle)} |`,
      ),
      "",
      `Pack (build + npm pack) ${(t.pack / 1000).toFixed(1)} s, npm install ${(t.install / 1000).toFixed(1)} s,`,
      `tsc ${(t.typecheck / 1000).toFixed(1)} s, example vite build ${(t.build / 1000).toFixed(1)} s,`,
      `baseline vite build ${(baselineMs / 1000).toFixed(1)} s; ${seconds} s in all.`,
    ].join("\n");
    console.log(markdown);
    await writeSection(markdown);
    if (ratio > MAX_RATIO) {
      console.error(
        `\n✗ bundle budget exceeded: ${kb(app.gzip)} KB / ${kb(bare.gzip)} KB = ${ratio.toFixed(2)}× > ${MAX_RATIO}×`,
      );
      process.exitCode = 1;
    } else {
      console.log(
        ratio <= GOAL_RATIO
          ? `\n✓ bundle budget: ${ratio.toFixed(2)}× ≤ ${GOAL_RATIO}×`
          : `\n✓ bundle within its ceiling (${ratio.toFixed(2)}× ≤ ${MAX_RATIO}×); the goal of ${GOAL_RATIO}× is not met yet`,
      );
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

await main();

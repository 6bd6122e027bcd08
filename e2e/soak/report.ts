// The soak run's results as Markdown (printed, and the "Soak" section of docs/benchmarks.md).
import { readFileSync, writeFileSync } from "node:fs";

/** A round passes when both limits hold (issue 18). */
export const CONNECT_LIMIT_MS = 3_000;
export const LATE_HISTORY_LIMIT_MS = 3_000;

/** One round of three tabs plus a late one. `undefined` times mean "not within the cap". */
export interface RoundResult {
  /** `"7"`, or `"21 (restart)"` for the round after the bootstrap restart. */
  readonly round: string;
  readonly pass: boolean;
  /** Opening the three tabs → all three nodes running. */
  readonly nodesUpMs: number | undefined;
  /** All three nodes running → every tab knows every other on the topic and holds a direct WebRTC connection to it. */
  readonly connectMs: number | undefined;
  /** Click on "send" in tab0 → the line shows in tab1 and tab2. */
  readonly chatMs: number | undefined;
  /** Opening the late tab → its node running. */
  readonly lateUpMs: number | undefined;
  /** The late tab's node running → the chat line shows in it. */
  readonly lateHistoryMs: number | undefined;
  /** One-minute load average at the end of the round. */
  readonly load: number;
  readonly notes: string[];
}

/** Minimum, median and maximum. */
export interface Spread {
  readonly min: number;
  readonly median: number;
  readonly max: number;
}

/** The many-tabs run. */
export interface CrowdResult {
  readonly tabs: number;
  /** Its waits are capped at this (longer than a round's: many tabs take longer). */
  readonly capMs: number;
  /** Opening the first tab → every node running (tabs opened a few at a time). */
  readonly nodesUpMs: number | undefined;
  /** Every node running → every tab lists every other on the topic. */
  readonly knowAllMs: number | undefined;
  /** Per tab, node running → it lists every other (spread over tabs). */
  readonly knowAllPerTabMs: Spread | undefined;
  /** Click on "send" in tab0 → the line shows in every other tab (the slowest). */
  readonly chatMs: number | undefined;
  /** Per receiving tab, chat delivery (spread). */
  readonly chatPerTabMs: Spread | undefined;
  /** Direct WebRTC connections to other tabs, per tab, right after the chat arrived everywhere. */
  readonly directAfterConvergence: Spread;
  /** The same 40 s later (idle connections close after 30 s in the browser endpoint). */
  readonly directAfter40s: Spread;
  readonly neighboursAfterConvergence: Spread;
  readonly neighboursAfter40s: Spread;
  /** Every open connection of a tab (bootstrap and relayed ones too), 40 s later. */
  readonly allConnectionsAfter40s: Spread;
  readonly load: number;
  readonly notes: string[];
}

/** Everything the soak run reports. */
export interface SoakReport {
  readonly date: string;
  readonly machine: string;
  /** How the demo was served: `"production"` (a `vite build`, as users get it) or `"dev"`. */
  readonly serving: "production" | "dev";
  readonly capMs: number;
  readonly rounds: readonly RoundResult[];
  readonly crowd: CrowdResult | undefined;
  readonly crowdError: string | undefined;
  readonly loadBefore: readonly number[];
  readonly loadAfter: readonly number[];
  readonly seconds: number;
}

export function spread(values: readonly number[]): Spread | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1
      ? (sorted[mid] as number)
      : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { min: sorted[0] as number, median, max: sorted.at(-1) as number };
}

function ms(value: number | undefined, capMs: number): string {
  return value === undefined ? `> ${capMs} (timeout)` : String(Math.round(value));
}

function showSpread(s: Spread | undefined): string {
  return s === undefined ? "–" : `${s.min} / ${s.median} / ${s.max}`;
}

function showLoad(load: readonly number[]): string {
  return load.map((l) => l.toFixed(2)).join(", ");
}

/** The table of rounds with the pass rate under it. */
export function roundsMarkdown(rounds: readonly RoundResult[], capMs: number): string {
  const lines = [
    "| round | pass | nodes up ms | connect ms | chat ms | late tab up ms | late history ms | load 1m | notes |",
    "|---|---|---:|---:|---:|---:|---:|---:|---|",
  ];
  for (const r of rounds) {
    lines.push(
      `| ${r.round} | ${r.pass ? "yes" : "**no**"} | ${ms(r.nodesUpMs, capMs)} | ${ms(r.connectMs, capMs)} | ${ms(r.chatMs, capMs)} | ${ms(r.lateUpMs, capMs)} | ${ms(r.lateHistoryMs, capMs)} | ${r.load.toFixed(2)} | ${r.notes.join("; ").replaceAll("|", "/")} |`,
    );
  }
  const passed = rounds.filter((r) => r.pass).length;
  lines.push("", `**Pass rate: ${passed} of ${rounds.length}.**`);
  return lines.join("\n");
}

/** The many-tabs numbers. */
export function crowdMarkdown(c: CrowdResult): string {
  const capMs = c.capMs;
  return [
    `| ${c.tabs} tabs on one topic | value |`,
    "|---|---:|",
    `| opening → every node running (ms) | ${ms(c.nodesUpMs, capMs)} |`,
    `| every node running → all know each other (ms) | ${ms(c.knowAllMs, capMs)} |`,
    `| per tab, its node running → it knows all others (ms, min / median / max) | ${showSpread(c.knowAllPerTabMs)} |`,
    `| chat line → shown in every other tab (ms) | ${ms(c.chatMs, capMs)} |`,
    `| chat delivery per receiving tab (ms, min / median / max) | ${showSpread(c.chatPerTabMs)} |`,
    `| direct WebRTC connections to other tabs per tab, after convergence (min / median / max) | ${showSpread(c.directAfterConvergence)} |`,
    `| the same 40 s later | ${showSpread(c.directAfter40s)} |`,
    `| gossip overlay neighbours per tab, after convergence | ${showSpread(c.neighboursAfterConvergence)} |`,
    `| the same 40 s later | ${showSpread(c.neighboursAfter40s)} |`,
    `| all open connections per tab 40 s later (bootstrap, relayed, direct) | ${showSpread(c.allConnectionsAfter40s)} |`,
    `| load average (1 min) at the end | ${c.load.toFixed(2)} |`,
    ...(c.notes.length > 0 ? ["", ...c.notes.map((n) => `- ${n}`)] : []),
  ].join("\n");
}

/** The whole "## Soak" section. */
export function soakSection(report: SoakReport): string {
  const normal = report.rounds.filter((r) => !r.round.includes("restart")).length;
  return [
    "## Soak",
    "",
    'Written by `npm run soak` (scripts/soak.ts); issue 18, "flakes are bugs". One long-running',
    "bootstrap (the real CLI, its key and address book in a data dir) serves every round; each round",
    "opens three tabs (separate browser contexts) at once on a fresh topic, waits until every tab",
    "knows every other on the topic (address book) **and** holds a direct WebRTC connection to it",
    "(not an overlay neighbour: the connection itself, `transport: webrtc`, not limited), has tab0",
    "send a synced chat line, then opens a fourth tab and waits until that line shows in it. A round",
    `passes when "connect" ≤ ${CONNECT_LIMIT_MS} ms and "late history" ≤ ${LATE_HISTORY_LIMIT_MS} ms; "connect" counts from`,
    'the moment all three nodes run and "late history" from the moment the late tab\'s node runs (page',
    'loads are shown apart, as "nodes up" and "late tab up"). After',
    `${normal} rounds the bootstrap is restarted on the same data dir (new port, as \`npm start\` gets with`,
    `\`--ws-port 0\`) and one more round runs. Waits are capped at ${report.capMs} ms. Headless`,
    "Chromium inside a private network namespace. The page is",
    report.serving === "production"
      ? "a production build of the demo (`vite build`) served as files, as users get it."
      : "the demo from the Vite dev server (`--serving dev`): each page load transforms and fetches every module.",
    "",
    `- Run: ${report.date}, ${report.machine}, took ${Math.round(report.seconds)} s`,
    `- Load average (1, 5, 15 min) before: ${showLoad(report.loadBefore)}; after: ${showLoad(report.loadAfter)} (the load before is what else ran on the machine: other jobs, or an earlier run winding down)`,
    "",
    roundsMarkdown(report.rounds, report.capMs),
    "",
    ...(report.crowd !== undefined
      ? [
          `Then ${report.crowd.tabs} tabs on one fresh topic (separate contexts, opened four at a time) against the same bootstrap, waits capped at ${report.crowd.capMs} ms:`,
          "",
          crowdMarkdown(report.crowd),
          "",
        ]
      : report.crowdError !== undefined
        ? [`The many-tabs run failed: ${report.crowdError}`, ""]
        : []),
  ].join("\n");
}

/** Replaces (or appends) the "## Soak" section of `path`, leaving every other section as it is. */
export function writeSoakSection(path: string, section: string): void {
  const previous = readFileSync(path, "utf8");
  const parts = previous.split(/^(?=## )/m);
  const head = parts[0] as string;
  const blocks = parts.slice(1).map((b) => b.trimEnd());
  const at = blocks.findIndex((b) => b.split("\n", 1)[0] === "## Soak");
  if (at === -1) blocks.push(section.trimEnd());
  else blocks[at] = section.trimEnd();
  writeFileSync(path, `${head}${blocks.join("\n\n")}\n`);
}

// Benchmark: time to data in the demo. A new tab opens the demo after two others wrote a chat
// line: from its navigation start, when is its node running, the bootstrap connected, a co-topic
// peer known, a direct WebRTC connection open, the gossip overlay joined and the history shown?
// Served by the Vite dev server and as a production build from a static server. The measuring
// runs in time-to-data-runner.ts, inside a private network namespace when this process may make
// one (root + unshare), like the e2e suite and browser-network.bench.ts.
import { getPriority, loadavg } from "node:os";
import { runInNamespace } from "./namespace-runner.ts";
import type { ServingResult, TimeToDataResult, TimeToDataRun } from "./time-to-data-runner.ts";

const RUNNER = "e2e/bench/time-to-data-runner.ts";

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const ms = (value: number): string => value.toFixed(0);

function measure(quick: boolean): Promise<{ result: TimeToDataResult; where: string }> {
  return runInNamespace<TimeToDataResult>(RUNNER, {
    args: quick ? ["--quick"] : [],
    timeoutMs: quick ? 300_000 : 900_000,
    echoStderr: true,
  });
}

const MILESTONES: Array<[string, keyof TimeToDataRun]> = [
  ["page loaded (load event)", "pageLoaded"],
  ["node running", "nodeRunning"],
  ["bootstrap connected", "bootstrapConnected"],
  ["first co-topic peer known", "coTopicPeerKnown"],
  ["first direct WebRTC connection", "directConnection"],
  ["gossip overlay joined (a neighbour)", "overlayJoined"],
  ["**full history shown** (both chat lines)", "historyShown"],
];

/** The steps of a tab's way up in the timeline table: label and key of the runner's timeline. */
const STEPS: Array<[string, string]> = [
  ["HTML received", "page:response-end"],
  ["DOM ready (script parsed)", "page:dom-content-loaded"],
  ["demo script runs", "demo:script-start"],
  ["bootstrap list fetched (/bootstrap.json)", "demo:bootstrap-config"],
  ["Web Lock won (shared-node election)", "demo:lock-acquired"],
  ["identity loaded (IndexedDB)", "demo:identity-ready"],
  ["page load event", "page:load"],
  ["bootstrap WebSocket open", "p2panda:bootstrap-websocket-open"],
  ["bootstrap Noise + Yamux done", "p2panda:bootstrap-connected"],
  ["node created (IndexedDB opens, libp2p started, bootstrap dialled)", "demo:node-created"],
  ["first walk step (discovery session)", "milestone:firstWalkStep"],
  ["node running", "milestone:nodeRunning"],
  ["bootstrap identified", "p2panda:bootstrap-identified"],
  ["relay reservation", "p2panda:relay-reservation"],
  ["transport info published (with an address)", "p2panda:transport-info-published"],
  ["first co-topic peer known", "milestone:coTopicPeerKnown"],
  ["first discovery session with a peer", "milestone:firstPeerSession"],
  ["WebRTC signalling circuit open", "milestone:signallingCircuit"],
  ["first direct WebRTC connection", "milestone:directConnection"],
  ["gossip overlay joined", "milestone:overlayJoined"],
  ["history shown", "historyShown"],
];

function cells(values: readonly number[]): string {
  if (values.length === 0) return "– | – | –";
  return `${ms(median(values))} | ${ms(Math.min(...values))} | ${ms(Math.max(...values))}`;
}

/** Where a page load's time goes: each step's time in the new tab and in the pair's tabs. */
function timelineTable(serving: ServingResult): string[] {
  const of = (timelines: readonly Record<string, number>[], key: string): number[] =>
    timelines.map((t) => t[key]).filter((v): v is number => v !== undefined);
  const newTabs = serving.runs.map((r) => ({ ...r.timeline, historyShown: r.historyShown }));
  const rows = STEPS.map(([label, key]) => ({
    label,
    newTab: of(newTabs, key),
    pair: of(serving.pairTimelines, key),
  }))
    .filter((r) => r.newTab.length + r.pair.length > 0)
    .sort(
      (a, b) =>
        median(a.newTab.length > 0 ? a.newTab : a.pair) -
        median(b.newTab.length > 0 ? b.newTab : b.pair),
    );
  return [
    `Step by step (${serving.serving}): ms from the tab's navigation start, the new tab's and`,
    `the pair's tabs' (${serving.pairTimelines.length} tabs), in the order of the new tab's medians.`,
    "",
    "| step | new tab median | min | max | pair tab median | min | max |",
    "|---|---:|---:|---:|---:|---:|---:|",
    ...rows.map((r) => `| ${r.label} | ${cells(r.newTab)} | ${cells(r.pair)} |`),
  ];
}

function row(label: string, values: readonly number[]): string {
  return `| ${label} | ${ms(median(values))} | ${ms(Math.min(...values))} | ${ms(Math.max(...values))} |`;
}

function table(serving: ServingResult): string[] {
  const lines = [
    `**${serving.serving}** (${serving.runs.length} runs)`,
    "",
    "| new tab, from navigation start to … | median ms | min ms | max ms |",
    "|---|---:|---:|---:|",
  ];
  for (const [label, key] of MILESTONES) {
    lines.push(
      row(
        label,
        serving.runs.map((r) => r[key] as number),
      ),
    );
  }
  lines.push(
    row(
      "two tabs opened at once → first direct WebRTC connection, after the later page load",
      serving.pairDirectAfterLoadMs,
    ),
    row("(the same, from the first navigation start)", serving.pairDirectMs),
  );
  return lines;
}

export async function run(options: {
  quick: boolean;
}): Promise<{ title: string; markdown: string }> {
  const loadBefore = loadavg();
  const { result, where } = await measure(options.quick);
  const loadAfter = loadavg();
  const load = (l: number[]) => l.map((x) => x.toFixed(1)).join(" ");
  const lines = [
    "Per run a fresh bootstrap node (the CLI, WebSockets on this machine), two browser contexts",
    "open the demo on its topic and each writes a chat line; then a new context opens the demo.",
    "Times are read in the new tab (`window.p2panda.milestones`, demo/milestones.ts, and a",
    "MutationObserver for the chat lines), in ms from its navigation start. A fresh context has",
    `an empty HTTP cache and empty IndexedDB. Headless Chromium, run ${where}.`,
  ];
  for (const serving of result.servings) lines.push("", ...table(serving));
  for (const serving of result.servings) lines.push("", ...timelineTable(serving));
  lines.push(
    "",
    "All of it shares two CPU cores with the browser, the bootstrap and whatever else runs:",
    `load average ${load(loadBefore)} before the run and ${load(loadAfter)} after it, the`,
    `benchmark at niceness ${getPriority()} (browser and bootstrap included).`,
  );
  return { title: "Time to data: a new tab's milestones", markdown: lines.join("\n") };
}

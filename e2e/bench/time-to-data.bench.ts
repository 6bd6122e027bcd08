// Benchmark: time to data in the demo. A new tab opens the demo after two others wrote a chat
// line: from its navigation start, when is its node running, the bootstrap connected, a co-topic
// peer known, a direct WebRTC connection open, the gossip overlay joined and the history shown?
// Served by the Vite dev server and as a production build from a static server. The measuring
// runs in time-to-data-runner.ts, inside a private network namespace when this process may make
// one (root + unshare), like the e2e suite and browser-network.bench.ts.
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
  const { result, where } = await measure(options.quick);
  const lines = [
    "Per run a fresh bootstrap node (the CLI, WebSockets on this machine), two browser contexts",
    "open the demo on its topic and each writes a chat line; then a new context opens the demo.",
    "Times are read in the new tab (`window.p2panda.milestones`, demo/milestones.ts, and a",
    "MutationObserver for the chat lines), in ms from its navigation start. A fresh context has",
    `an empty HTTP cache and empty IndexedDB. Headless Chromium, run ${where}.`,
  ];
  for (const serving of result.servings) lines.push("", ...table(serving));
  lines.push(
    "",
    "All of it shares two CPU cores with the browser, the bootstrap and whatever else runs.",
  );
  return { title: "Time to data: a new tab's milestones", markdown: lines.join("\n") };
}

// `npm run soak` (issue 18, "flakes are bugs"): the multi-tab scenarios (discovery, gossip overlay,
// synced chat, a late tab catching up) many times in a row against one long-running bootstrap with
// a data dir, once more across a bootstrap restart, then one run with many tabs on one topic.
// Prints a table per round and the pass rate, with diagnostics for every failed round, and writes
// the "Soak" section of docs/benchmarks.md. Like `npm run test:e2e`, it re-runs itself inside a
// private network namespace when it can (e2e/support/netns.ts).
// The page is a production build of the demo served as files, as users get it; `--serving dev`
// uses the Vite dev server instead (every page load then transforms and fetches each module,
// which on two cores slowed the 16 tabs' opening to 40–64 s).
//   npm run soak -- [--rounds 20] [--tabs 16] [--cap-ms 60000] [--serving dev] [--no-write]
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type Browser, chromium } from "playwright";
import {
  CONNECT_LIMIT_MS,
  type CrowdResult,
  crowdMarkdown,
  LATE_HISTORY_LIMIT_MS,
  type RoundResult,
  roundsMarkdown,
  soakSection,
  spread,
  writeSoakSection,
} from "../e2e/soak/report.ts";
import {
  connectionCounts,
  dialCounters,
  directToAll,
  knowsAll,
  missingPeers,
  openSoakTab,
  openSoakTabs,
  type SoakTab,
  sendChat,
  showsChat,
  soakUrl,
  tabDiagnostics,
} from "../e2e/soak/soak-tab.ts";
import { rerunInNetworkNamespace } from "../e2e/support/netns.ts";
import { type BootstrapNode, startBootstrapNode } from "./bootstrap-node.ts";
import { chromiumArgs, chromiumExecutable } from "./chromium.ts";
import { serveBuiltDemo, startDemoServer } from "./demo-server.ts";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "20" },
    tabs: { type: "string", default: "16" },
    "cap-ms": { type: "string", default: "60000" },
    serving: { type: "string", default: "production" },
    "no-write": { type: "boolean", default: false },
  },
});
const ROUNDS = Number(values.rounds);
const CROWD_TABS = Number(values.tabs);
const CAP_MS = Number(values["cap-ms"]);
if (values.serving !== "production" && values.serving !== "dev") {
  throw new Error(`--serving must be "production" or "dev", not "${values.serving}"`);
}
const SERVING: "production" | "dev" = values.serving;
/** Tabs of a round opened at once, then the late one. */
const ROUND_TABS = 3;
/** The many-tabs run opens this many pages at a time (16 at once starve two cores). */
const CROWD_PARALLEL_OPENS = 4;
/** How long after convergence the many-tabs run counts connections again (idle close is 30 s). */
const IDLE_RECOUNT_MS = 40_000;

rerunInNetworkNamespace("soak", fileURLToPath(import.meta.url), process.argv.slice(2));

const root = fileURLToPath(new URL("..", import.meta.url));
const started = Date.now();
const loadBefore = loadavg();
const runId = started.toString(36);
const dataDir = await mkdtemp(join(tmpdir(), "p2panda-soak-bootstrap-"));
const bootstrapWarnings: string[] = [];

async function bootstrapNode(): Promise<BootstrapNode> {
  return startBootstrapNode({
    dataDir,
    keyFile: join(dataDir, "key"),
    onStderr: (line) => {
      if (/error|warn/i.test(line)) {
        bootstrapWarnings.push(line);
        console.error(`  [bootstrap] ${line}`);
      }
    },
  });
}

function latest(times: ReadonlyArray<number | undefined>): number | undefined {
  return times.some((t) => t === undefined) ? undefined : Math.max(...(times as number[]));
}

function short(id: string): string {
  return id.slice(0, 8);
}

async function printDiagnostics(title: string, tabs: readonly SoakTab[]): Promise<void> {
  console.log(`  diagnostics (${title}):`);
  for (const tab of tabs) console.log(await tabDiagnostics(tab));
}

/** One round: three tabs at once, a chat line, a late tab. Never throws: a failure is a result. */
async function round(
  browser: Browser,
  baseUrl: string,
  bootstrap: BootstrapNode,
  label: string,
): Promise<RoundResult> {
  const topic = `soak ${runId} round ${label}`;
  const url = soakUrl(baseUrl, bootstrap.wsAddress, topic);
  const notes: string[] = [];
  const tabs: SoakTab[] = [];
  let nodesUpMs: number | undefined;
  let connectMs: number | undefined;
  let chatMs: number | undefined;
  let lateUpMs: number | undefined;
  let lateHistoryMs: number | undefined;
  try {
    tabs.push(...(await openSoakTabs(browser, url, ROUND_TABS)));
    const allRunning = Math.max(...tabs.map((t) => t.runningAt));
    nodesUpMs = allRunning - Math.min(...tabs.map((t) => t.openedAt));

    const perTab = await Promise.all(
      tabs.map(async (tab) => {
        const peers = tabs.filter((t) => t !== tab).map((t) => t.nodeId);
        const [known, direct] = await Promise.all([
          knowsAll(tab, peers, CAP_MS),
          directToAll(tab, peers, CAP_MS),
        ]);
        if (known === undefined || direct === undefined) {
          const missing = await missingPeers(tab, peers);
          const name = (id: string): string =>
            tabs.find((t) => t.nodeId === id)?.label ?? short(id);
          if (missing.unknown.length > 0) {
            notes.push(`${tab.label} does not know ${missing.unknown.map(name).join(", ")}`);
          }
          if (missing.notDirect.length > 0) {
            notes.push(
              `${tab.label} has no direct link to ${missing.notDirect.map(name).join(", ")}`,
            );
          }
        }
        return { known, direct };
      }),
    );
    const connectedAt = perTab.map((t) => latest([t.known, t.direct]));
    const connected = latest(connectedAt);
    connectMs = connected === undefined ? undefined : connected - allRunning;
    if (connectMs === undefined || connectMs > CONNECT_LIMIT_MS) {
      // Which half was slow: learning of each other (discovery) or the direct connection.
      const since = (at: number | undefined): string =>
        at === undefined ? "timeout" : `${at - allRunning}`;
      notes.push(
        `per tab know/direct ms: ${tabs.map((t, i) => `${t.label} ${since(perTab[i]!.known)}/${since(perTab[i]!.direct)}`).join(", ")}`,
      );
    }

    const text = `soak ${label} ${Date.now().toString(36)}`;
    const sender = tabs[0]!;
    const sentAt = await sendChat(sender, text);
    const own = await showsChat(sender, text, CAP_MS);
    if (own === undefined) notes.push("tab0 does not show its own line");
    const deliveredAt = await Promise.all(tabs.slice(1).map((t) => showsChat(t, text, CAP_MS)));
    deliveredAt.forEach((at, i) => {
      if (at === undefined) notes.push(`chat line not in ${tabs[i + 1]!.label}`);
    });
    const delivered = latest(deliveredAt);
    chatMs = delivered === undefined ? undefined : delivered - sentAt;

    const late = await openSoakTab(browser, url, `tab${ROUND_TABS}`);
    tabs.push(late);
    lateUpMs = late.runningAt - late.openedAt;
    const shownAt = await showsChat(late, text, CAP_MS);
    lateHistoryMs = shownAt === undefined ? undefined : shownAt - late.runningAt;
    if (shownAt === undefined) notes.push("late tab never showed the history");
  } catch (error) {
    notes.push(`error: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
  }
  for (const tab of tabs) {
    if (tab.errors.length > 0) notes.push(`${tab.label} page errors: ${tab.errors.length}`);
  }
  const pass =
    connectMs !== undefined &&
    connectMs <= CONNECT_LIMIT_MS &&
    lateHistoryMs !== undefined &&
    lateHistoryMs <= LATE_HISTORY_LIMIT_MS &&
    chatMs !== undefined;
  const result: RoundResult = {
    round: label,
    pass,
    nodesUpMs,
    connectMs,
    chatMs,
    lateUpMs,
    lateHistoryMs,
    load: loadavg()[0] as number,
    notes,
  };
  const counters = await Promise.all(tabs.map((t) => dialCounters(t).catch(() => ({}))));
  const dials = new Map<string, number>();
  for (const c of counters)
    for (const [k, v] of Object.entries(c)) dials.set(k, (dials.get(k) ?? 0) + v);
  const dialText = [...dials]
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k} ${v}`)
    .join(" ");
  if (dialText !== "") notes.push(`dials: ${dialText}`);
  const show = (v: number | undefined): string => (v === undefined ? "timeout" : `${v} ms`);
  console.log(
    `round ${label}: ${pass ? "pass" : "FAIL"} · nodes up ${show(nodesUpMs)} · connect ${show(connectMs)} · chat ${show(chatMs)} · late up ${show(lateUpMs)} · late history ${show(lateHistoryMs)} · load ${result.load.toFixed(2)}${notes.length > 0 ? ` · ${notes.join("; ")}` : ""}`,
  );
  if (!pass && tabs.length > 0) await printDiagnostics(`round ${label}`, tabs);
  await Promise.all(tabs.map((t) => t.close()));
  return result;
}

/** Many tabs on one topic: convergence, chat delivery to all, connections per tab. */
async function crowd(
  browser: Browser,
  baseUrl: string,
  bootstrap: BootstrapNode,
): Promise<CrowdResult> {
  const url = soakUrl(baseUrl, bootstrap.wsAddress, `soak ${runId} crowd`);
  const notes: string[] = [];
  console.log(`\n${CROWD_TABS} tabs on one topic: opening ${CROWD_PARALLEL_OPENS} at a time`);
  const tabs = await openSoakTabs(browser, url, CROWD_TABS, CROWD_PARALLEL_OPENS);
  try {
    const firstOpened = Math.min(...tabs.map((t) => t.openedAt));
    const allRunning = Math.max(...tabs.map((t) => t.runningAt));
    const ids = tabs.map((t) => t.nodeId);
    const cap = Math.max(CAP_MS, 120_000);
    const knowAt = await Promise.all(
      tabs.map((tab) =>
        knowsAll(
          tab,
          ids.filter((id) => id !== tab.nodeId),
          cap,
        ),
      ),
    );
    for (const [i, at] of knowAt.entries()) {
      if (at === undefined) {
        const missing = await missingPeers(
          tabs[i]!,
          ids.filter((id) => id !== tabs[i]!.nodeId),
        );
        notes.push(`${tabs[i]!.label} never knew ${missing.unknown.length} of the others`);
      }
    }
    const knowAll = latest(knowAt);
    console.log(
      `  all know each other: ${knowAll === undefined ? "timeout" : `${knowAll - allRunning} ms`}`,
    );

    const text = `soak crowd ${Date.now().toString(36)}`;
    const sentAt = await sendChat(tabs[0]!, text);
    const deliveredAt = await Promise.all(tabs.slice(1).map((t) => showsChat(t, text, cap)));
    const missed = deliveredAt.filter((at) => at === undefined).length;
    if (missed > 0) notes.push(`chat line missing in ${missed} tab(s)`);
    const delivered = latest(deliveredAt);
    const convergedAt = Date.now();
    console.log(
      `  chat everywhere: ${delivered === undefined ? "timeout" : `${delivered - sentAt} ms`}`,
    );

    const counts = await Promise.all(tabs.map((t) => connectionCounts(t, ids)));
    await delay(Math.max(0, convergedAt + IDLE_RECOUNT_MS - Date.now()));
    const later = await Promise.all(tabs.map((t) => connectionCounts(t, ids)));
    const lost = tabs.filter((_, i) => counts[i]?.lost === true || later[i]?.lost === true);
    if (lost.length > 0) {
      notes.push(
        `lost their node (page reloaded or crashed): ${lost.map((t) => t.label).join(", ")}`,
      );
    }
    const zero = { min: 0, median: 0, max: 0 };
    if (missed > 0 || knowAll === undefined) await printDiagnostics("many tabs", tabs);
    const errors = tabs.filter((t) => t.errors.length > 0);
    if (errors.length > 0) notes.push(`page errors in ${errors.map((t) => t.label).join(", ")}`);
    return {
      tabs: tabs.length,
      capMs: cap,
      nodesUpMs: allRunning - firstOpened,
      knowAllMs: knowAll === undefined ? undefined : knowAll - allRunning,
      knowAllPerTabMs: spread(
        knowAt.flatMap((at, i) => (at === undefined ? [] : [at - tabs[i]!.runningAt])),
      ),
      chatMs: delivered === undefined ? undefined : delivered - sentAt,
      chatPerTabMs: spread(deliveredAt.flatMap((at) => (at === undefined ? [] : [at - sentAt]))),
      directAfterConvergence: spread(counts.map((c) => c.direct)) ?? zero,
      directAfter40s: spread(later.map((c) => c.direct)) ?? zero,
      neighboursAfterConvergence: spread(counts.map((c) => c.neighbours)) ?? zero,
      neighboursAfter40s: spread(later.map((c) => c.neighbours)) ?? zero,
      allConnectionsAfter40s: spread(later.map((c) => c.all)) ?? zero,
      load: loadavg()[0] as number,
      notes,
    };
  } finally {
    await Promise.all(tabs.map((t) => t.close()));
  }
}

// A first SIGTERM to this process (the one inside the namespace, when there is one) ends the
// series after the running round: the restart round, the many-tab run and the report still
// happen; a second one stops at once. (Not Ctrl-C: the terminal sends SIGINT to the bootstrap
// and the browser as well.)
let stopRequested = false;
process.on("SIGTERM", () => {
  if (stopRequested) process.exit(143);
  stopRequested = true;
  console.log("\nSIGTERM: no further rounds; the restart round and the many-tab run follow");
});

let bootstrap = await bootstrapNode();
console.log(`bootstrap ${short(bootstrap.nodeId)} at ${bootstrap.wsAddress} (data in ${dataDir})`);
// Tabs get the bootstrap's address in the URL (soakUrl), so a restarted one needs no rebuild.
const server =
  SERVING === "production"
    ? await serveBuiltDemo({ bootstrap: [] })
    : await startDemoServer({ bootstrap: [bootstrap.wsAddress] });
console.log(
  `demo served by ${SERVING === "production" ? "a production build" : "the Vite dev server"} at ${server.url}`,
);
const browser = await chromium.launch({
  executablePath: chromiumExecutable(),
  args: chromiumArgs,
  headless: true,
  // Our SIGTERM handler decides what it does (see above).
  handleSIGTERM: false,
});
const chromiumVersion = browser.version();
const rounds: RoundResult[] = [];
let crowdResult: CrowdResult | undefined;
let crowdError: string | undefined;
try {
  console.log(
    `${ROUNDS} rounds of ${ROUND_TABS} tabs + 1 late tab (load ${loadBefore.map((l) => l.toFixed(2)).join(", ")})`,
  );
  for (let i = 1; i <= ROUNDS && !stopRequested; i++) {
    rounds.push(await round(browser, server.url, bootstrap, String(i)));
  }

  const before = bootstrap.nodeId;
  await bootstrap.stop();
  bootstrap = await bootstrapNode();
  console.log(
    `bootstrap restarted on the same data dir: ${short(bootstrap.nodeId)} at ${bootstrap.wsAddress}${bootstrap.nodeId === before ? "" : " (a NEW node id)"}`,
  );
  const restarted = await round(browser, server.url, bootstrap, `${ROUNDS + 1} (restart)`);
  if (bootstrap.nodeId !== before) restarted.notes.push("bootstrap came back with a new node id");
  rounds.push(restarted);

  if (CROWD_TABS > 0) {
    try {
      crowdResult = await crowd(browser, server.url, bootstrap);
    } catch (error) {
      crowdError = error instanceof Error ? error.message.split("\n")[0] : String(error);
      console.error(`many-tabs run failed: ${crowdError}`);
    }
  }
} finally {
  await browser.close();
  await server.close();
  await bootstrap.stop();
  await rm(dataDir, { recursive: true, force: true });
}

const loadAfter = loadavg();
console.log(`\n${roundsMarkdown(rounds, CAP_MS)}`);
if (crowdResult !== undefined) console.log(`\n${crowdMarkdown(crowdResult)}`);
if (bootstrapWarnings.length > 0) {
  console.log(`\nbootstrap warnings (${bootstrapWarnings.length}), last ones:`);
  for (const line of bootstrapWarnings.slice(-10)) console.log(`  ${line}`);
}
console.log(
  `load before: ${loadBefore.map((l) => l.toFixed(2)).join(", ")}; after: ${loadAfter.map((l) => l.toFixed(2)).join(", ")}`,
);

if (!values["no-write"]) {
  const cpu = cpus()[0]?.model.split(" ").slice(0, 2).join(" ") ?? "unknown CPU";
  writeSoakSection(
    join(root, "docs/benchmarks.md"),
    soakSection({
      date: `${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC`,
      machine: `${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Chromium ${chromiumVersion}`,
      serving: SERVING,
      capMs: CAP_MS,
      rounds,
      crowd: crowdResult,
      crowdError,
      loadBefore,
      loadAfter,
      seconds: (Date.now() - started) / 1000,
    }),
  );
  console.log("wrote the Soak section of docs/benchmarks.md");
}
const failed = rounds.filter((r) => !r.pass).length;
// Native WebRTC handles of the closed pages may keep the process alive.
process.exit(failed === 0 ? 0 : 1);

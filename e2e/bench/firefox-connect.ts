// Chromium ↔ Firefox direct connections, measured: `npm run -s bench:firefox` (issue 14's
// target: a direct WebRTC connection within 2 s in at least 19 of 20 runs). Each run opens a
// Chromium tab and a Firefox tab on the demo, on a topic of their own with a bootstrap node of
// their own; they find each other by discovery, and the time from "one has the other in its
// address book" to "their direct WebRTC connection is open" is what is counted (also printed:
// from the first RTCPeerConnection either made to the connection, the set-up alone). Runs inside a
// private network namespace when it can (e2e/support/netns.ts), like the e2e suite.
//   npm run -s bench:firefox -- [--runs 20] [--pair chromium-firefox|chromium-chromium|firefox-firefox]
//     [--no-mdns] [--turn] [--verbose]
import { spawnSync } from "node:child_process";
import { chromium } from "playwright";
import { type BootstrapNode, startBootstrapNode } from "../../scripts/bootstrap-node.ts";
import { chromiumArgs, chromiumExecutable } from "../../scripts/chromium.ts";
import { startDemoServer } from "../../scripts/demo-server.ts";
import { type BrowserName, type MeasuredTab, openMeasuredTab } from "../support/browser-tabs.ts";
import { firefoxUnavailable, launchFirefox } from "../support/firefox.ts";
import { rerunInNetworkNamespace } from "../support/netns.ts";
import { startTurnServer } from "../support/turn-server.ts";

const args = process.argv.slice(2);
rerunInNetworkNamespace("firefox-connect", "e2e/bench/firefox-connect.ts", args);

const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args[i + 1];
};
const RUNS = Number(flag("--runs") ?? 20);
const PAIR = (flag("--pair") ?? "chromium-firefox").split("-") as [BrowserName, BrowserName];
const VERBOSE = args.includes("--verbose");
/**
 * `--no-mdns`: drop multicast in the namespace, so neither browser can resolve the other's mDNS
 * host candidates (as on networks that filter multicast, or between browsers that do not answer
 * each other's queries).
 */
const NO_MDNS = args.includes("--no-mdns");
if (NO_MDNS) {
  const r = spawnSync("ip", ["route", "add", "blackhole", "224.0.0.0/4"], { stdio: "inherit" });
  if (r.status !== 0) throw new Error("could not block multicast (needs the namespace, as root)");
}
/** A run without a direct connection after this long counts as "none". */
const GIVE_UP_MS = 30_000;
const TARGET_MS = 2_000;

const unavailable = PAIR.includes("firefox") ? firefoxUnavailable() : undefined;
if (unavailable !== undefined) {
  console.log(`firefox-connect: skipped, ${unavailable}`);
  process.exit(0);
}

/**
 * `--turn`: both tabs get coturn (started here, in the namespace) as their STUN/TURN server, so
 * they have server-reflexive and relayed candidates besides the mDNS host ones.
 */
const turn = args.includes("--turn") ? await startTurnServer() : undefined;

const demo = await startDemoServer({ bootstrap: [] });
const chromiumBrowser = await chromium.launch({
  executablePath: chromiumExecutable(),
  args: chromiumArgs,
  headless: true,
});
const firefox = PAIR.includes("firefox") ? await launchFirefox() : undefined;

const times: Array<number | undefined> = [];
const setUps: Array<number | undefined> = [];
try {
  for (let run = 1; run <= RUNS; run++) {
    let bootstrap: BootstrapNode | undefined;
    const tabs: MeasuredTab[] = [];
    try {
      bootstrap = await startBootstrapNode();
      const url = new URL(demo.url);
      url.searchParams.set("bootstrap", bootstrap.wsAddress);
      url.searchParams.set("topic", `firefox connect ${run} ${Date.now().toString(36)}`);
      if (turn !== undefined) {
        url.searchParams.set("turn", turn.url);
        url.searchParams.set("turnUser", turn.username);
        url.searchParams.set("turnCredential", turn.credential);
      }
      const browsers = { chromium: chromiumBrowser, firefox: firefox?.browser };
      tabs.push(
        ...(await Promise.all(PAIR.map((name) => openMeasuredTab(name, browsers, url.toString())))),
      );
      const [a, b] = tabs as [MeasuredTab, MeasuredTab];
      const watchStarted = Date.now();
      const [ta, tb] = await Promise.all([
        a.watchPeer(b.nodeId, GIVE_UP_MS),
        b.watchPeer(a.nodeId, GIVE_UP_MS),
      ]);
      const known = Math.min(ta.knownAt ?? Infinity, tb.knownAt ?? Infinity);
      const origin = Number.isFinite(known) ? known : watchStarted;
      // Counted once both tabs have it: a connection only one side sees is of no use yet.
      const direct = Math.max(ta.directAt ?? Infinity, tb.directAt ?? Infinity);
      const ms = Number.isFinite(direct) && Number.isFinite(known) ? direct - known : undefined;
      times.push(ms);
      const firstPc = Math.min(
        ...[...ta.log, ...tb.log].filter((l) => l.what.endsWith(" created")).map((l) => l.at),
      );
      const setUp =
        Number.isFinite(direct) && Number.isFinite(firstPc) ? direct - firstPc : undefined;
      setUps.push(setUp);
      const metrics = (m: Record<string, number>) =>
        `retried ${m.dialsRetried} stalled ${m.webRtcSetUpsStalled} failed ${m.dialsFailed} ` +
        `gaveWay ${m.crossingDialsGivenWay} awaited ${m.inboundDialsAwaited} ` +
        `phantoms ${m.webRtcPhantomsClosed ?? "–"}`;
      console.log(
        `run ${String(run).padStart(2)}: ${ms === undefined ? "none" : `${ms} ms`}` +
          ` (set-up ${setUp ?? "–"} ms)` +
          (VERBOSE ? ` ${a.nodeId} ${b.nodeId}` : "") +
          `  [${PAIR[0]}: ${metrics(ta.metrics)}] [${PAIR[1]}: ${metrics(tb.metrics)}]`,
      );
      if (VERBOSE) {
        for (const [name, t] of [
          [PAIR[0], ta],
          [PAIR[1], tb],
        ] as const) {
          console.log(`  ${name} connections: ${t.connections.join("; ")}`);
          console.log(`  ${name} direct at ${(t.directAt ?? Infinity) - origin} ms`);
          console.log(`  ${name} timeline (ms after known):`);
          for (const line of t.log) {
            console.log(`    ${String(line.at - origin).padStart(6)} ${line.what}`);
          }
        }
      }
    } finally {
      for (const tab of tabs) await tab.close().catch(() => {});
      await bootstrap?.stop();
    }
  }
} finally {
  await firefox?.close();
  await chromiumBrowser.close();
  await demo.close();
  await turn?.stop();
}

const done = times.filter((t): t is number => t !== undefined).sort((x, y) => x - y);
const within = done.filter((t) => t <= TARGET_MS).length;
const median = done.length === 0 ? undefined : done[Math.floor(done.length / 2)];
console.log(
  `${PAIR.join(" ↔ ")}: ${within} of ${RUNS} runs direct within ${TARGET_MS} ms; ` +
    `${RUNS - done.length} without a direct connection after ${GIVE_UP_MS / 1000} s; ` +
    `median ${median ?? "–"} ms, max ${done.at(-1) ?? "–"} ms`,
);
console.log(`times (ms): ${times.map((t) => t ?? "none").join(", ")}`);
console.log(`set-ups (ms): ${setUps.map((t) => t ?? "none").join(", ")}`);

// Measures time to data for e2e/bench/time-to-data.bench.ts, in its own process (which that
// script starts inside a private network namespace when it can). Per run: a fresh bootstrap node
// (the CLI), two tabs on the demo's topic each write a chat line, then a new tab opens the demo
// and we read, from its navigation start, when it reached each milestone (demo/milestones.ts)
// and when both lines were shown. Also: two tabs opened at once → their first direct WebRTC
// connection. Both with the Vite dev server and with a production build served statically.
// Prints one line `RESULT {json}` at the end.
//   npx node --conditions=source e2e/bench/time-to-data-runner.ts [--quick]
import { type Browser, chromium, type Page } from "playwright";
import type { Milestones } from "../../demo/milestones.ts";
import { type BootstrapNode, startBootstrapNode } from "../../scripts/bootstrap-node.ts";
import { chromiumArgs, chromiumExecutable } from "../../scripts/chromium.ts";
import { serveBuiltDemo, startDemoServer } from "../../scripts/demo-server.ts";
import { BOOTSTRAP_ENV } from "../../vite.config.ts";
import { waitForNode } from "../support/tabs.ts";

/** The milestones of the new tab, ms from its navigation start. */
export interface TimeToDataRun {
  readonly pageLoaded: number;
  readonly nodeRunning: number;
  readonly bootstrapConnected: number;
  readonly coTopicPeerKnown: number;
  readonly directConnection: number;
  readonly overlayJoined: number;
  readonly historyShown: number;
  /** First time each event type was seen (demo/milestones.ts), for finding where time goes. */
  readonly firstEvent: Record<string, number>;
  /** Every step of the page's way up, ms from navigation start: see {@link readTimeline}. */
  readonly timeline: Record<string, number>;
}

/** One way of serving the demo. */
export interface ServingResult {
  readonly serving: string;
  readonly runs: TimeToDataRun[];
  /** Two tabs opened at once: their first direct WebRTC connection after the later page load. */
  readonly pairDirectAfterLoadMs: number[];
  /** The same, from navigation start (of the tab that started first). */
  readonly pairDirectMs: number[];
  /** Each tab of each pair: its steps, ms from its own navigation start. */
  readonly pairTimelines: Record<string, number>[];
}

/** What the runner reports. */
export interface TimeToDataResult {
  readonly servings: ServingResult[];
}

const quick = process.argv.includes("--quick");
// `--serving production` or `--serving dev` measures only that one (while working on it).
const onlyServing = process.argv[process.argv.indexOf("--serving") + 1];
const wanted = (serving: string): boolean =>
  !process.argv.includes("--serving") || onlyServing === serving;
const RUNS = quick ? 2 : 5;
const WAIT_MS = 60_000;

/** Set in the page before any script: when every expected chat line is first shown. */
function watchHistory(expected: readonly string[]): void {
  const w = window as unknown as { historyShownAt?: number };
  const check = (): void => {
    if (w.historyShownAt !== undefined) return;
    const shown = new Set(
      [...document.querySelectorAll('[data-testid="chat-message"] .text')].map(
        (e) => e.textContent,
      ),
    );
    if (expected.every((line) => shown.has(line))) w.historyShownAt = performance.now();
  };
  new MutationObserver(check).observe(document, {
    childList: true,
    subtree: true,
    characterData: true,
  });
}

async function openTab(browser: Browser, url: string, expected?: readonly string[]) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const messages: string[] = [];
  page.on("console", (m) => messages.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => messages.push(`pageerror: ${e.message}`));
  if (expected !== undefined) await page.addInitScript(watchHistory, expected);
  await page.goto(url);
  await waitForNode(page, WAIT_MS).catch((error) => {
    process.stderr.write(`page console:\n${messages.slice(-20).join("\n")}\n`);
    throw error;
  });
  return { page, context, messages };
}

async function writeLine(page: Page, text: string): Promise<void> {
  await page.getByTestId("chat-input").fill(text);
  await page.getByTestId("chat-send").click();
}

async function waitForLines(page: Page, lines: readonly string[]): Promise<void> {
  await page.waitForFunction(
    (expected) => {
      const shown = [...document.querySelectorAll('[data-testid="chat-message"] .text')].map(
        (e) => e.textContent,
      );
      return expected.every((line) => shown.includes(line));
    },
    lines,
    { timeout: WAIT_MS, polling: 50 },
  );
}

/** Waits until `names` are all set in the page's milestones (or the wait times out). */
async function waitForMilestones(page: Page, names: readonly string[]): Promise<void> {
  await page.waitForFunction(
    (keys) => {
      const m = window.p2panda!.milestones as unknown as Record<string, unknown>;
      return keys.every((k) => m[k] !== undefined);
    },
    names,
    { timeout: WAIT_MS, polling: 50 },
  );
}

/**
 * A tab's steps, ms from its navigation start: the page's own (response, DOM ready, load), the
 * User Timing marks of the demo (`demo:…`, and `p2panda:…` for the endpoint's steps), the
 * milestones and the first time each event type was seen (`event:…`). With `TTD_LOG=1` the
 * tab's event log goes to stderr too.
 */
async function readTimeline(page: Page, label: string): Promise<Record<string, number>> {
  const { timeline, log } = await page.evaluate(() => {
    const nav = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming;
    const steps: Record<string, number> = {
      "page:response-end": nav.responseEnd,
      "page:dom-content-loaded": nav.domContentLoadedEventEnd,
      "page:load": nav.loadEventEnd,
    };
    for (const mark of performance.getEntriesByType("mark")) steps[mark.name] ??= mark.startTime;
    const m = window.p2panda?.milestones;
    for (const [key, value] of Object.entries(m ?? {})) {
      if (typeof value === "number") steps[`milestone:${key}`] = value;
    }
    for (const [type, at] of Object.entries(m?.firstEvent ?? {})) steps[`event:${type}`] = at;
    return { timeline: steps, log: m?.log ?? [] };
  });
  if (process.env.TTD_LOG === "1") {
    const lines = log.map(
      (e) =>
        `  ${e.at} ${e.type}${e.remote === undefined ? "" : ` ${e.remote}`}${e.detail === undefined ? "" : ` ${e.detail}`}`,
    );
    process.stderr.write(`${label} event log:\n${lines.join("\n")}\n`);
  }
  const ordered = Object.entries(timeline).sort((a, b) => a[1] - b[1]);
  process.stderr.write(
    `${label} timeline: ${ordered.map(([k, v]) => `${k} ${v.toFixed(0)}`).join(", ")}\n`,
  );
  return timeline;
}

async function pageLoadedAt(page: Page): Promise<number> {
  return page.evaluate(() => {
    const nav = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming;
    return nav.loadEventEnd;
  });
}

async function measureNewTab(browser: Browser, url: string, run: number): Promise<TimeToDataRun> {
  const lines = [`run ${run}: hello from a`, `run ${run}: hello from b`];
  const [a, b] = await Promise.all([openTab(browser, url), openTab(browser, url)]);
  try {
    await writeLine(a.page, lines[0] as string);
    await writeLine(b.page, lines[1] as string);
    await Promise.all([waitForLines(a.page, lines), waitForLines(b.page, lines)]);
    const c = await openTab(browser, url, lines);
    try {
      const names = ["bootstrapConnected", "coTopicPeerKnown", "directConnection", "overlayJoined"];
      await waitForMilestones(c.page, names).catch(async (error) => {
        const m = await c.page.evaluate(() => window.p2panda!.milestones);
        throw new Error(`milestones: ${JSON.stringify(m)}`, { cause: error });
      });
      await c.page.waitForFunction(
        () => (window as unknown as { historyShownAt?: number }).historyShownAt !== undefined,
        undefined,
        { timeout: WAIT_MS, polling: 50 },
      );
      const pageLoaded = await pageLoadedAt(c.page);
      const timeline = await readTimeline(c.page, "new tab");
      const values = await c.page.evaluate(() => ({
        ...(window.p2panda!.milestones as Required<Milestones>),
        historyShown: (window as unknown as { historyShownAt: number }).historyShownAt,
      }));
      return { pageLoaded, ...values, timeline };
    } finally {
      await c.context.close();
    }
  } finally {
    await Promise.all([a.context.close(), b.context.close()]);
  }
}

async function measurePair(
  browser: Browser,
  url: string,
): Promise<[number, number, Record<string, number>[]]> {
  const [a, b] = await Promise.all([openTab(browser, url), openTab(browser, url)]);
  try {
    await Promise.all([
      waitForMilestones(a.page, ["directConnection"]),
      waitForMilestones(b.page, ["directConnection"]),
    ]);
    // Absolute times (ms since the epoch) from each page's time origin.
    const read = (page: Page) =>
      page.evaluate(() => {
        const nav = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming;
        return {
          origin: performance.timeOrigin,
          loaded: performance.timeOrigin + nav.loadEventEnd,
          direct: performance.timeOrigin + window.p2panda!.milestones.directConnection!,
        };
      });
    const [x, y] = await Promise.all([read(a.page), read(b.page)]);
    const timelines = [
      await readTimeline(a.page, "pair tab a"),
      await readTimeline(b.page, "pair tab b"),
    ];
    const direct = Math.min(x.direct, y.direct);
    return [
      direct - Math.max(x.loaded, y.loaded),
      direct - Math.min(x.origin, y.origin),
      timelines,
    ];
  } finally {
    await Promise.all([a.context.close(), b.context.close()]);
  }
}

async function measureServing(
  browser: Browser,
  serving: string,
  url: string,
  setBootstrap: (addresses: readonly string[]) => Promise<void>,
): Promise<ServingResult> {
  const result: ServingResult = {
    serving,
    runs: [],
    pairDirectAfterLoadMs: [],
    pairDirectMs: [],
    pairTimelines: [],
  };
  const withBootstrap = async <T>(body: () => Promise<T>): Promise<T> => {
    const bootstrap: BootstrapNode = await startBootstrapNode();
    try {
      await setBootstrap([bootstrap.wsAddress]);
      return await body();
    } finally {
      await bootstrap.stop();
    }
  };
  // One throwaway load so that caches (Vite's transforms, the HTTP cache is per context) are warm.
  await withBootstrap(async () => (await openTab(browser, url)).context.close());
  for (let run = 0; run < RUNS; run++) {
    const measured = await withBootstrap(() => measureNewTab(browser, url, run));
    result.runs.push(measured);
    const pair = await withBootstrap(() => measurePair(browser, url));
    result.pairDirectAfterLoadMs.push(pair[0]);
    result.pairDirectMs.push(pair[1]);
    result.pairTimelines.push(...pair[2]);
    process.stderr.write(
      `${serving} run ${run + 1}/${RUNS}: history ${measured.historyShown.toFixed(0)} ms, pair direct +${pair[0].toFixed(0)} ms after load\n`,
    );
  }
  return result;
}

const browser = await chromium.launch({ executablePath: chromiumExecutable(), args: chromiumArgs });
const servings: ServingResult[] = [];
try {
  // Production build of the demo, served as files; `/bootstrap.json` is rewritten per run.
  if (wanted("production")) {
    const built = await serveBuiltDemo({ bootstrap: [] });
    try {
      servings.push(
        await measureServing(browser, "production build, static server", built.url, (bootstrap) =>
          built.setBootstrap(bootstrap),
        ),
      );
    } finally {
      await built.close();
    }
  }

  if (wanted("dev")) {
    const dev = await startDemoServer({ bootstrap: [] });
    try {
      servings.push(
        await measureServing(browser, "Vite dev server", dev.url, async (bootstrap) => {
          process.env[BOOTSTRAP_ENV] = bootstrap.join(" ");
        }),
      );
    } finally {
      await dev.close();
    }
  }
  const result: TimeToDataResult = { servings };
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
} finally {
  await browser.close();
}
process.exit(0);

// Tabs for the soak run (scripts/soak.ts): one browser context per simulated user, the demo on a
// given topic, and waits that report *when* (page clock, ms since the epoch) a condition first held
// or that it did not hold within a cap. Built on the e2e support code (tabs.ts).
import type { Browser, BrowserContext, Page } from "playwright";
import type {} from "../../demo/test-hook.ts";
import { collectPageErrors, syncDiagnostics, waitForNode } from "../support/tabs.ts";

/** How often the page-side waits re-check their condition (ms). */
const POLL_MS = 50;

/** One simulated user. */
export interface SoakTab {
  /** Position in its round (0-based), for messages: `tab2`. */
  readonly label: string;
  readonly page: Page;
  readonly context: BrowserContext;
  readonly nodeId: string;
  /** Node.js clock when `page.goto` started and when the node ran. */
  readonly openedAt: number;
  readonly runningAt: number;
  /** Uncaught errors and `console.error` lines, failed WebSocket dials left out (as in fixtures.ts). */
  readonly errors: string[];
  close(): Promise<void>;
}

/** The demo URL for `topic` with `bootstrap` in the query. */
export function soakUrl(baseUrl: string, bootstrap: string, topic: string): string {
  const url = new URL(baseUrl);
  url.searchParams.set("bootstrap", bootstrap);
  url.searchParams.set("topic", topic);
  return url.toString();
}

/** Opens `url` in a new browser context and waits until its node runs. */
export async function openSoakTab(browser: Browser, url: string, label: string): Promise<SoakTab> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = collectPageErrors(page);
  const openedAt = Date.now();
  try {
    await page.goto(url);
    const nodeId = await waitForNode(page);
    const runningAt = Date.now();
    return {
      label,
      page,
      context,
      nodeId,
      openedAt,
      runningAt,
      errors,
      close: () => context.close().catch(() => {}),
    };
  } catch (error) {
    await context.close().catch(() => {});
    throw error;
  }
}

/** Opens `count` tabs on `url`, at most `parallel` page loads at a time. */
export async function openSoakTabs(
  browser: Browser,
  url: string,
  count: number,
  parallel = count,
  labelOffset = 0,
): Promise<SoakTab[]> {
  const tabs: SoakTab[] = new Array(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      tabs[i] = await openSoakTab(browser, url, `tab${labelOffset + i}`);
    }
  };
  const results = await Promise.allSettled(
    Array.from({ length: Math.min(parallel, count) }, worker),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed !== undefined) {
    await Promise.all(tabs.filter((t) => t !== undefined).map((t) => t.close()));
    throw failed.reason;
  }
  return tabs;
}

/**
 * Waits until the page function `when(arg)` returns a number (the page's `Date.now()` at the
 * moment its condition held) instead of `false`; resolves to that number, or `undefined` if the
 * condition did not hold within `capMs`.
 */
async function firstTimeWhen<A>(
  page: Page,
  when: (arg: A) => number | false,
  arg: A,
  capMs: number,
): Promise<number | undefined> {
  try {
    // Playwright types the page function's argument as `Unboxed<A>`; ours are plain JSON values.
    const handle = await page.waitForFunction(when as (arg: unknown) => number | false, arg, {
      timeout: capMs,
      polling: POLL_MS,
    });
    return (await handle.jsonValue()) as number;
  } catch (error) {
    if (error instanceof Error && error.name === "TimeoutError") return undefined;
    throw error;
  }
}

/** When the tab's address book first listed every one of `peers` on the tab's topic. */
export function knowsAll(
  tab: SoakTab,
  peers: readonly string[],
  capMs: number,
): Promise<number | undefined> {
  return firstTimeWhen(
    tab.page,
    (ids: readonly string[]) => {
      const p = window.p2panda;
      if (p === undefined) return false;
      const known = new Set<string>(
        p.addressBook.nodeInfosByTopics([p.topic]).map((n) => n.nodeId),
      );
      return ids.every((id) => known.has(id)) ? Date.now() : false;
    },
    peers,
    capMs,
  );
}

/** When the tab first held a direct (WebRTC, not relayed) connection to every one of `peers`. */
export function directToAll(
  tab: SoakTab,
  peers: readonly string[],
  capMs: number,
): Promise<number | undefined> {
  return firstTimeWhen(
    tab.page,
    (ids: readonly string[]) => {
      const p = window.p2panda;
      if (p === undefined) return false;
      const direct = new Set<string>(
        p.endpoint
          .connections()
          .filter((c) => c.transport === "webrtc" && !c.limited)
          .map((c) => c.remote),
      );
      return ids.every((id) => direct.has(id)) ? Date.now() : false;
    },
    peers,
    capMs,
  );
}

/** When the tab's synced chat first showed a message with exactly `text`. */
export function showsChat(tab: SoakTab, text: string, capMs: number): Promise<number | undefined> {
  return firstTimeWhen(
    tab.page,
    (t: string) =>
      [...document.querySelectorAll('[data-testid="chat-message"] .text')].some(
        (el) => el.textContent === t,
      )
        ? Date.now()
        : false,
    text,
    capMs,
  );
}

/** Types `text` into the synced chat and sends it; resolves to the Node clock at the click. */
export async function sendChat(tab: SoakTab, text: string): Promise<number> {
  await tab.page.getByTestId("chat-input").fill(text);
  const at = Date.now();
  await tab.page.getByTestId("chat-send").click();
  return at;
}

/** What a tab is connected to right now: direct WebRTC peers among `peers`, overlay neighbours. */
export async function connectionCounts(
  tab: SoakTab,
  peers: readonly string[],
): Promise<{ direct: number; neighbours: number; all: number; lost?: true }> {
  return tab.page.evaluate((ids) => {
    const p = window.p2panda;
    // The page lost its node (it reloaded or crashed): nothing is connected.
    if (p === undefined) return { direct: 0, neighbours: 0, all: 0, lost: true as const };
    const connections = p.endpoint.connections();
    const direct = new Set<string>(
      connections
        .filter((c) => c.transport === "webrtc" && !c.limited && ids.includes(c.remote))
        .map((c) => c.remote),
    );
    return {
      direct: direct.size,
      neighbours: p.gossip.neighbours(p.topic).length,
      all: connections.length,
    };
  }, peers);
}

/** Which of `peers` the tab does not know on its topic, and which it has no direct connection to. */
export async function missingPeers(
  tab: SoakTab,
  peers: readonly string[],
): Promise<{ unknown: string[]; notDirect: string[] }> {
  return tab.page.evaluate((ids) => {
    const p = window.p2panda;
    if (p === undefined) return { unknown: [...ids], notDirect: [...ids] };
    const known = new Set<string>(p.addressBook.nodeInfosByTopics([p.topic]).map((n) => n.nodeId));
    const direct = new Set<string>(
      p.endpoint
        .connections()
        .filter((c) => c.transport === "webrtc" && !c.limited)
        .map((c) => c.remote),
    );
    return {
      unknown: ids.filter((id) => !known.has(id)),
      notDirect: ids.filter((id) => !direct.has(id)),
    };
  }, peers);
}

/**
 * Everything the e2e tests print on a failure ({@link syncDiagnostics}), plus the last entries of
 * the tab's discovery session log, its sync status line and its page errors.
 */
export async function tabDiagnostics(tab: SoakTab): Promise<string> {
  const sync = await syncDiagnostics(tab.page).catch((e: unknown) => `unreadable: ${String(e)}`);
  const log = await tab.page
    .getByTestId("session-log-entry")
    .evaluateAll((els) => els.slice(0, 12).map((e) => (e.textContent ?? "").trim()))
    .catch(() => [] as string[]);
  const status = await tab.page
    .getByTestId("sync-status")
    .textContent()
    .catch(() => "unreadable");
  return [
    `  ${tab.label} ${tab.nodeId.slice(0, 8)}: ${sync}`,
    `    sync status: ${status}`,
    `    session log (newest first): ${log.length === 0 ? "empty" : ""}`,
    ...log.map((l) => `      ${l}`),
    `    page errors: ${tab.errors.length === 0 ? "none" : tab.errors.slice(-5).join(" | ")}`,
  ].join("\n");
}

/** The dial counters of a tab's endpoint that say how its WebRTC set-ups went. */
export async function dialCounters(tab: SoakTab): Promise<Record<string, number>> {
  return tab.page.evaluate((): Record<string, number> => {
    const m = window.p2panda?.endpoint.metrics;
    if (m === undefined) return {};
    return {
      stalled: m.webRtcSetUpsStalled,
      retried: m.dialsRetried,
      failed: m.dialsFailed,
      gaveWay: m.crossingDialsGivenWay,
      awaited: m.inboundDialsAwaited,
      asked: m.connectBacksAsked,
      served: m.connectBacksServed,
      fellBack: m.connectBacksFallenBack,
      skipped: m.connectBacksSkipped,
      abandoned: m.webRtcSetUpsAbandoned,
    };
  });
}

// `npm exec -- node scripts/bfcache-probe.ts`: can a page of ours enter Chromium's back/forward
// cache, and if not, why? Opens pages in a Chromium with the bfcache on (the freezable browser:
// launched by us, attached over CDP with no Playwright defaults; Playwright's own launch turns
// the bfcache off), navigates each to another same-origin page and back, and prints whether it
// was restored (a `pageshow` with `persisted`, the navigation entry's `notRestoredReasons`) and
// CDP's `Page.backForwardCacheNotUsed` reasons. Runs inside a private network namespace like the
// e2e suite. `--only <name>` runs one case.
// Seen with Chromium 156 before the node suspended its endpoint on `pagehide`: a demo page with a
// direct WebRTC connection to a peer was not restored (`rtc`), and was once every
// RTCPeerConnection was closed in the pagehide; a page with only WebSockets (the bootstrap, Vite's
// HMR), IndexedDB, a held Web Lock and a BroadcastChannel was restored; a shared-node leader
// stayed in the cache holding the lock while the follower waited on (a request already waiting
// evicts nothing), and a new request or a query of the lock evicted it (`weblocks-contention`).
import type { CDPSession, Page } from "playwright";
import { launchFreezableBrowser } from "../e2e/support/freezable-browser.ts";
import { INERT_VITE_CLIENT } from "../e2e/support/inert-vite-client.ts";
import { rerunInNetworkNamespace } from "../e2e/support/netns.ts";
import { waitForNode } from "../e2e/support/tabs.ts";
import { startBootstrapNode } from "./bootstrap-node.ts";
import { startDemoServer } from "./demo-server.ts";

rerunInNetworkNamespace("bfcache-probe", "scripts/bfcache-probe.ts", process.argv.slice(2));

interface Outcome {
  readonly restored: boolean;
  readonly pageshow: readonly string[];
  readonly cdpReasons: readonly string[];
  readonly notRestoredReasons: unknown;
}

/** Listens for CDP's verdict on `page`'s next back navigation. */
async function watchVerdict(page: Page): Promise<{ cdp: CDPSession; reasons: string[] }> {
  const cdp = await page.context().newCDPSession(page);
  const reasons: string[] = [];
  await cdp.send("Page.enable");
  cdp.on("Page.backForwardCacheNotUsed", (event) => {
    for (const r of event.notRestoredExplanations) {
      reasons.push(`${r.type}:${r.reason}${r.context === undefined ? "" : ` (${r.context})`}`);
    }
  });
  return { cdp, reasons };
}

/** Navigates `page` to `away` and back; reports whether it came back from the bfcache. */
async function awayAndBack(
  page: Page,
  away: string,
  whileAway: (leftAt: number) => Promise<void> = async () => {},
): Promise<Outcome> {
  await page.evaluate(() => {
    const w = window as unknown as { probeShows: string[] };
    w.probeShows = [];
    // Kept in sessionStorage too: a page not restored is a new one, without this window's array.
    addEventListener("pageshow", (e) => {
      w.probeShows.push(`pageshow persisted=${e.persisted}`);
    });
  });
  const { cdp, reasons } = await watchVerdict(page);
  const leftAt = Date.now();
  await page.goto(away);
  await page.waitForTimeout(1_000);
  await whileAway(leftAt);
  // A page restored from the bfcache fires no `load`: wait for the commit only.
  await page.goBack({ waitUntil: "commit" });
  await page.waitForFunction(() => document.readyState === "complete", undefined, { polling: 100 });
  await page.waitForTimeout(1_000);
  const result = await page.evaluate(() => {
    const entry = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming & {
      notRestoredReasons?: unknown;
    };
    const w = window as unknown as { probeShows?: string[] };
    return {
      shows: w.probeShows ?? ["(a new page: the old window's listeners are gone)"],
      navigationType: entry.type,
      notRestoredReasons: entry.notRestoredReasons ?? null,
    };
  });
  await cdp.detach().catch(() => {});
  return {
    restored: result.shows.some((s) => s.endsWith("persisted=true")),
    pageshow: result.shows,
    cdpReasons: reasons,
    notRestoredReasons: result.notRestoredReasons,
  };
}

const bootstrap = await startBootstrapNode();
const server = await startDemoServer({ bootstrap: [bootstrap.wsAddress] });
let browser = await launchFreezableBrowser();
const inertViteClient = () =>
  browser.context.route(/\/@vite\/client$/, (route) =>
    route.fulfill({ contentType: "text/javascript", body: INERT_VITE_CLIENT }),
  );
/** Tracks every RTCPeerConnection the page makes, and closes them all on a pagehide into bfcache. */
const CLOSE_RTC_ON_PAGEHIDE = () => {
  const made: RTCPeerConnection[] = [];
  const Native = RTCPeerConnection;
  (window as unknown as { RTCPeerConnection: unknown }).RTCPeerConnection = class extends Native {
    constructor(...args: ConstructorParameters<typeof RTCPeerConnection>) {
      super(...args);
      made.push(this);
    }
  };
  addEventListener("pagehide", (e) => {
    if (!e.persisted) return;
    for (const pc of made) pc.close();
  });
};
const only = process.argv.indexOf("--only");
const pick = only === -1 ? undefined : process.argv[only + 1];
const away = new URL("/bootstrap.json", server.url).toString();
const demo = (query: Record<string, string>) => {
  const url = new URL(server.url);
  url.searchParams.set("bootstrap", bootstrap.wsAddress);
  url.searchParams.set("topic", "bfcache probe");
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  return url.toString();
};

const cases: Record<string, () => Promise<Outcome>> = {
  "control: a same-origin JSON document": async () => {
    const page = await browser.context.newPage();
    await page.goto(`${away}?control`);
    return awayAndBack(page, away);
  },
  "demo, per-tab node, with Vite's dev client (HMR WebSocket)": async () => {
    const page = await browser.context.newPage();
    await page.goto(demo({ node: "per-tab" }));
    await waitForNode(page);
    return awayAndBack(page, away);
  },
  "demo, per-tab node, inert Vite client": async () => {
    await inertViteClient();
    const page = await browser.context.newPage();
    await page.goto(demo({ node: "per-tab" }));
    await waitForNode(page);
    return awayAndBack(page, away);
  },
  "demo, per-tab node, inert Vite client, every RTCPeerConnection closed on pagehide": async () => {
    await inertViteClient();
    await browser.context.addInitScript(CLOSE_RTC_ON_PAGEHIDE);
    const page = await browser.context.newPage();
    await page.goto(demo({ node: "per-tab" }));
    await waitForNode(page);
    return awayAndBack(page, away);
  },
  "demo, shared node (leader), inert Vite client, RTCPeerConnections closed": async () => {
    await inertViteClient();
    await browser.context.addInitScript(CLOSE_RTC_ON_PAGEHIDE);
    const page = await browser.context.newPage();
    await page.goto(demo({}));
    await waitForNode(page);
    return awayAndBack(page, away);
  },
  "demo, per-tab node with a direct WebRTC connection to a peer": async () => {
    await inertViteClient();
    const page = await withPeer(demo({ node: "per-tab", topic: "bfcache probe rtc" }));
    return awayAndBack(page, away);
  },
  "demo, per-tab node with a WebRTC peer, every RTCPeerConnection closed on pagehide": async () => {
    await inertViteClient();
    await browser.context.addInitScript(CLOSE_RTC_ON_PAGEHIDE);
    const page = await withPeer(demo({ node: "per-tab", topic: "bfcache probe rtc closed" }));
    return awayAndBack(page, away);
  },
  "demo, shared node: the leader goes while a follower tab waits for the lock": async () => {
    await inertViteClient();
    await browser.context.addInitScript(CLOSE_RTC_ON_PAGEHIDE);
    const leader = await browser.context.newPage();
    await leader.goto(demo({}));
    await waitForNode(leader);
    const follower = await browser.context.newPage();
    await follower.goto(demo({}));
    await follower.waitForFunction(() => window.p2pandaTab?.role === "follower", undefined, {
      polling: 200,
    });
    const outcome = await awayAndBack(leader, away, async (leftAt) => {
      // Meanwhile: does the follower take over?
      const tookOver = await follower
        .waitForFunction(() => window.p2pandaTab?.role === "leader", undefined, {
          timeout: 10_000,
          polling: 200,
        })
        .then(
          () =>
            `yes, ${Date.now() - leftAt} ms after the leader's navigation began (polled every 200 ms)`,
          () => "no, within 10 s",
        );
      console.log(`  follower took over while the leader was away: ${tookOver}`);
    });
    const roles = await Promise.all(
      [leader, follower].map((p) => p.evaluate(() => window.p2pandaTab?.role ?? "none")),
    );
    console.log(`  after the return: leader tab is ${roles[0]}, follower tab is ${roles[1]}`);
    return outcome;
  },
  "a page holding a Web Lock and a BroadcastChannel, then contention": async () => {
    const page = await browser.context.newPage();
    await page.goto(`${away}?lock`);
    await page.evaluate(() => {
      void navigator.locks.request("probe", () => new Promise(() => {}));
      const channel = new BroadcastChannel("probe");
      channel.onmessage = () => {};
    });
    const other = await browser.context.newPage();
    await other.goto(`${away}?other`);
    return awayAndBack(page, away, async () => {
      const got = await other.evaluate(() =>
        navigator.locks.request("probe", { ifAvailable: true }, (lock) => lock !== null),
      );
      console.log(`  ifAvailable request of the held lock while the holder is away: ${got}`);
    });
  },
};

/** Opens `url` in a tab of the freezable browser and in a peer in another context; waits for a direct WebRTC connection between the two. */
async function withPeer(url: string): Promise<Page> {
  const page = await browser.context.newPage();
  await page.goto(url);
  const peerContext = await browser.browser.newContext();
  const peer = await peerContext.newPage();
  await peer.goto(url);
  const [, peerId] = await Promise.all([waitForNode(page), waitForNode(peer)]);
  await page.waitForFunction(
    (id) =>
      window
        .p2panda!.endpoint.connections()
        .some((c) => c.remote === id && c.transport === "webrtc"),
    peerId,
    { timeout: 60_000, polling: 250 },
  );
  return page;
}

try {
  for (const [name, run] of Object.entries(cases)) {
    if (pick !== undefined && !name.includes(pick)) continue;
    const started = Date.now();
    await browser.close();
    browser = await launchFreezableBrowser();
    const outcome = await run().catch((error: unknown) => ({ error: String(error) }));
    console.log(`\n== ${name} (${Date.now() - started} ms)`);
    console.log(JSON.stringify(outcome, null, 2));
  }
} finally {
  await browser.close();
  await server.close();
  await bootstrap.stop();
}

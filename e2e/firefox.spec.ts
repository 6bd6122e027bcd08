// Firefox as a first-class browser (issue 14): a Chromium tab (Playwright) and a Firefox ESR tab
// (puppeteer-core over WebDriver BiDi; Playwright cannot drive a stock Firefox) on the demo find
// each other by discovery on a topic, open a direct WebRTC connection, exchange gossip both ways
// and sync the chat's signed log both ways; the Firefox tab keeps that log in its IndexedDB
// across a reload. And the SDK's browser code runs in Firefox: the browser benchmarks' modules
// (crypto backends, IndexedDB log store and sync catch-up, IndexedDB address book) in their short
// form, since Vitest's browser mode cannot drive Firefox here (docs/browsers.md). Skipped where
// /usr/bin/firefox-esr is missing (CI installs it, .ci/run).
import { fileURLToPath } from "node:url";
import { expect, test } from "@playwright/test";
import { createServer } from "vite";
import { startBootstrapNode } from "../scripts/bootstrap-node.ts";
import { browserConditions, browserDependencies } from "../scripts/vite-shared.ts";
import { demoUrl } from "./fixtures.ts";
import { type MeasuredTab, openMeasuredTab } from "./support/browser-tabs.ts";
import { type FirefoxBrowser, firefoxUnavailable, launchFirefox } from "./support/firefox.ts";

/** Above the 2 s the issue asks for on a quiet machine: CI and a loaded two-core box are slower. */
const DIRECT_MS = 30_000;
const ARRIVE_MS = 30_000;

/** Writes `text` into the demo's form `form` ("chat" or "gossip") and submits it. */
function submit(tab: MeasuredTab, form: "chat" | "gossip", text: string): Promise<void> {
  return tab.evaluate(
    ([name, value]) => {
      const input = document.querySelector<HTMLInputElement>(`[data-testid="${name}-input"]`)!;
      input.value = value;
      document.querySelector<HTMLFormElement>(`[data-testid="${name}-form"]`)!.requestSubmit();
    },
    [form, text] as const,
  );
}

/** The texts shown in the demo's list `testid` ("chat-message" or "gossip-message"). */
function shown(tab: MeasuredTab, testid: string): Promise<string[]> {
  return tab.evaluate(
    (id) =>
      [...document.querySelectorAll(`[data-testid="${id}"]`)].map(
        (li) => li.querySelector(".text")?.textContent ?? li.textContent ?? "",
      ),
    testid,
  );
}

async function shows(tab: MeasuredTab, testid: string, text: string): Promise<void> {
  await expect
    .poll(async () => (await shown(tab, testid)).some((t) => t.includes(text)), {
      message: `${tab.browser} shows "${text}" in ${testid}`,
      timeout: ARRIVE_MS,
    })
    .toBe(true);
}

test.describe("Chromium and Firefox", () => {
  const unavailable = firefoxUnavailable();
  test.skip(unavailable !== undefined, unavailable ?? "");

  let firefox: FirefoxBrowser;
  test.beforeAll(async () => {
    firefox = await launchFirefox();
  });
  test.afterAll(async () => {
    await firefox?.close();
  });

  test("a Chromium tab and a Firefox tab discover each other, connect directly, gossip and sync a log", async ({
    browser,
  }) => {
    test.setTimeout(180_000);
    const tabs: MeasuredTab[] = [];
    const bootstrap = await startBootstrapNode();
    try {
      const url = demoUrl({
        topic: `e2e firefox ${Date.now().toString(36)}`,
        bootstrapAddress: bootstrap.wsAddress,
      });
      const chrome = await openMeasuredTab("chromium", { chromium: browser }, url);
      tabs.push(chrome);
      // Written before the Firefox tab exists: it can only arrive by log sync.
      await submit(chrome, "chat", "written in chromium");
      await shows(chrome, "chat-message", "written in chromium");
      const fox = await openMeasuredTab("firefox", { firefox: firefox.browser }, url);
      tabs.push(fox);

      const [seenByChrome, seenByFox] = await Promise.all([
        chrome.watchPeer(fox.nodeId, DIRECT_MS),
        fox.watchPeer(chrome.nodeId, DIRECT_MS),
      ]);
      const timelines = JSON.stringify({ chromium: seenByChrome, firefox: seenByFox }, null, 1);
      expect(seenByChrome.directAt, `no direct connection in Chromium: ${timelines}`).toBeDefined();
      expect(seenByFox.directAt, `no direct connection in Firefox: ${timelines}`).toBeDefined();

      await shows(fox, "chat-message", "written in chromium");
      await submit(fox, "gossip", "gossip from firefox");
      await shows(chrome, "gossip-message", "gossip from firefox");
      await submit(chrome, "gossip", "gossip from chromium");
      await shows(fox, "gossip-message", "gossip from chromium");
      await submit(fox, "chat", "written in firefox");
      await shows(chrome, "chat-message", "written in firefox");

      // Alone now: what the Firefox tab shows after a reload comes from its own IndexedDB.
      await chrome.close();
      tabs.shift();
      await fox.reload();
      await shows(fox, "chat-message", "written in chromium");
      await shows(fox, "chat-message", "written in firefox");
      expect([...chrome.errors, ...fox.errors]).toEqual([]);
    } finally {
      for (const tab of tabs) await tab.close().catch(() => {});
      await bootstrap.stop();
    }
  });

  test("the SDK's crypto, IndexedDB stores and sync run in Firefox", async () => {
    test.setTimeout(180_000);
    // The repository served as is (workspace packages from their sources), as bench/browser.ts
    // does for Chromium; bench/browser.html imports a module by path and calls its `run`.
    const server = await createServer({
      root: fileURLToPath(new URL("..", import.meta.url)),
      configFile: false,
      logLevel: "error",
      resolve: { conditions: browserConditions },
      optimizeDeps: { include: browserDependencies },
      server: { host: "127.0.0.1", port: 0, strictPort: false, hmr: false },
    });
    const context = await firefox.browser.createBrowserContext();
    try {
      await server.listen();
      const address = server.httpServer?.address();
      if (address === null || typeof address !== "object") throw new Error("vite did not listen");
      const page = await context.newPage();
      const errors: string[] = [];
      page.on("pageerror", (error) =>
        errors.push(error instanceof Error ? error.message : String(error)),
      );
      await page.goto(`http://127.0.0.1:${address?.port}/bench/browser.html`);
      await page.waitForFunction(
        () => (window as unknown as { __benchReady?: boolean }).__benchReady === true,
        { timeout: 60_000 },
      );
      const run = (path: string) =>
        page.evaluate(
          (modulePath) =>
            (window as unknown as { __bench: (p: string, a: unknown) => Promise<unknown> }).__bench(
              modulePath,
              { quick: true },
            ),
          path,
        );
      // Ed25519 in noble, and in WebCrypto where it passes the SDK's probe (Firefox has Ed25519
      // in WebCrypto since 129, but 140.12 ESR fails to export an imported private key as JWK,
      // which the probe's public key comes from: the SDK then uses noble there).
      const crypto = (await run("bench/crypto.browser.ts")) as {
        rates: Record<string, number | undefined>;
      };
      expect(crypto.rates["noble verify"]).toBeGreaterThan(0);
      const webCryptoVerify = crypto.rates["WebCrypto verify"];
      if (webCryptoVerify !== undefined) expect(webCryptoVerify).toBeGreaterThan(0);
      // Writes 2,000 signed operations to IndexedDB and reads them back (it throws when one is
      // missing), then syncs them to an empty IndexedDB node over the sync protocol.
      const logStore = (await run("bench/log-store.browser.ts")) as {
        indexedDb: { writeOpsPerSecond: number; readOpsPerSecond: number };
        catchUpIndexedDb: { opsPerSecond: number };
      };
      expect(logStore.indexedDb.writeOpsPerSecond).toBeGreaterThan(0);
      expect(logStore.indexedDb.readOpsPerSecond).toBeGreaterThan(0);
      expect(logStore.catchUpIndexedDb.opsPerSecond).toBeGreaterThan(0);
      // The address book's IndexedDB store: writes, reopens, queries.
      const addressBook = (await run("bench/address-book.browser.ts")) as unknown[];
      expect(addressBook.length).toBeGreaterThan(0);
      expect(errors).toEqual([]);
    } finally {
      await context.close().catch(() => {});
      await server.close();
    }
  });
});

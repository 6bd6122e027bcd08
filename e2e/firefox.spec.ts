// Firefox as a first-class browser (issue 14): a Chromium tab (Playwright) and a Firefox ESR tab
// (puppeteer-core over WebDriver BiDi; Playwright cannot drive a stock Firefox) on the demo find
// each other by discovery on a topic, open a direct WebRTC connection, exchange gossip both ways
// and sync the chat's signed log both ways; the Firefox tab keeps that log in its IndexedDB
// across a reload. Skipped where /usr/bin/firefox-esr is missing (CI installs it, .ci/run).
import { expect, test } from "@playwright/test";
import { demoUrl } from "./fixtures.ts";
import { startBootstrapNode } from "../scripts/bootstrap-node.ts";
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
});

// A Chromium whose pages can really be hidden and frozen. Chromium freezes only hidden pages
// (`Page.setWebLifecycleState` on a visible page does nothing), and a page Playwright opens in a
// context of its own never hides: Playwright turns on CDP focus emulation for every such page,
// and Chromium counts a page with focus emulation as captured, hence visible, even behind
// another tab. Pages of the default context of a browser Playwright attaches to with
// `connectOverCDP(…, { noDefaults: true })` get no focus emulation, so this launches Chromium
// itself and uses that context. `scripts/freeze-probe.ts` shows each way that does not work.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "@playwright/test";
import { chromiumArgs, chromiumExecutable } from "../../scripts/chromium.ts";

/** A Chromium of its own, attached through CDP; {@link close} ends its process. */
export interface FreezableBrowser {
  readonly browser: Browser;
  /** The default context: its pages hide behind another tab and can be frozen. */
  readonly context: BrowserContext;
  /** The blank tab it started with: brought to the front, it hides the others. */
  readonly blank: Page;
  close(): Promise<void>;
}

/** Starts headless Chromium (our flags, a fresh profile) and attaches Playwright to it. */
export async function launchFreezableBrowser(): Promise<FreezableBrowser> {
  const executable = chromiumExecutable();
  if (executable === undefined) throw new Error("no Chromium: set CHROMIUM_PATH");
  const profile = await mkdtemp(join(tmpdir(), "p2panda-freezable-"));
  const child = spawn(
    executable,
    [
      ...chromiumArgs,
      "--headless",
      "--remote-debugging-port=0",
      `--user-data-dir=${profile}`,
      // Chromium closes a WebSocket of a page that goes into the bfcache itself where this is
      // on (the Chromium of earlier runs here did so by default). Debian's Chromium 150 has it
      // off, and kept every page out of the cache (reason "websocket") although the page had
      // closed its WebSocket in its pagehide: the close was not through yet.
      "--enable-features=DisconnectWebSocketOnBFCache",
      "about:blank",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  const closeProcess = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
    }
    // Chromium's helper processes can still write into the profile for a moment after the
    // browser closed (CI once failed here with ENOTEMPTY): retry the removal instead of failing.
    await rm(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  };
  try {
    const endpoint = await devToolsEndpoint(child);
    const browser = await chromium.connectOverCDP(endpoint, { noDefaults: true });
    const context = browser.contexts()[0];
    if (context === undefined) throw new Error("Chromium started without a default context");
    const blank = context.pages()[0] ?? (await context.newPage());
    return {
      browser,
      context,
      blank,
      async close() {
        await browser.close().catch(() => {});
        await closeProcess();
      },
    };
  } catch (error) {
    await closeProcess();
    throw error;
  }
}

/** The `ws://…` address Chromium prints on stderr once its DevTools server listens. */
function devToolsEndpoint(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let stderr = "";
    const timer = setTimeout(() => reject(new Error(`Chromium did not start: ${stderr}`)), 30_000);
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /DevTools listening on (ws:\/\/\S+)/.exec(stderr);
      if (match !== null) {
        clearTimeout(timer);
        resolve(match[1] as string);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`Chromium exited (${code}): ${stderr}`));
    });
  });
}

/**
 * Hides `page` (the blank tab comes to the front, as when the user switches tabs) and freezes
 * it, as Chromium does to a background tab; the returned `resume` makes it active and visible
 * again. While frozen, the page runs no task: do not evaluate in it before `resume`.
 */
export async function hideAndFreeze(
  browser: FreezableBrowser,
  page: Page,
): Promise<{ resume(): Promise<void> }> {
  const cdp = await browser.context.newCDPSession(page);
  await browser.blank.bringToFront();
  // Polled by timer: a hidden page runs no animation frames.
  await page.waitForFunction(() => document.visibilityState === "hidden", undefined, {
    polling: 100,
  });
  await cdp.send("Page.setWebLifecycleState", { state: "frozen" });
  return {
    async resume() {
      await cdp.send("Page.setWebLifecycleState", { state: "active" });
      await page.bringToFront();
      await cdp.detach().catch(() => {});
    },
  };
}

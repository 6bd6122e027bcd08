// `node scripts/freeze-probe.ts`: which ways of freezing a page does this headless Chromium honour?
// Tries each way of hiding a page and then freezing it through CDP's `Page.setWebLifecycleState`,
// and prints, per way, whether the page saw `visibilitychange`/`freeze`/`resume` and how many
// 250 ms timer ticks ran during a 3 s freeze (a frozen page runs none). Runs inside a private
// network namespace like the e2e suite (the pages are `about:blank`, nothing is dialled).
// Seen with Chromium 156 and Playwright 1.65: every way in a context Playwright made keeps the
// page visible (Playwright's focus emulation counts as a capture) and the freeze does nothing;
// the default context of a browser attached with `noDefaults` hides and freezes
// (e2e/support/freezable-browser.ts).
import { type Browser, type BrowserContext, chromium, type Page } from "playwright";
import { hideAndFreeze, launchFreezableBrowser } from "../e2e/support/freezable-browser.ts";
import { rerunInNetworkNamespace } from "../e2e/support/netns.ts";
import { chromiumArgs, chromiumExecutable } from "./chromium.ts";

rerunInNetworkNamespace("freeze-probe", "scripts/freeze-probe.ts", process.argv.slice(2));

const FROZEN_MS = 3_000;

interface Probe {
  readonly visibilityBefore: string;
  readonly visibilityFrozen: string;
  readonly events: readonly string[];
  readonly ticksWhileFrozen: number;
  readonly cdpError?: string;
}

async function instrument(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { probe: { events: string[]; ticks: number } };
    w.probe = { events: [], ticks: 0 };
    for (const type of ["freeze", "resume", "visibilitychange"]) {
      document.addEventListener(type, () =>
        w.probe.events.push(type === "visibilitychange" ? document.visibilityState : type),
      );
    }
    setInterval(() => w.probe.ticks++, 250);
  });
}

const state = (page: Page) =>
  page.evaluate(() => {
    const w = window as unknown as { probe: { events: string[]; ticks: number } };
    return { visibility: document.visibilityState, ...w.probe };
  });

/** Hides `page` with `hide`, freezes it for FROZEN_MS through CDP, resumes it, reports. */
async function probe(
  context: BrowserContext,
  page: Page,
  hide: (page: Page) => Promise<void>,
): Promise<Probe> {
  await instrument(page);
  const before = await state(page);
  await hide(page);
  const cdp = await context.newCDPSession(page);
  let cdpError: string | undefined;
  const ticksBefore = (await state(page)).ticks;
  const hidden = await state(page);
  try {
    await cdp.send("Page.setWebLifecycleState", { state: "frozen" });
  } catch (error) {
    cdpError = String(error);
  }
  await new Promise((resolve) => setTimeout(resolve, FROZEN_MS));
  // Read the ticks from the browser side only after resuming: evaluate on a frozen page waits.
  await cdp.send("Page.setWebLifecycleState", { state: "active" }).catch(() => {});
  const after = await state(page);
  return {
    visibilityBefore: before.visibility,
    visibilityFrozen: hidden.visibility,
    events: after.events,
    ticksWhileFrozen: after.ticks - ticksBefore,
    ...(cdpError === undefined ? {} : { cdpError }),
  };
}

const ways: Record<string, (browser: Browser) => Promise<Probe>> = {
  "freeze only (what the lifecycle spec did)": async (browser) => {
    const context = await browser.newContext();
    const page = await context.newPage();
    return probe(context, page, async () => {});
  },
  "another page opened in the same context": async (browser) => {
    const context = await browser.newContext();
    const page = await context.newPage();
    return probe(context, page, async () => {
      await context.newPage();
    });
  },
  "Target.activateTarget of another page": async (browser) => {
    const context = await browser.newContext();
    const page = await context.newPage();
    return probe(context, page, async () => {
      const other = await context.newPage();
      const cdp = await context.newCDPSession(other);
      const { targetInfo } = await cdp.send("Target.getTargetInfo");
      await cdp.send("Target.activateTarget", { targetId: targetInfo.targetId });
      await other.bringToFront();
    });
  },
  "Emulation.setFocusEmulationEnabled(false)": async (browser) => {
    const context = await browser.newContext();
    const page = await context.newPage();
    return probe(context, page, async (p) => {
      const cdp = await context.newCDPSession(p);
      await cdp.send("Emulation.setFocusEmulationEnabled", { enabled: false });
    });
  },
  "window minimised (Browser.setWindowBounds)": async (browser) => {
    const context = await browser.newContext();
    const page = await context.newPage();
    return probe(context, page, async (p) => {
      const cdp = await context.newCDPSession(p);
      const { windowId } = await cdp.send("Browser.getWindowForTarget");
      await cdp.send("Browser.setWindowBounds", { windowId, bounds: { windowState: "minimized" } });
    });
  },
  "a tab opened by window.open, then the opener's window minimised": async (browser) => {
    const context = await browser.newContext();
    const page = await context.newPage();
    return probe(context, page, async (p) => {
      const [popup] = await Promise.all([
        context.waitForEvent("page"),
        p.evaluate(() => void window.open("about:blank")),
      ]);
      await popup.bringToFront();
    });
  },
};

/** The browser context id of `page`'s context and the page's own target id, from CDP. */
async function targetOf(context: BrowserContext, page: Page) {
  const cdp = await context.newCDPSession(page);
  const { targetInfo } = await cdp.send("Target.getTargetInfo");
  return { targetId: targetInfo.targetId, browserContextId: targetInfo.browserContextId };
}

ways["a tab opened by CDP in the same window and activated"] = async (browser) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  return probe(context, page, async (p) => {
    const { browserContextId } = await targetOf(context, p);
    const root = await browser.newBrowserCDPSession();
    const { targetId } = await root.send("Target.createTarget", {
      url: "about:blank",
      browserContextId,
      newWindow: false,
    });
    await root.send("Target.activateTarget", { targetId });
  });
};
ways["the page itself opened by CDP as a background tab"] = async (browser) => {
  const context = await browser.newContext();
  const first = await context.newPage();
  const { browserContextId } = await targetOf(context, first);
  const root = await browser.newBrowserCDPSession();
  const [page] = await Promise.all([
    context.waitForEvent("page"),
    root.send("Target.createTarget", {
      url: "about:blank",
      browserContextId,
      newWindow: false,
      background: true,
    }),
  ]);
  return probe(context, page, async () => {});
};

const launches: Record<string, { ignoreDefaultArgs?: string[] }> = {
  "Playwright's defaults": {},
  "without --disable-renderer-backgrounding and the throttling opt-outs": {
    ignoreDefaultArgs: [
      "--disable-renderer-backgrounding",
      "--disable-background-timer-throttling",
      "--disable-backgrounding-occluded-windows",
    ],
  },
};

const results: Record<string, Record<string, Probe | string>> = {};
for (const [launchName, launch] of Object.entries(launches)) {
  const browser = await chromium.launch({
    executablePath: chromiumExecutable(),
    args: chromiumArgs,
    headless: true,
    ...launch,
  });
  results[launchName] = {};
  for (const [name, way] of Object.entries(ways)) {
    try {
      results[launchName][name] = await way(browser);
    } catch (error) {
      results[launchName][name] = `failed: ${String(error).split("\n")[0]}`;
    }
    const r = results[launchName][name];
    console.log(`${launchName} | ${name}: ${JSON.stringify(r)}`);
  }
  await browser.close();
}
// The way that works: Chromium launched by us, attached with noDefaults, its default context.
{
  const freezable = await launchFreezableBrowser();
  try {
    const page = await freezable.context.newPage();
    await instrument(page);
    const before = await state(page);
    const frozen = await hideAndFreeze(freezable, page);
    await new Promise((resolve) => setTimeout(resolve, FROZEN_MS));
    await frozen.resume();
    const after = await state(page);
    const r: Probe = {
      visibilityBefore: before.visibility,
      visibilityFrozen: "hidden",
      events: after.events,
      ticksWhileFrozen: after.ticks - before.ticks,
    };
    results.freezable = { "default context attached with noDefaults, blank tab to front": r };
    console.log(`freezable browser | default context, blank tab to front: ${JSON.stringify(r)}`);
  } finally {
    await freezable.close();
  }
}
console.log(`RESULT ${JSON.stringify(results)}`);

// Fixtures of the multi-tab suite: the bootstrap node and demo server of the global setup, and
// `openTab()`, which opens the demo as a new simulated user (its own browser context: own
// storage, own identity) and waits until its node runs.
import { type BrowserContext, test as base, expect, type Page } from "@playwright/test";
import { startBootstrapNode } from "../scripts/bootstrap-node.ts";
import { E2E_ENV } from "./global-setup.ts";
import { collectPageErrors, waitForNode } from "./support/tabs.ts";

export { circuitTransportInfo, introduce, waitForNode } from "./support/tabs.ts";
export { expect };

/** One simulated user: a tab running the demo, with its node started. */
export interface DemoTab {
  readonly page: Page;
  readonly context: BrowserContext;
  readonly nodeId: string;
  /** Uncaught errors and `console.error` lines of the page so far (not failed WebSocket dials). */
  readonly errors: string[];
}

export interface OpenTabOptions {
  /**
   * How the page learns the bootstrap address: `"query"` (default) puts it in `?bootstrap=`,
   * `"default"` lets the page fetch `/bootstrap.json` like `npm start` users get it.
   */
  readonly bootstrap?: "query" | "default";
  /** With `bootstrap: "query"`: this bootstrap address instead of the shared one. */
  readonly bootstrapAddress?: string;
  /** Open the tab in this context (same user, e.g. a second tab) instead of a new one. */
  readonly context?: BrowserContext;
  /** The demo's `?topic=` (default: the page's own default topic). */
  readonly topic?: string;
  /** Serve the demo's echo, sink and catch-up protocols (`?bench`, demo/benchmark-protocols.ts). */
  readonly benchmarkProtocols?: boolean;
  /** More query parameters (e.g. `turn` and `relayOnly`, demo/bootstrap-config.ts). */
  readonly query?: Readonly<Record<string, string>>;
}

interface Fixtures {
  bootstrapNode: { nodeId: string; address: string };
  /**
   * A bootstrap node started for this test alone (pass its address as `bootstrapAddress`): the
   * shared one knows every closed tab of earlier tests, and walkers only learn that those are
   * gone by dialling them one by one, which makes timing depend on the test order.
   */
  freshBootstrap: { nodeId: string; address: string };
  openTab(options?: OpenTabOptions): Promise<DemoTab>;
}

function env(name: string): string {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set: is e2e/global-setup.ts running?`);
  return value;
}

/** The URL of the demo with its bootstrap address in the query. */
export function demoUrl(options: OpenTabOptions = {}): string {
  const url = new URL(env(E2E_ENV.baseUrl));
  if (options.bootstrap !== "default") {
    url.searchParams.set("bootstrap", options.bootstrapAddress ?? env(E2E_ENV.bootstrapAddress));
  }
  if (options.topic !== undefined) url.searchParams.set("topic", options.topic);
  if (options.benchmarkProtocols === true) url.searchParams.set("bench", "");
  for (const [name, value] of Object.entries(options.query ?? {})) {
    url.searchParams.set(name, value);
  }
  return url.toString();
}

export const test = base.extend<Fixtures>({
  // biome-ignore lint/correctness/noEmptyPattern: Playwright fixtures destructure their deps.
  bootstrapNode: async ({}, use) => {
    await use({ nodeId: env(E2E_ENV.bootstrapNodeId), address: env(E2E_ENV.bootstrapAddress) });
  },
  // biome-ignore lint/correctness/noEmptyPattern: Playwright fixtures destructure their deps.
  freshBootstrap: async ({}, use) => {
    const node = await startBootstrapNode();
    try {
      await use({ nodeId: node.nodeId, address: node.wsAddress });
    } finally {
      await node.stop();
    }
  },
  openTab: async ({ browser }, use) => {
    const contexts: BrowserContext[] = [];
    await use(async (options = {}) => {
      let context = options.context;
      if (context === undefined) {
        context = await browser.newContext();
        contexts.push(context);
      }
      const page = await context.newPage();
      const errors = collectPageErrors(page);
      await page.goto(demoUrl(options));
      const nodeId = await waitForNode(page);
      return { page, context, nodeId, errors };
    });
    for (const context of contexts) await context.close().catch(() => {});
  },
});

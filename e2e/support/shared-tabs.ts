// Tabs of the demo in shared-node mode (one node per origin), for the shared-node specs: open one,
// ask its role, write a chat line, and wait until lines are in tabs' histories.
import type { BrowserContext, Page } from "@playwright/test";
import type {} from "../../demo/test-hook.ts";
import { expect } from "../fixtures.ts";
import { collectPageErrors } from "./tabs.ts";

/** How long a line may take to show up in every tab. */
export const SYNC_MS = 30_000;

/** One tab of the demo with the errors its page logged. */
export interface SharedTab {
  readonly page: Page;
  readonly errors: string[];
}

/**
 * Opens the demo at `url` in `context` and waits until it runs. `polling`: check by timer every
 * so many ms (a tab behind another runs no animation frames); default, on animation frames.
 */
export async function openShared(
  context: BrowserContext,
  url: string,
  options: { polling?: number } = {},
): Promise<SharedTab> {
  const page = await context.newPage();
  const errors = collectPageErrors(page);
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.state !== "starting", undefined, {
    timeout: 90_000,
    ...(options.polling === undefined ? {} : { polling: options.polling }),
  });
  expect(await page.evaluate(() => document.body.dataset.state)).toBe("running");
  return { page, errors };
}

/** The tab's role in its room: leader, follower, or `undefined` outside shared mode. */
export const role = (tab: SharedTab) => tab.page.evaluate(() => window.p2pandaTab?.role);

/** Writes `line` into the tab's chat. */
export async function write(tab: SharedTab, line: string): Promise<void> {
  await tab.page.getByTestId("chat-input").fill(line);
  await tab.page.getByTestId("chat-input").press("Enter");
}

/** Waits until each of `lines` is in every one of `tabs` exactly once. */
export async function expectLines(
  tabs: readonly SharedTab[],
  lines: readonly string[],
): Promise<void> {
  for (const tab of tabs) {
    for (const line of lines) {
      const exactly = new RegExp(`^${line.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
      await expect(
        tab.page.getByTestId("chat-message").locator(".text", { hasText: exactly }),
        `"${line}" in ${tab.page.url()}`,
      ).toHaveCount(1, { timeout: SYNC_MS });
    }
  }
}

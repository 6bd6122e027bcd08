// The README's one-call start in real Chromium (demo/join-topic.html): two users in two browser
// contexts, and two tabs of one user in one context, exchange an ephemeral message and a synced
// log entry through `joinTopic`; a reload keeps the node id and the log.
import type { BrowserContext, Page } from "@playwright/test";
import { expect, test } from "./fixtures.ts";
import { E2E_ENV } from "./global-setup.ts";
import { collectPageErrors } from "./support/tabs.ts";

const SYNC_MS = 60_000;

interface RoomTab {
  readonly page: Page;
  readonly nodeId: string;
  readonly errors: string[];
}

function pageUrl(topic: string, bootstrap: string, tabs: "shared" | "per-tab"): string {
  const base = process.env[E2E_ENV.baseUrl];
  if (base === undefined) throw new Error("is e2e/global-setup.ts running?");
  const url = new URL("/join-topic.html", base);
  url.searchParams.set("topic", topic);
  url.searchParams.set("namespace", `e2e-${topic}`);
  url.searchParams.set("bootstrap", bootstrap);
  if (tabs === "per-tab") url.searchParams.set("tabs", "per-tab");
  return url.toString();
}

async function joined(page: Page): Promise<string> {
  await page.waitForFunction(() => document.body.dataset.state !== "starting", undefined, {
    timeout: 90_000,
  });
  expect(await page.evaluate(() => document.body.dataset.state)).toBe("running");
  return page.evaluate(() => window.room!.nodeId);
}

async function openRoom(
  context: BrowserContext,
  topic: string,
  bootstrap: string,
  tabs: "shared" | "per-tab" = "shared",
) {
  const page = await context.newPage();
  const errors = collectPageErrors(page);
  await page.goto(pageUrl(topic, bootstrap, tabs));
  return { page, nodeId: await joined(page), errors } satisfies RoomTab;
}

const publish = (tab: RoomTab, text: string) =>
  tab.page.evaluate((t) => window.room!.publish(t), text);
const append = (tab: RoomTab, text: string) =>
  tab.page.evaluate(async (t) => {
    await window.room!.log.append(t);
  }, text);
const messages = (tab: RoomTab) => tab.page.getByTestId("messages").locator("li");
const log = (tab: RoomTab) => tab.page.getByTestId("log").locator("li");

/** A publishes before B is connected (queued), then twice the same text; B appends to the log. */
async function exchange(a: RoomTab, b: RoomTab): Promise<void> {
  expect(b.nodeId).not.toBe(a.nodeId);
  await publish(a, "hello from a");
  await expect(messages(b)).toHaveText(["hello from a"], { timeout: SYNC_MS });
  await publish(a, "again");
  await publish(a, "again");
  await expect(messages(b)).toHaveText(["hello from a", "again", "again"]);

  await append(b, "entry from b");
  await expect(log(a)).toHaveText(["entry from b"], { timeout: SYNC_MS });
  await append(a, "entry from a");
  await expect(log(b)).toHaveText(["entry from b", "entry from a"], { timeout: SYNC_MS });
}

test.describe("joinTopic", () => {
  test("two users exchange a message and a log entry", async ({ browser, freshBootstrap }) => {
    const topic = `e2e join ${Date.now()}`;
    const contexts = [await browser.newContext(), await browser.newContext()];
    try {
      const a = await openRoom(contexts[0]!, topic, freshBootstrap.address);
      const b = await openRoom(contexts[1]!, topic, freshBootstrap.address);
      await exchange(a, b);
      expect([...a.errors, ...b.errors]).toEqual([]);
    } finally {
      for (const context of contexts) await context.close().catch(() => {});
    }
  });

  test("two tabs of one user with a node per tab are two peers that sync, and a reload keeps the node id and the log", async ({
    browser,
    freshBootstrap,
  }) => {
    const topic = `e2e join tabs ${Date.now()}`;
    const context = await browser.newContext();
    try {
      const a = await openRoom(context, topic, freshBootstrap.address, "per-tab");
      const b = await openRoom(context, topic, freshBootstrap.address, "per-tab");
      await exchange(a, b);

      await b.page.reload();
      expect(await joined(b.page)).toBe(b.nodeId);
      await expect(log(b)).toHaveText(["entry from b", "entry from a"]);
      expect([...a.errors, ...b.errors]).toEqual([]);
    } finally {
      await context.close().catch(() => {});
    }
  });

  test("two tabs of one user share one node by default: a follower tab publishes, appends and hears through the leader tab", async ({
    browser,
    freshBootstrap,
  }) => {
    const topic = `e2e join shared ${Date.now()}`;
    const user = await browser.newContext();
    const other = await browser.newContext();
    try {
      const leader = await openRoom(user, topic, freshBootstrap.address);
      const follower = await openRoom(user, topic, freshBootstrap.address);
      expect(follower.nodeId).toBe(leader.nodeId);
      expect(await follower.page.evaluate(() => (window.room as { role?: string }).role)).toBe(
        "follower",
      );
      const outsider = await openRoom(other, topic, freshBootstrap.address);
      expect(outsider.nodeId).not.toBe(leader.nodeId);

      await publish(outsider, "hello to both tabs");
      await expect(messages(leader)).toHaveText(["hello to both tabs"], { timeout: SYNC_MS });
      await expect(messages(follower)).toHaveText(["hello to both tabs"]);
      await publish(follower, "from the follower tab");
      await expect(messages(outsider)).toHaveText(["from the follower tab"], { timeout: SYNC_MS });

      await append(follower, "entry from the follower tab");
      for (const tab of [leader, follower, outsider]) {
        await expect(log(tab)).toHaveText(["entry from the follower tab"], { timeout: SYNC_MS });
      }
      expect([...leader.errors, ...follower.errors, ...outsider.errors]).toEqual([]);
    } finally {
      await user.close().catch(() => {});
      await other.close().catch(() => {});
    }
  });
});

// Five simulated users on one topic: each tab's gossip overlay forms through discovery, a chat
// message published in one tab appears in the other four, and when a tab closes its neighbours
// see it leave while the rest still receive.
import { type DemoTab, expect, test } from "./fixtures.ts";
import { syncDiagnostics } from "./support/tabs.ts";

const TABS = 5;

function neighbourIds(tab: DemoTab): Promise<string[]> {
  return tab.page
    .getByTestId("neighbour")
    .evaluateAll((els) => els.map((e) => e.getAttribute("data-node-id") ?? ""));
}

async function send(tab: DemoTab, text: string): Promise<void> {
  await tab.page.getByTestId("gossip-input").fill(text);
  await tab.page.getByTestId("gossip-send").click();
}

function received(tab: DemoTab, text: string) {
  return tab.page.getByTestId("gossip-message").filter({ hasText: text });
}

test.describe("gossip between tabs", () => {
  test("a message reaches the other four tabs; a closed tab goes down and the rest still hear", async ({
    openTab,
    freshBootstrap,
  }) => {
    test.setTimeout(180_000);
    const topic = `e2e gossip ${Date.now()}`;
    const tabs: DemoTab[] = [];
    for (let i = 0; i < TABS; i++) {
      tabs.push(await openTab({ topic, bootstrapAddress: freshBootstrap.address }));
    }
    try {
      for (const tab of tabs) {
        await expect.poll(() => neighbourIds(tab), { timeout: 90_000 }).not.toEqual([]);
      }
    } catch (error) {
      for (const tab of tabs) console.error(await syncDiagnostics(tab.page));
      throw error;
    }

    await send(tabs[0]!, "hello from tab 0");
    for (const tab of tabs.slice(1)) {
      await expect(received(tab, "hello from tab 0")).toHaveCount(1, { timeout: 30_000 });
    }
    await expect(received(tabs[0]!, "hello from tab 0")).toHaveAttribute("data-own", "true");

    // Close a tab that some other tab has as a neighbour.
    let closed: DemoTab | undefined;
    let watcher: DemoTab | undefined;
    for (const candidate of tabs.slice(1)) {
      for (const other of tabs) {
        if (other !== candidate && (await neighbourIds(other)).includes(candidate.nodeId)) {
          closed = candidate;
          watcher = other;
          break;
        }
      }
      if (closed !== undefined) break;
    }
    expect(closed).toBeDefined();
    await closed!.context.close();
    // NeighbourDown: the endpoint drops the vanished WebRTC peer after failed pings (~8 s).
    await expect(
      watcher!.page.locator(`[data-testid="neighbour"][data-node-id="${closed!.nodeId}"]`),
    ).toHaveCount(0, { timeout: 30_000 });

    const rest = tabs.filter((t) => t !== closed);
    // Every remaining tab has noticed (a message sent into the dead link before that would only
    // arrive through the repair announcements once the failure is detected).
    for (const tab of rest) {
      await expect
        .poll(async () => (await neighbourIds(tab)).includes(closed!.nodeId), { timeout: 30_000 })
        .toBe(false);
    }
    const sender = rest.at(-1)!;
    await expect.poll(() => neighbourIds(sender), { timeout: 60_000 }).not.toEqual([]);
    await send(sender, "after the goodbye");
    for (const tab of rest.filter((t) => t !== sender)) {
      await expect(received(tab, "after the goodbye")).toHaveCount(1, { timeout: 30_000 });
    }
    for (const tab of rest) expect(tab.errors).toEqual([]);
  });
});

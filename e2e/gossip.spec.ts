// Five simulated users on one topic: each tab's gossip overlay forms through discovery, every
// tab lists the others as present, a chat message published in one tab appears in the other
// four (one above 4,096 bytes is refused), and when a tab closes its neighbours see it leave, the
// rest still receive, and its presence expires.
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

function presentIds(tab: DemoTab): Promise<string[]> {
  return tab.page
    .getByTestId("present-node")
    .evaluateAll((els) => els.map((e) => e.getAttribute("data-node-id") ?? "").sort());
}

function received(tab: DemoTab, text: string) {
  return tab.page.getByTestId("gossip-message").filter({ hasText: text });
}

/**
 * Has the first tabs say something, waits until every tab shows all messages and lists every tab
 * as present, then puts their gossip panels side by side in one picture at `path`.
 */
async function screenshotPanels(tabs: DemoTab[], path: string): Promise<void> {
  const lines = ["hi, anyone around?", "yes, reading along", "same here, hello"];
  for (const [i, tab] of tabs.entries()) {
    const line = lines[i % lines.length]!;
    await send(tab, line);
    for (const other of tabs) await expect(received(other, line)).toHaveCount(1);
  }
  const images: string[] = [];
  let width = 12;
  for (const tab of tabs) {
    await expect
      .poll(() => tab.page.getByTestId("present-node").count(), { timeout: 15_000 })
      .toBeGreaterThanOrEqual(tabs.length - 1);
    await tab.page.setViewportSize({ width: 1280, height: 1000 });
    const panel = tab.page.locator("#gossip");
    width += Math.ceil((await panel.boundingBox())?.width ?? 400) + 12;
    images.push((await panel.screenshot()).toString("base64"));
  }
  const sheet = await tabs[0]!.context.newPage();
  await sheet.setViewportSize({ width, height: 200 });
  await sheet.setContent(
    `<body style="margin:0;padding:12px;display:flex;gap:12px;align-items:flex-start">${images
      .map((b) => `<img src="data:image/png;base64,${b}">`)
      .join("")}</body>`,
  );
  await sheet.screenshot({ path, fullPage: true });
  await sheet.close();
}

test.describe("gossip between tabs", () => {
  test("tabs see each other present and hear a message; a closed tab goes down and expires, the rest still hear", async ({
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

    // Presence: every tab hears every other's heartbeats (each one is a new gossip message).
    for (const tab of tabs) {
      const others = tabs.filter((t) => t !== tab).map((t) => t.nodeId);
      await expect.poll(() => presentIds(tab), { timeout: 20_000 }).toEqual(others.sort());
    }

    // Above 4,096 bytes (with the envelope) gossip refuses the message: the page says so.
    await send(tabs[0]!, "x".repeat(4_096));
    await expect(tabs[0]!.page.getByTestId("gossip-error")).toContainText("too long");
    await expect(tabs[0]!.page.getByTestId("gossip-message")).toHaveCount(0);

    await send(tabs[0]!, "hello from tab 0");
    await expect(tabs[0]!.page.getByTestId("gossip-error")).toBeEmpty();
    for (const tab of tabs.slice(1)) {
      await expect(received(tab, "hello from tab 0")).toHaveCount(1, { timeout: 30_000 });
    }
    await expect(received(tabs[0]!, "hello from tab 0")).toHaveAttribute("data-own", "true");
    // `P2PANDA_E2E_GOSSIP_SCREENSHOT=<path>` keeps a picture of three tabs' panels (docs/demo-gossip.png).
    const screenshot = process.env.P2PANDA_E2E_GOSSIP_SCREENSHOT;
    if (screenshot !== undefined) await screenshotPanels(tabs.slice(0, 3), screenshot);

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
    // NeighbourDown: the endpoint drops the vanished WebRTC peer after a ping and its confirmation went unanswered (≤ 11 s).
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
    // The closed tab's presence expires (~10 s after its last heartbeat); the others stay.
    for (const tab of rest) {
      const others = rest.filter((t) => t !== tab).map((t) => t.nodeId);
      await expect.poll(() => presentIds(tab), { timeout: 30_000 }).toEqual(others.sort());
    }
    for (const tab of rest) expect(tab.errors).toEqual([]);
  });
});

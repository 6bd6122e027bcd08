// The demo page as a user opening it sees it: its node, its identity per tab, and a layout that
// fills a wide window, fits a phone and follows the system's theme.
import { expect, test, waitForNode } from "./fixtures.ts";
import { backgroundLuminance, crowdedMapLabels, layoutProblems } from "./support/layout.ts";

test.describe("demo page", () => {
  test("shows its node id and a WebSockets connection to the bootstrap node from /bootstrap.json", async ({
    openTab,
    bootstrapNode,
  }) => {
    const tab = await openTab({ bootstrap: "default" });
    await expect(tab.page.getByTestId("node-id")).toHaveText(/^[0-9a-f]{64}$/);
    await expect(tab.page.getByTestId("node-id")).toHaveText(tab.nodeId);
    await expect(tab.page.getByTestId("status")).toHaveAttribute("data-state", "running");
    const toBootstrap = tab.page.locator(
      `[data-testid="connection"][data-node-id="${bootstrapNode.nodeId}"]`,
    );
    await expect(toBootstrap).toHaveAttribute("data-transport", "websockets");
    await expect(toBootstrap).toHaveAttribute("data-limited", "false");
    expect(await tab.page.evaluate(() => window.p2panda!.bootstrap)).toEqual([
      bootstrapNode.address,
    ]);
    expect(tab.errors).toEqual([]);
  });

  test("with a node per tab: a reload keeps the identity; a second tab of the same origin gets its own", async ({
    openTab,
  }) => {
    // `?node=per-tab`: by default the tabs of one browser context share one node
    // (e2e/shared-node.spec.ts).
    const perTab = { query: { node: "per-tab" } };
    const first = await openTab(perTab);
    await first.page.reload();
    expect(await waitForNode(first.page)).toBe(first.nodeId);

    const second = await openTab({ ...perTab, context: first.context });
    expect(second.nodeId).not.toBe(first.nodeId);
    const slots = await Promise.all(
      [first, second].map((t) => t.page.evaluate(() => window.p2panda!.slot)),
    );
    expect(slots).toEqual([0, 1]);

    // Once the first tab is gone its slot (and identity) is free for the next tab.
    await first.page.close();
    const third = await openTab({ ...perTab, context: first.context });
    expect(third.nodeId).toBe(first.nodeId);
  });
});

test.describe("demo layout", () => {
  test("a chat with who is here and a map that fill the window at 1280×800 and stack on a phone, in the system's light or dark theme", async ({
    browser,
    openTab,
    freshBootstrap,
  }) => {
    const topic = `layout-${Date.now()}`;
    const options = { bootstrapAddress: freshBootstrap.address, topic };
    // Each user's system asks for its own theme: the page follows it (prefers-color-scheme).
    const light = await browser.newContext({ colorScheme: "light" });
    const dark = await browser.newContext({ colorScheme: "dark" });
    try {
      const a = await openTab({ ...options, context: light });
      const b = await openTab({ ...options, context: dark });
      const c = await openTab(options);
      const tabs = [a, b, c];

      // Presence: every tab lists the two others as here now, beside its chat.
      for (const tab of tabs) {
        const others = tabs.filter((t) => t !== tab).map((t) => t.nodeId);
        await expect
          .poll(
            () =>
              tab.page
                .locator('#chat [data-testid="present-node"]')
                .evaluateAll((els) => els.map((e) => e.getAttribute("data-node-id") ?? "").sort()),
            { timeout: 30_000 },
          )
          .toEqual(others.sort());
        await expect(tab.page.getByTestId("presence-count")).toHaveAttribute("data-count", "3");
      }
      await b.page.getByTestId("chat-input").fill("hello from the dark side");
      await b.page.getByTestId("chat-send").click();
      await expect(
        a.page.getByTestId("chat-message").filter({ hasText: "hello from the dark side" }),
      ).toHaveCount(1);
      await a.page.getByTestId("chat-input").fill("and hello from the light one");
      await a.page.getByTestId("chat-send").click();
      await expect(
        b.page.getByTestId("chat-message").filter({ hasText: "and hello from the light one" }),
      ).toHaveCount(1);
      // The map shows the other tabs as sharing the topic, with labels.
      for (const tab of [a, b]) {
        await expect(
          tab.page.locator('[data-testid="known-node"].shares-topic .map-label'),
        ).toHaveCount(2, { timeout: 30_000 });
      }

      expect(await backgroundLuminance(a.page, "body")).toBeGreaterThan(0.8);
      expect(await backgroundLuminance(b.page, "body")).toBeLessThan(0.05);

      for (const tab of [a, b]) {
        await tab.page.setViewportSize({ width: 1280, height: 800 });
        expect(await layoutProblems(tab.page)).toEqual([]);
        // Wide: the three columns fill the window and the page itself does not scroll.
        const fit = await tab.page.evaluate(() => ({
          scroll: document.documentElement.scrollHeight,
          height: window.innerHeight,
          chat: document.querySelector("#chat")?.getBoundingClientRect(),
          map: document.querySelector("#discovery")?.getBoundingClientRect(),
          node: document.querySelector("#node")?.getBoundingClientRect(),
        }));
        expect(fit.scroll).toBeLessThanOrEqual(fit.height);
        expect(fit.chat!.bottom).toBeGreaterThan(fit.height - 40);
        expect(fit.chat!.right).toBeLessThanOrEqual(fit.map!.left);
        expect(fit.map!.right).toBeLessThanOrEqual(fit.node!.left);
      }
      await a.page.screenshot({ path: "docs/demo-light.png" });
      await b.page.screenshot({ path: "docs/demo-dark.png" });

      // A phone: one column, chat first, nothing wider than the screen.
      await a.page.setViewportSize({ width: 390, height: 844 });
      expect(await layoutProblems(a.page)).toEqual([]);
      const chat = await a.page.locator("#chat").boundingBox();
      const map = await a.page.locator("#discovery").boundingBox();
      expect(chat!.width).toBeGreaterThan(330);
      expect(map!.y).toBeGreaterThanOrEqual(chat!.y + chat!.height);
      await a.page.screenshot({ path: "docs/demo-phone.png" });
      // And a tablet in between: two columns, still nothing wider than the screen.
      await a.page.setViewportSize({ width: 820, height: 1180 });
      expect(await layoutProblems(a.page)).toEqual([]);

      // With many nodes the map still labels what it can, never two labels on each other.
      for (const count of [12, 60, 200]) {
        const crowded = await crowdedMapLabels(a.page, count);
        expect(crowded.nodes).toBe(count);
        expect(crowded.labels).toBeGreaterThan(Math.min(count, 20) / 2);
        expect(crowded.problems).toEqual([]);
      }
      for (const tab of tabs) expect(tab.errors).toEqual([]);
    } finally {
      await light.close();
      await dark.close();
    }
  });
});

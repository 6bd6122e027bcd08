// The demo page as a user opening it sees it.
import { expect, test, waitForNode } from "./fixtures.ts";

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

  test("a reload keeps the identity; a second tab of the same origin gets its own", async ({
    openTab,
  }) => {
    const first = await openTab();
    await first.page.reload();
    expect(await waitForNode(first.page)).toBe(first.nodeId);

    const second = await openTab({ context: first.context });
    expect(second.nodeId).not.toBe(first.nodeId);
    const slots = await Promise.all(
      [first, second].map((t) => t.page.evaluate(() => window.p2panda!.slot)),
    );
    expect(slots).toEqual([0, 1]);

    // Once the first tab is gone its slot (and identity) is free for the next tab.
    await first.page.close();
    const third = await openTab({ context: first.context });
    expect(third.nodeId).toBe(first.nodeId);
  });
});

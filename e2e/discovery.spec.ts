// Five simulated users (browser contexts) open the demo on one topic. Through the bootstrap and
// their random walkers they must find each other, end up on direct WebRTC connections, and the
// page must show the walkers moving.
import { type DemoTab, expect, test } from "./fixtures.ts";

const TABS = 5;

test.describe("confidential discovery between tabs", () => {
  test("five tabs on one topic list each other, connect over WebRTC, and their walkers move", async ({
    openTab,
    freshBootstrap,
  }) => {
    test.setTimeout(150_000);
    const topic = `e2e discovery ${Date.now()}`;
    const tabs: DemoTab[] = [];
    for (let i = 0; i < TABS; i++) {
      tabs.push(await openTab({ topic, bootstrapAddress: freshBootstrap.address }));
    }
    const ids = tabs.map((t) => t.nodeId);

    // Walker positions seen on the first tab, sampled while the others converge.
    const seenAt = new Set<string>();
    const sample = async () => {
      for (const at of await tabs[0]!.page
        .getByTestId("walker")
        .evaluateAll((els) => els.map((e) => e.getAttribute("data-at") ?? ""))) {
        if (at !== "") seenAt.add(at);
      }
    };

    for (const tab of tabs) {
      const others = ids.filter((id) => id !== tab.nodeId);
      await expect
        .poll(
          async () => {
            await sample();
            return tab.page
              .getByTestId("known-node")
              .evaluateAll((els) => els.map((e) => e.getAttribute("data-node-id")));
          },
          { timeout: 90_000, intervals: [500] },
        )
        .toEqual(expect.arrayContaining(others));
      await expect
        .poll(
          () =>
            tab.page.evaluate(
              (peers) =>
                window
                  .p2panda!.endpoint.connections()
                  .some((c) => peers.includes(c.remote) && c.transport === "webrtc" && !c.limited),
              others,
            ),
          { timeout: 60_000, intervals: [500] },
        )
        .toBe(true);
    }
    await expect
      .poll(
        async () => {
          await sample();
          return seenAt.size;
        },
        { timeout: 30_000 },
      )
      .toBeGreaterThan(1);
    await expect(tabs[0]!.page.getByTestId("session-log-entry").first()).toBeVisible();
    // `P2PANDA_E2E_DISCOVERY_SCREENSHOT=<path>` keeps a picture of the panel (docs/demo-discovery.png).
    const screenshot = process.env.P2PANDA_E2E_DISCOVERY_SCREENSHOT;
    if (screenshot !== undefined) {
      await tabs[0]!.page.setViewportSize({ width: 1280, height: 1100 });
      await tabs[0]!.page.screenshot({ path: screenshot, fullPage: true });
    }
    for (const tab of tabs) expect(tab.errors).toEqual([]);
  });
});

// The inspector in the demo: two users on one topic through a bootstrap node of their own; the
// second writes a few chat lines before the first arrives, the first opens the inspector with
// the header's button and every section is checked against that tab's node (its id, the other
// tab as a neighbour, a gossip message's path and hop count, the operations it was behind and a
// sync session caught up to 100 %). A screenshot of each section is saved as
// docs/inspector-<section>.png.
import { expect, test } from "./fixtures.ts";

const SECTIONS = ["node", "connections", "address-book", "discovery", "gossip", "sync", "errors"];

test.describe("inspector in the demo", () => {
  test("opens on the tab's node and shows its neighbour, a message's hops and synced logs", async ({
    openTab,
    freshBootstrap,
  }) => {
    const topic = `inspector-${Date.now()}`;
    const options = { bootstrapAddress: freshBootstrap.address, topic };
    // b writes before a exists: a's catch-up with b starts that many operations behind.
    const b = await openTab(options);
    for (const line of ["first", "second", "third"]) {
      await b.page.getByTestId("chat-input").fill(`${line} line before a came`);
      await b.page.getByTestId("chat-send").click();
      await expect(b.page.getByTestId("chat-message").filter({ hasText: line })).toHaveCount(1);
    }
    const a = await openTab(options);
    await a.page.setViewportSize({ width: 1280, height: 800 });

    await a.page.getByTestId("open-inspector").click();
    const inspector = a.page.locator("p2panda-inspector");
    await expect(inspector.getByTestId("inspector-node-id")).toHaveText(a.nodeId);
    await expect(a.page.getByTestId("open-inspector")).toHaveAttribute("aria-expanded", "true");

    // Gossip: b becomes a's neighbour on the topic, as the demo's own panel says too.
    const neighbour = inspector.locator(
      `[data-testid="inspector-neighbour"][data-node-id="${b.nodeId}"]`,
    );
    await expect(neighbour.first()).toBeVisible({ timeout: 60_000 });
    await expect(
      a.page.locator(`[data-testid="neighbour"][data-node-id="${b.nodeId}"]`),
    ).toHaveCount(1);

    // A chat line from b reaches a over one hop (b is a's neighbour).
    await b.page.getByTestId("gossip-input").fill("hello, inspector");
    await b.page.getByTestId("gossip-send").click();
    await expect(
      a.page.getByTestId("gossip-message").filter({ hasText: "hello, inspector" }),
    ).toHaveCount(1);
    // Its path: from b (the author the demo's message names), delivered by b, over one hop.
    const path = inspector
      .locator(
        `[data-testid="inspector-gossip-message"][data-via="${b.nodeId}"][data-origin="${b.nodeId}"]`,
      )
      .first();
    await expect(path).toHaveAttribute("data-hops", "1");
    await expect(path.getByTestId("inspector-hops")).toHaveText("1 hop");

    // Sync: a log entry of b's arrives; a's session with b shows 100 % and live mode.
    await b.page.getByTestId("chat-input").fill("a synced line");
    await b.page.getByTestId("chat-send").click();
    await expect(
      a.page.getByTestId("chat-message").filter({ hasText: "a synced line" }),
    ).toHaveCount(1);
    // (An earlier session with b may have failed and been retried: the live one counts.)
    const session = inspector.locator(
      `[data-testid="inspector-sync-session"][data-node-id="${b.nodeId}"][data-state="live"]`,
    );
    await expect(session.first()).toHaveAttribute("data-progress", "100");
    await expect(session.first()).toHaveAttribute("data-live", "true");
    // Operations behind: what b held that a lacked when their heights were compared, the real
    // difference of their stores then (a held none of b's three lines), all received since.
    const bLines = await b.page.evaluate(
      async () => (await window.p2panda!.chat.operations()).length,
    );
    expect(bLines).toBe(4);
    await expect(session.first()).toHaveAttribute("data-behind", "3");
    await expect(session.first()).toHaveAttribute("data-received", "3");
    await expect(session.first().getByTestId("inspector-sync-behind")).toHaveText(
      "3 operations behind",
    );

    // Connections and the address book name b; discovery logged a session.
    await expect(
      inspector.locator(`[data-testid="inspector-known-node"][data-node-id="${b.nodeId}"]`),
    ).toHaveCount(1);
    await expect(inspector.getByTestId("inspector-connection").first()).toBeVisible();
    await expect(inspector.getByTestId("inspector-session").first()).toBeVisible();
    // The map: b among the nodes that share a topic with a, and a's walkers on it.
    await expect(
      inspector.locator(`[data-testid="inspector-map-node"][data-node-id="${b.nodeId}"].co-topic`),
    ).toHaveCount(1);
    await expect(inspector.getByTestId("inspector-map-walker").first()).toBeAttached();

    for (const section of SECTIONS) {
      // Centred in the drawer first: at its edge the drawer's sticky header would cover it.
      await inspector
        .getByTestId(`inspector-${section}`)
        .evaluate((el) => el.scrollIntoView({ block: "center" }));
      await inspector.getByTestId(`inspector-${section}`).screenshot({
        path: `docs/inspector-${section}.png`,
      });
    }
    await a.page.screenshot({ path: "docs/inspector-demo.png" });
    // On a phone-sized screen the drawer takes the width and the sections stack.
    await a.page.setViewportSize({ width: 390, height: 844 });
    const box = await inspector.boundingBox();
    expect(box?.width).toBeLessThanOrEqual(390);
    await a.page.screenshot({ path: "docs/inspector-phone.png" });
    expect(a.errors).toEqual([]);
  });
});

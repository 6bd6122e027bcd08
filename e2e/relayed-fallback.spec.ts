// The relayed data fallback (`relayedFallback`, issue 14): two tabs whose WebRTC may only use a
// TURN server that is not there (relay-only, so no direct connection can ever be made) run
// discovery, gossip and sync over the bootstrap's circuit relay when its operator allows data
// (`--relay-data-limit`, `--relay-duration-limit`); with those flags off the same tabs know each
// other but get no data path.
import { startCliNode } from "../scripts/bootstrap-node.ts";
import { type DemoTab, expect, test } from "./fixtures.ts";

/** A TURN address where nothing listens: the allocation fails and no ICE candidate remains. */
const NOWHERE = "turn:127.0.0.1:9?transport=udp";

const query = {
  turn: NOWHERE,
  turnUser: "p2panda",
  turnCredential: "p2panda-test",
  relayOnly: "",
  relayedFallback: "",
};

function link(from: DemoTab, to: DemoTab, transport: "webrtc" | "relayed") {
  return from.page.locator(
    `[data-testid="connection"][data-node-id="${to.nodeId}"][data-transport="${transport}"]`,
  );
}

function metric(tab: DemoTab, name: "relayedFallbacks" | "dialsFailed"): Promise<number> {
  return tab.page.evaluate((n) => window.p2panda!.endpoint.metrics[n] ?? 0, name);
}

async function sendGossip(tab: DemoTab, text: string): Promise<void> {
  await tab.page.getByTestId("gossip-input").fill(text);
  await tab.page.getByTestId("gossip-send").click();
}

async function sendChat(tab: DemoTab, text: string): Promise<void> {
  await tab.page.getByTestId("chat-input").fill(text);
  await tab.page.getByTestId("chat-send").click();
}

async function bootstrapWith(args: string[]) {
  return startCliNode({ command: "bootstrap", args });
}

test.describe("relayed data fallback", () => {
  test("without a direct path, two tabs gossip and sync over the bootstrap's relay", async ({
    openTab,
  }) => {
    const boot = await bootstrapWith([
      "--relay-data-limit",
      "1048576",
      "--relay-duration-limit",
      "60",
    ]);
    try {
      const topic = `relayed fallback ${Date.now().toString(36)}`;
      const options = { topic, bootstrapAddress: boot.wsAddress, query };
      const [a, b] = await Promise.all([openTab(options), openTab(options)]);
      // A sync message written before they met reaches the other over the relay.
      await sendChat(b, "written before we met");
      await expect(
        a.page.locator(`[data-testid="neighbour"][data-node-id="${b.nodeId}"]`),
      ).toHaveCount(1, { timeout: 25_000 });
      await sendGossip(b, "gossip through the relay");
      await expect(
        a.page.getByTestId("gossip-message").filter({ hasText: "gossip through the relay" }),
      ).toHaveCount(1);
      await expect(
        a.page.getByTestId("chat-message").filter({ hasText: "written before we met" }),
      ).toHaveCount(1);
      // The data path is a relayed (limited) connection, never a WebRTC one.
      await expect(link(a, b, "relayed").first()).toHaveAttribute("data-limited", "true");
      await expect(link(a, b, "webrtc")).toHaveCount(0);
      expect(
        (await metric(a, "relayedFallbacks")) + (await metric(b, "relayedFallbacks")),
      ).toBeGreaterThan(0);
      expect([...a.errors, ...b.errors]).toEqual([]);
    } finally {
      await boot.stop();
    }
  });

  test("with data relaying off on the bootstrap, the tabs know each other but get no data path", async ({
    openTab,
  }) => {
    const boot = await bootstrapWith([]);
    try {
      const topic = `relayed fallback off ${Date.now().toString(36)}`;
      const options = { topic, bootstrapAddress: boot.wsAddress, query };
      const [a, b] = await Promise.all([openTab(options), openTab(options)]);
      await expect(
        a.page.locator(`[data-testid="known-node"][data-node-id="${b.nodeId}"]`),
      ).toHaveCount(1, { timeout: 20_000 });
      await sendGossip(b, "nobody hears this");
      // They try (and fail) to connect after the message was sent: had any path carried data,
      // the message would have gone over it by then.
      const failed = await metric(a, "dialsFailed");
      await expect
        .poll(() => metric(a, "dialsFailed"), { timeout: 20_000 })
        .toBeGreaterThan(failed);
      await expect(
        a.page.getByTestId("gossip-message").filter({ hasText: "nobody hears this" }),
      ).toHaveCount(0);
      expect(await metric(a, "relayedFallbacks")).toBe(0);
      expect(await metric(b, "relayedFallbacks")).toBe(0);
      await expect(link(a, b, "webrtc")).toHaveCount(0);
    } finally {
      await boot.stop();
    }
  });
});

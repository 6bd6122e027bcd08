// Relay-only mode (`relayOnly`, issue: users who do not want peers to learn their IP address):
// two tabs that may use WebRTC only through a TURN server (coturn, started here) still get
// their direct libp2p connection and chat over it; the same two tabs given a TURN address where
// nothing listens never get one, which shows that no host-to-host path was used.
import { existsSync } from "node:fs";
import { type DemoTab, expect, test } from "./fixtures.ts";
import { startTurnServer, TURNSERVER, type TurnServer } from "./support/turn-server.ts";

function directLink(from: DemoTab, to: DemoTab) {
  return from.page
    .locator(`[data-testid="connection"][data-node-id="${to.nodeId}"][data-transport="webrtc"]`)
    .first();
}

test.describe("relay-only mode", () => {
  test.skip(!existsSync(TURNSERVER), `${TURNSERVER} is missing (apt-get install coturn)`);

  let turn: TurnServer;
  test.beforeEach(async () => {
    turn = await startTurnServer();
  });
  test.afterEach(async () => {
    await turn.stop();
  });

  const query = (url: string) => ({
    turn: url,
    turnUser: "p2panda",
    turnCredential: "p2panda-test",
    relayOnly: "",
  });

  test("two relay-only tabs connect through the TURN server and chat", async ({
    openTab,
    freshBootstrap,
  }) => {
    const topic = `relay only ${Date.now().toString(36)}`;
    const options = { topic, bootstrapAddress: freshBootstrap.address, query: query(turn.url) };
    const [a, b] = await Promise.all([openTab(options), openTab(options)]);
    await expect(directLink(a, b)).toHaveAttribute("data-limited", "false", { timeout: 30_000 });
    await b.page.getByTestId("chat-input").fill("through the relay");
    await b.page.getByTestId("chat-send").click();
    await expect(
      a.page.getByTestId("chat-message").filter({ hasText: "through the relay" }),
    ).toHaveCount(1, { timeout: 15_000 });
    // Both tabs took relay addresses (allocations) from the TURN server.
    expect((await turn.log()).match(/ALLOCATE processed, success/gi)?.length ?? 0).toBeGreaterThan(
      1,
    );
    expect([...a.errors, ...b.errors]).toEqual([]);
  });

  test("with the TURN server out of reach, relay-only tabs know each other but get no WebRTC link", async ({
    openTab,
    freshBootstrap,
  }) => {
    const topic = `relay only, no turn ${Date.now().toString(36)}`;
    // The port of a server that is not there: the allocation fails, so no candidate remains.
    const nowhere = turn.url.replace(/:(\d+)\?/, (_, port) => `:${Number(port) + 1}?`);
    const options = { topic, bootstrapAddress: freshBootstrap.address, query: query(nowhere) };
    const [a, b] = await Promise.all([openTab(options), openTab(options)]);
    // They meet through the bootstrap (its relay carries the signalling)…
    await expect(
      a.page.locator(`[data-testid="known-node"][data-node-id="${b.nodeId}"]`),
    ).toHaveCount(1, { timeout: 30_000 });
    // …and try to connect, but a WebRTC connection would need a host or server-reflexive path,
    // which relay-only forbids: their dials fail.
    const failedDials = () =>
      Promise.all(
        [a, b].map((t) => t.page.evaluate(() => window.p2panda!.endpoint.metrics.dialsFailed)),
      ).then(([x, y]) => (x ?? 0) + (y ?? 0));
    await expect.poll(failedDials, { timeout: 30_000 }).toBeGreaterThan(0);
    await expect(directLink(a, b)).toHaveCount(0);
    await expect(directLink(b, a)).toHaveCount(0);
  });
});

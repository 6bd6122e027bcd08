// Two simulated users (browser contexts) meet through the bootstrap node: each holds a relay
// reservation on it, one learns the other's signed `…/p2p-circuit/webrtc` address and dials it,
// and they end up on a direct WebRTC connection that carries p2panda protocol sessions.
import { expect, introduce, test } from "./fixtures.ts";

const MIB = 1024 * 1024;
/**
 * How fast a closed tab must be noticed. Chromium keeps the peer connection "disconnected" (not
 * "failed") for a long time after the remote tab is gone, and @libp2p/webrtc only closes on
 * "failed"/"closed", so it is the endpoint's liveness ping that notices: every 5 s, closing after
 * a ping and its confirmation went 3 s each without an answer (`DEFAULT_LIVENESS` of the
 * endpoint). Worst case 11 s, plus slack for a loaded 2-core machine.
 */
const PING_INTERVAL_MS = 5_000;
const PING_TIMEOUT_MS = 3_000;
/** The second ping sent after a missed one (`liveness.ts`): only a peer that misses both is gone. */
const PING_CONFIRM_MS = 3_000;
const CLOSE_DETECTION_LIMIT_MS = PING_INTERVAL_MS + PING_TIMEOUT_MS + PING_CONFIRM_MS + 1_500;

test.describe("tab ↔ tab over WebRTC through our relay", () => {
  test("a direct (not relayed) WebRTC connection echoes 1 MiB intact over a protocol session", async ({
    openTab,
  }) => {
    // The echo protocol is one of the demo's benchmark protocols, served only when asked for.
    const [a, b] = await Promise.all([
      openTab({ benchmarkProtocols: true }),
      openTab({ benchmarkProtocols: true }),
    ]);
    await introduce(a, b);

    const { echo, connections } = await a.page.evaluate(
      async ([remote, size]) => {
        const { endpoint, diagnostics } = window.p2panda!;
        const bytes = diagnostics.patternBytes(size as number, 7);
        const echo = await diagnostics.echoBytes(endpoint, remote as never, bytes);
        return { echo, connections: endpoint.connections().filter((c) => c.remote === remote) };
      },
      [b.nodeId, MIB] as const,
    );

    expect(echo).toMatchObject({ sent: MIB, received: MIB, intact: true });
    // `connect` only runs sessions on unlimited connections: every such connection to b is WebRTC.
    const unlimited = connections.filter((c) => !c.limited);
    // (A discovery walker may have opened a second one, in either direction: also WebRTC.)
    expect(unlimited.length).toBeGreaterThan(0);
    expect(new Set(unlimited.map((c) => c.transport))).toEqual(new Set(["webrtc"]));
    // The other tab shows the inbound WebRTC connection in its panel.
    await expect(
      b.page
        .locator(`[data-testid="connection"][data-node-id="${a.nodeId}"][data-transport="webrtc"]`)
        .first(),
    ).toHaveAttribute("data-limited", "false");

    const screenshot = process.env.P2PANDA_E2E_SCREENSHOT;
    if (screenshot !== undefined) {
      await a.page
        .locator(`[data-testid="connection"][data-node-id="${b.nodeId}"][data-transport="webrtc"]`)
        .first()
        .waitFor();
      await a.page.setViewportSize({ width: 1100, height: 720 });
      await a.page.screenshot({ path: screenshot, fullPage: true });
    }
    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);
  });

  test("closing a tab closes its WebRTC connection in the other tab within a ping interval and timeout", async ({
    openTab,
  }) => {
    const [a, b] = await Promise.all([openTab(), openTab()]);
    await introduce(a, b);
    await a.page.evaluate((remote) => window.p2panda!.endpoint.dial(remote as never), b.nodeId);
    // Discovery walkers may open a second WebRTC connection between the tabs: any one will do.
    await expect(
      a.page
        .locator(`[data-testid="connection"][data-node-id="${b.nodeId}"][data-transport="webrtc"]`)
        .first(),
    ).toBeVisible();

    await a.page.evaluate((remote) => {
      const state = window as unknown as { e2eClosedAt: Promise<number> };
      state.e2eClosedAt = new Promise((resolve) => {
        const subscription = window.p2panda!.endpoint.events$.subscribe((event) => {
          if (
            event.type === "endpoint:connection-closed" &&
            event.remote === remote &&
            event.transport === "webrtc"
          ) {
            subscription.unsubscribe();
            resolve(Date.now());
          }
        });
      });
    }, b.nodeId);
    const closing = Date.now();
    await b.context.close();
    const closedAt = await a.page.evaluate(
      () => (window as unknown as { e2eClosedAt: Promise<number> }).e2eClosedAt,
    );

    expect(closedAt - closing).toBeLessThan(CLOSE_DETECTION_LIMIT_MS);
    await expect(
      a.page.locator(
        `[data-testid="connection"][data-node-id="${b.nodeId}"][data-transport="webrtc"]`,
      ),
    ).toHaveCount(0);
  });
});

// Signalling through the overlay (`?overlay`): three tabs meet through the bootstrap; the
// bootstrap stops; two tabs whose connection was closed set up a direct WebRTC connection again,
// signalled through the third. The same set-up signalled through the bootstrap (before it
// stopped) is timed for comparison; both times are printed.
import { type BootstrapNode, startBootstrapNode } from "../scripts/bootstrap-node.ts";
import { type DemoTab, expect, test } from "./fixtures.ts";

function directLink(from: DemoTab, to: DemoTab) {
  return from.page
    .locator(`[data-testid="connection"][data-node-id="${to.nodeId}"][data-transport="webrtc"]`)
    .first();
}

/** The peer id (base58) of a node id, as the page's own libp2p spells it. */
async function peerIdOf(tab: DemoTab): Promise<string> {
  return tab.page.evaluate(() => window.p2panda!.endpoint.libp2p.peerId.toString());
}

/**
 * Makes each tab know the other only at `addressOf(other)` (`<relay>/p2p-circuit/webrtc/p2p/<id>`,
 * a trusted entry), then closes their connection and times, in `a`, until a direct connection
 * to `b` is open again: `a` dials at once, and either side's overlay healer may dial too, both
 * only through that relay.
 */
async function reconnectThrough(
  a: DemoTab,
  b: DemoTab,
  addressOf: (tab: DemoTab) => Promise<string>,
): Promise<number> {
  for (const [self, other] of [
    [a, b],
    [b, a],
  ] as const) {
    const address = await addressOf(other);
    await self.page.evaluate(
      async ({ nodeId, address }) => {
        const book = window.p2panda!.addressBook;
        const current = book.nodeInfo(nodeId as never)!;
        await book.insertNodeInfo({
          ...current,
          transports: { kind: "trusted", addresses: [address] },
        });
      },
      { nodeId: other.nodeId, address },
    );
  }
  return a.page.evaluate(
    async ({ nodeId, peer }) => {
      const hook = window.p2panda!;
      const libp2p = hook.endpoint.libp2p;
      const started = performance.now();
      const reconnected = new Promise<number>((resolve) => {
        const onOpen = (
          event: CustomEvent<{ remotePeer: { toString(): string }; limits?: unknown }>,
        ) => {
          const c = event.detail;
          if (c.remotePeer.toString() !== peer || c.limits !== undefined) return;
          libp2p.removeEventListener("connection:open", onOpen as never);
          resolve(performance.now() - started);
        };
        libp2p.addEventListener("connection:open", onOpen as never);
      });
      for (const connection of libp2p.getConnections()) {
        // A graceful close of a WebRTC connection waits on the remote; the test needs none.
        if (connection.remotePeer.toString() === peer) {
          connection.abort(new Error("the test closes this connection"));
        }
      }
      hook.endpoint.dial(nodeId as never).catch(() => {});
      return reconnected;
    },
    { nodeId: b.nodeId, peer: await peerIdOf(b) },
  );
}

test.describe("signalling through the overlay", () => {
  let boot: BootstrapNode | undefined;
  test.afterEach(async () => {
    await boot?.stop();
  });

  test("two tabs connect directly through a third once the bootstrap is gone", async ({
    openTab,
  }) => {
    test.setTimeout(120_000);
    boot = await startBootstrapNode();
    const topic = `overlay ${Date.now().toString(36)}`;
    const options = { topic, bootstrapAddress: boot.wsAddress, query: { overlay: "" } };
    const [a, b, c] = [await openTab(options), await openTab(options), await openTab(options)];
    for (const [x, y] of [
      [a, b],
      [a, c],
      [b, c],
    ] as const) {
      await expect(directLink(x, y)).toHaveAttribute("data-limited", "false", { timeout: 30_000 });
    }
    const cPeer = await peerIdOf(c);
    const bootPeer = boot.wsAddress.split("/p2p/").at(-1)!;
    // A and B each hold a reservation on C and advertise the circuit through it.
    for (const tab of [a, b]) {
      await expect
        .poll(
          () => tab.page.evaluate(() => window.p2panda!.endpoint.transportInfo()?.addresses ?? []),
          { timeout: 15_000 },
        )
        .toContainEqual(expect.stringContaining(`/p2p/${cPeer}/p2p-circuit/webrtc/`));
    }

    const viaBootstrap = await reconnectThrough(
      a,
      b,
      async (tab) => `${boot!.wsAddress}/p2p-circuit/webrtc/p2p/${await peerIdOf(tab)}`,
    );
    expect(bootPeer).not.toBe(cPeer);
    await boot.stop();
    boot = undefined;
    const viaOverlay = await reconnectThrough(
      a,
      b,
      async (tab) => `/p2p/${cPeer}/p2p-circuit/webrtc/p2p/${await peerIdOf(tab)}`,
    );
    await expect(directLink(a, b)).toHaveAttribute("data-limited", "false", { timeout: 15_000 });
    // The set-up's signalling circuit ran through C.
    const circuits = await a.page.evaluate(
      (bPeer) =>
        window
          .p2panda!.endpoint.libp2p.getConnections()
          .filter((x) => x.remotePeer.toString() === bPeer)
          .map((x) => x.remoteAddr.toString()),
      await peerIdOf(b),
    );
    expect(circuits.some((x) => x.startsWith(`/p2p/${cPeer}/p2p-circuit/webrtc`))).toBe(true);
    console.log(
      `overlay signalling: WebRTC set-up A→B through the bootstrap ${viaBootstrap.toFixed(0)} ms, through tab C (bootstrap stopped) ${viaOverlay.toFixed(0)} ms`,
    );
    expect([...a.errors, ...b.errors, ...c.errors]).toEqual([]);
  });
});

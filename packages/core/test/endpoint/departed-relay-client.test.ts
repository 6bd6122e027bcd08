// A relay forgets a browser node that could only be reached through it once it leaves: with a
// real reservation (a browser-preset endpoint in Node reserving on a Node bootstrap over
// WebSockets), not a hand-made circuit address.
import { AddressBook, memoryAddressBookStore } from "@p2panda-web/address-book";
import { Identity, isStale, transportKind } from "@p2panda-web/core";
import { createEndpoint } from "@p2panda-web/core/endpoint";
import { createNodeEndpoint } from "@p2panda-web/core/node";
import { describe, expect, it } from "vitest";
import { nextEvent } from "./helpers.ts";

/** A Node relay and a browser-preset tab that holds a reservation on it. */
async function relayAndTab() {
  const bootBook = await AddressBook.open(memoryAddressBookStore());
  const bootOptions = {
    identity: await Identity.generate(),
    addressBook: bootBook,
    allowPrivateAddresses: true,
    webrtcDirectPort: false as const,
  };
  const boot = await createNodeEndpoint(bootOptions);
  const ws = boot.addresses().find((a) => transportKind(a) === "websockets") as string;
  const tabBook = await AddressBook.open(memoryAddressBookStore());
  const tab = await createEndpoint({
    identity: await Identity.generate(),
    addressBook: tabBook,
    bootstrap: [ws],
    allowPrivateAddresses: true,
  });
  if (tab.relays().length === 0) {
    await nextEvent(tab.events$, "endpoint:addresses-changed", (e) =>
      e.addresses.some((a) => transportKind(a) === "webrtc"),
    );
  }
  return { bootBook, bootOptions, boot, tabBook, tab };
}

describe("a relay and a tab that leaves", () => {
  it("the tab's only addresses are circuits through the relay: stale at once when it leaves", async () => {
    const { bootBook, boot, tabBook, tab } = await relayAndTab();
    try {
      const info = tab.transportInfo();
      expect(info?.addresses.every((a) => a.includes("/p2p-circuit/"))).toBe(true);
      // What the tab's discovery session with the relay hands over.
      await bootBook.insertTransportInfo(tab.nodeId, info!);
      const closed = nextEvent(
        boot.events$,
        "endpoint:connection-closed",
        (e) => e.remote === tab.nodeId,
      );
      await tab.stop();
      await closed;
      expect(boot.metrics.departedNodes).toBe(1);
      const record = bootBook.nodeInfo(tab.nodeId);
      expect(record && isStale(record)).toBe(true);
    } finally {
      await tab.stop();
      await boot.stop();
      await tabBook.close();
      await bootBook.close();
    }
  }, 30_000);

  it("a relay restarted on its address book treats tabs known only through it as departed", async () => {
    const { bootBook, bootOptions, boot, tabBook, tab } = await relayAndTab();
    let restarted: Awaited<ReturnType<typeof createNodeEndpoint>> | undefined;
    try {
      await bootBook.insertTransportInfo(tab.nodeId, tab.transportInfo()!);
      // The relay goes down (its own stop reports nothing) and comes back on a new port.
      await boot.stop();
      expect(isStale(bootBook.nodeInfo(tab.nodeId)!)).toBe(false);
      restarted = await createNodeEndpoint(bootOptions);
      expect(restarted.metrics.departedNodes).toBe(1);
      expect(isStale(bootBook.nodeInfo(tab.nodeId)!)).toBe(true);
    } finally {
      await tab.stop();
      await boot.stop();
      await restarted?.stop();
      await tabBook.close();
      await bootBook.close();
    }
  }, 30_000);
});

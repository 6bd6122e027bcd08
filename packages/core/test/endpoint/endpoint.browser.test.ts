import { AddressBook, memoryAddressBookStore } from "@p2panda-web/address-book";
import { Identity } from "@p2panda-web/core";
import { createEndpoint } from "@p2panda-web/core/endpoint";
import { createMemoryEndpoint } from "@p2panda-web/core/memory";
import { describe, expect, it } from "vitest";

// The endpoint in real Chromium: the browser preset starts (WebRTC, WebSockets, WebTransport,
// circuit relay), and two endpoints in one page talk over libp2p's memory transport.
describe("endpoint in Chromium", () => {
  it("starts the browser preset and exchanges messages between two in-page endpoints", async () => {
    const book = await AddressBook.open(memoryAddressBookStore());
    const browser = await createEndpoint({
      identity: await Identity.generate(),
      addressBook: book,
    });
    expect(browser.transportInfo()?.addresses).toEqual([]);
    await browser.stop();

    const books = [
      await AddressBook.open(memoryAddressBookStore()),
      await AddressBook.open(memoryAddressBookStore()),
    ] as const;
    const a = await createMemoryEndpoint({
      identity: await Identity.generate(),
      addressBook: books[0],
    });
    const b = await createMemoryEndpoint({
      identity: await Identity.generate(),
      addressBook: books[1],
    });
    a.accept("test/echo/v1", async (channel) => {
      const message = await channel.receive();
      await channel.send(message);
      await channel.close();
    });
    await books[1].insertTransportInfo(a.nodeId, a.transportInfo()!);
    const channel = await b.connect(a.nodeId, "test/echo/v1");
    await channel.send({ in: "chromium" });
    expect(await channel.receive()).toEqual({ in: "chromium" });
    await a.stop();
    await b.stop();
  });
});

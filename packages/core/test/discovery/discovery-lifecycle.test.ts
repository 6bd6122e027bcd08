import { AddressBook, memoryAddressBookStore } from "@p2panda-web/address-book";
import { expect, it } from "vitest";
import { DiscoveryService } from "../../src/discovery/index.ts";
import { MemoryNetwork } from "../../src/endpoint/memory-network.ts";
import { Identity } from "../../src/identity/identity.ts";
import { seededRng } from "../../src/random.ts";
import { ServiceStoppedError } from "../../src/runtime/lifecycle.ts";
import { describeLifecycle } from "../lifecycle-suite.ts";

async function subject() {
  const identity = await Identity.generate();
  const book = await AddressBook.open(memoryAddressBookStore());
  const service = new DiscoveryService({
    endpoint: new MemoryNetwork().endpoint(identity.nodeId),
    addressBook: book,
    rng: seededRng(1),
  });
  return { service, dispose: () => book.close() };
}

describeLifecycle("DiscoveryService", subject);

it("a stopped DiscoveryService does not walk again: start rejects and walkers$ stays completed", async () => {
  const { service, dispose } = await subject();
  try {
    await service.start();
    let walkersCompleted = false;
    service.walkers$.subscribe({ complete: () => (walkersCompleted = true) });
    await service.stop();
    expect(walkersCompleted).toBe(true);
    await expect(service.start()).rejects.toBeInstanceOf(ServiceStoppedError);
    expect(service.state).toBe("stopped");
  } finally {
    await dispose();
  }
});

import { AddressBook, memoryAddressBookStore } from "@p2panda-web/address-book";
import { expect, it } from "vitest";
import { MemoryNetwork } from "../../src/endpoint/memory-network.ts";
import { GossipService, GossipStoppedError } from "../../src/gossip/index.ts";
import { Topic } from "../../src/ids/topic.ts";
import { seededRng } from "../../src/random.ts";
import { ServiceStoppedError } from "../../src/runtime/lifecycle.ts";
import { describeLifecycle } from "../lifecycle-suite.ts";
import { nodeId } from "./helpers.ts";

async function subject() {
  const book = await AddressBook.open(memoryAddressBookStore());
  const service = new GossipService({
    endpoint: new MemoryNetwork().endpoint(nodeId(1)),
    addressBook: book,
    rng: seededRng(1),
  });
  return {
    service,
    use: () => service.stream(Topic.fromName("lifecycle")),
    dispose: () => book.close(),
  };
}

describeLifecycle("GossipService", subject);

it("GossipStoppedError is a ServiceStoppedError that keeps its code", async () => {
  const { service, use, dispose } = await subject();
  try {
    await service.stop();
    const error = await use().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GossipStoppedError);
    expect(error).toBeInstanceOf(ServiceStoppedError);
    expect((error as GossipStoppedError).code).toBe("GOSSIP_STOPPED");
    expect((error as GossipStoppedError).service).toBe("gossip");
  } finally {
    await dispose();
  }
});

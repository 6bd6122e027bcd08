// The example of docs/testkit.md, run as it is written there: a third party's adapters through
// the conformance suites, and a simulator run. The in-memory stores stand in for "your" adapters.
import { memoryAddressBookStore } from "@p2panda-web/address-book";
import { MemoryLogStore, MemoryTopicStore } from "@p2panda-web/core/sync";
import { describeAddressBookConformance } from "@p2panda-web/testkit/address-book";
import {
  describeLogStoreConformance,
  describeTopicStoreConformance,
} from "@p2panda-web/testkit/log-store";
import { DiscoverySimulator } from "@p2panda-web/testkit/sim";
import { describe, expect, it } from "vitest";

// Your adapters: here thin wrappers, so that the example runs as it is.
class MyLogStore extends MemoryLogStore {}
class MyTopicStore extends MemoryTopicStore {}
const myAddressBookStore = memoryAddressBookStore;

// One call per seam: a factory that gives the suite a fresh, empty store for each test.
describeLogStoreConformance("my log store", async () => ({ store: new MyLogStore() }));
describeTopicStoreConformance("my topic store", async () => ({ store: new MyTopicStore() }));
describeAddressBookConformance("my address book store", async () => myAddressBookStore());

describe("a discovery simulation", () => {
  it("50 nodes on 5 topics all find their co-topic peers, the same way for the same seed", () => {
    const options = { nodes: 50, topics: 5, topicsPerNode: 1, bootstrapNodes: 2, seed: 7 };
    const report = new DiscoverySimulator(options).run({ maxVirtualMs: 600_000 });
    expect(report.converged).toBe(true);
    expect(report.measuredNodes).toBe(50);
    const again = new DiscoverySimulator(options).run({ maxVirtualMs: 600_000 });
    expect(again.convergenceMs).toEqual(report.convergenceMs);
  });
});

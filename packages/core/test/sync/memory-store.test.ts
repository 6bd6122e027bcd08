import { MemoryLogStore, MemoryTopicStore } from "../../src/sync/store/memory.ts";
import { describeLogStoreConformance, describeTopicStoreConformance } from "./store-conformance.ts";

describeLogStoreConformance("memory", async () => ({ store: new MemoryLogStore() }));
describeTopicStoreConformance("memory", async () => ({ store: new MemoryTopicStore() }));

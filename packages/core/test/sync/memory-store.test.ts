import {
  describeLogStoreConformance,
  describeTopicStoreConformance,
} from "@p2panda-web/testkit/log-store";
import { MemoryLogStore, MemoryTopicStore } from "../../src/sync/store/memory.ts";

describeLogStoreConformance("memory", async () => ({ store: new MemoryLogStore() }));
describeTopicStoreConformance("memory", async () => ({ store: new MemoryTopicStore() }));

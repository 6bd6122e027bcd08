// One node per origin in Node: fake-indexeddb stands in for the origin's IndexedDB, realm locks
// for the Web Locks every tab shares.
import "fake-indexeddb/auto";
import { memoryLocks } from "../src/index.ts";
import { describeSharedRoom } from "./shared-room-suite.ts";

describeSharedRoom(memoryLocks);

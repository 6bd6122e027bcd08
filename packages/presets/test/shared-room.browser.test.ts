// One node per origin in Chromium: IndexedDB, the Web Locks API (the election) and
// BroadcastChannel, between "tabs" that are joins of one page.
import { defaultIdentityLocks } from "../src/index.ts";
import { describeSharedRoom } from "./shared-room-suite.ts";

describeSharedRoom(defaultIdentityLocks);

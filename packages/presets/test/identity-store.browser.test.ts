// The stored identities in Chromium: real IndexedDB and the Web Locks API.
import { defaultIdentityLocks } from "../src/index.ts";
import { describeIdentityStore } from "./identity-store-suite.ts";

describeIdentityStore(defaultIdentityLocks);

import { memoryAddressBookStore } from "../src/index.ts";
import { describeAddressBookConformance } from "./conformance.ts";

describeAddressBookConformance("memory", async () => memoryAddressBookStore());

import { describeAddressBookConformance } from "@p2panda-web/testkit/address-book";
import { memoryAddressBookStore } from "../src/index.ts";

describeAddressBookConformance("memory", async () => memoryAddressBookStore());

// Where a CLI node keeps what it must remember: the Node.js storage preset. SQLite files in
// `--data-dir` (node:sqlite, no native build), in memory without it. It lives here and not in
// @p2panda-web/core because the stores come from @p2panda-web/address-book and
// @p2panda-web/log-store, which depend on core.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { AddressBook, memoryAddressBookStore } from "@p2panda-web/address-book";
import { sqliteAddressBookStore } from "@p2panda-web/address-book/sqlite";
import type { NodeSyncStores } from "@p2panda-web/core";
import { MemoryLogStore, MemoryTopicStore } from "@p2panda-web/core/sync";
import { openSqliteSyncStores } from "@p2panda-web/log-store/sqlite";

/** File name of the SQLite address book inside `--data-dir`. */
export const ADDRESS_BOOK_FILE = "address-book.sqlite";

/** File name of the SQLite log store inside `--data-dir`. */
export const LOG_STORE_FILE = "logs.sqlite";

/** Opens the address book: `dataDir`/{@link ADDRESS_BOOK_FILE}, or in memory without a dir. */
export async function openAddressBook(dataDir: string | undefined): Promise<AddressBook> {
  if (dataDir === undefined) return AddressBook.open(memoryAddressBookStore());
  await mkdir(dataDir, { recursive: true });
  return AddressBook.open(await sqliteAddressBookStore(join(dataDir, ADDRESS_BOOK_FILE)));
}

/**
 * Opens sync's stores: `dataDir`/{@link LOG_STORE_FILE}, or in memory without a dir; says which
 * on `progress`.
 */
export async function openSyncStores(
  dataDir: string | undefined,
  progress: (line: string) => void,
): Promise<NodeSyncStores> {
  if (dataDir === undefined) {
    progress("sync: no --data-dir, logs are kept in memory and forgotten on exit");
    return { logStore: new MemoryLogStore(), topicStore: new MemoryTopicStore() };
  }
  const path = join(dataDir, LOG_STORE_FILE);
  const stores = await openSqliteSyncStores(path);
  progress(`sync: logs in ${path}`);
  return stores;
}

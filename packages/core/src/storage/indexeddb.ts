/**
 * Asks the browser not to evict this origin's storage (`navigator.storage.persist()`): without
 * it IndexedDB is "best effort" and may be cleared under disk pressure. Resolves to whether
 * storage is persistent; `false` where the API is missing or the browser declines (Chromium
 * grants it by heuristics such as engagement or an installed app). Never throws.
 */
export async function requestPersistentStorage(): Promise<boolean> {
  try {
    const storage = (globalThis.navigator as Navigator | undefined)?.storage;
    if (storage?.persist === undefined) return false;
    return (await storage.persisted()) || (await storage.persist());
  } catch {
    return false;
  }
}

/**
 * Opens the IndexedDB database `name` at `version`, creating any of `objectStores` that is
 * missing (out-of-line keys). Rejects with the browser's error when the database cannot be
 * opened, for instance when it already has a newer version (a newer app wrote it) or another
 * connection blocks the upgrade. `factory` lets Node tests pass fake-indexeddb.
 */
export function openIndexedDb(
  name: string,
  version: number,
  objectStores: readonly string[],
  factory: IDBFactory,
): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = factory.open(name, version);
    request.onupgradeneeded = () => {
      const db = request.result;
      for (const store of objectStores) {
        if (!db.objectStoreNames.contains(store)) db.createObjectStore(store);
      }
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error(`cannot open ${name}`));
    request.onblocked = () => reject(new Error(`opening ${name} is blocked by another connection`));
  });
}

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

/**
 * What an IndexedDB request gives, as a promise: resolves with its result, rejects with its
 * error. (The stores use the raw API with these two helpers rather than a wrapper library, to
 * keep the browser bundle small.)
 */
export function idbResult<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** The transactions of this realm that have neither committed nor aborted yet. */
const running = new Set<IDBTransaction>();

/**
 * Remembers `tx` until it commits or aborts, for {@link suspendIdbTransactions} (which aborts
 * it), or aborts it at once while transactions are suspended. Returns `tx`.
 * Every store of ours calls it (or {@link idbTransactionDone}) on each transaction it opens.
 */
export function trackIdbTransaction(tx: IDBTransaction): IDBTransaction {
  if (suspended) {
    abort(tx);
    return tx;
  }
  running.add(tx);
  const end = (): void => {
    running.delete(tx);
  };
  tx.addEventListener("complete", end);
  tx.addEventListener("abort", end);
  return tx;
}

/** While set, a new transaction is aborted as soon as it is tracked. */
let suspended = false;

/**
 * Aborts every transaction of this realm still running, and every new one until
 * {@link resumeIdbTransactions}; returns how many it aborted now. For a page being frozen: a
 * frozen page's transaction never commits (its requests' results are not delivered, so it never
 * asks to commit), and until it does, every other tab's transaction on the same stores waits;
 * what the page starts after this call within the `freeze` event (a node flushing its stores as
 * it stops) would hold them too. A shared-node leader stepping down calls it.
 */
export function suspendIdbTransactions(): number {
  suspended = true;
  let aborted = 0;
  for (const tx of [...running]) {
    running.delete(tx);
    if (abort(tx)) aborted++;
  }
  return aborted;
}

/** Lets transactions run again after {@link suspendIdbTransactions} (the page resumed). */
export function resumeIdbTransactions(): void {
  suspended = false;
}

function abort(tx: IDBTransaction): boolean {
  try {
    tx.abort();
    return true;
  } catch {
    return false; // Finished meanwhile (InvalidStateError): nothing to abort.
  }
}

/**
 * Settles when `tx` commits (resolves) or fails (rejects with its error). Call it as soon as the
 * transaction is created: one whose requests are done may commit before a later call listens.
 * A rejection nobody awaits is not reported as unhandled (the caller may have thrown already).
 */
export function idbTransactionDone(tx: IDBTransaction): Promise<void> {
  trackIdbTransaction(tx);
  const done = new Promise<void>((resolve, reject) => {
    // A failed request's error reaches the transaction before the abort it causes, and names
    // the cause (the transaction's own `error` is only set by the abort).
    const fail = (event: Event): void =>
      reject(
        (event.target as Partial<IDBRequest> | null)?.error ??
          tx.error ??
          new DOMException("the transaction was aborted", "AbortError"),
      );
    tx.addEventListener("complete", () => resolve());
    tx.addEventListener("error", fail);
    tx.addEventListener("abort", fail);
  });
  done.catch(() => {});
  return done;
}

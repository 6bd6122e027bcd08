// Identities kept across reloads: they live in IndexedDB under numbered slots, and a tab holds
// the Web Lock of the slot it uses for as long as it is open. With `?node=per-tab` a new tab
// takes the lowest free slot, so a reload gets its identity back while a second tab of the same
// origin gets (or creates) another one instead of impersonating the first. In shared mode (the
// default) the tabs queue for slot 0's lock: its holder leads and runs the one node.
import { Identity } from "@p2panda-web/core";

const DB_NAME = "p2panda-demo";
const STORE = "identities";
const LOCK_PREFIX = "p2panda-demo-identity-";
/** More tabs than this at once on one origin get a throwaway identity. */
const MAX_SLOTS = 64;

/** The identity of this tab and the slot (and lock) it occupies. */
export interface IdentitySlot {
  readonly identity: Identity;
  /** `undefined` when every slot was taken and the identity is not persisted. */
  readonly slot: number | undefined;
}

function openDatabase(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function run<T>(
  db: IDBDatabase,
  mode: IDBTransactionMode,
  work: (s: IDBObjectStore) => IDBRequest<T>,
): Promise<T> {
  return new Promise((resolve, reject) => {
    // `strict`: a lost write would silently give the tab a new node id on the next reload.
    const tx = db.transaction(STORE, mode, { durability: "strict" });
    const request = work(tx.objectStore(STORE));
    tx.oncomplete = () => resolve(request.result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

/** Resolves once the lock is held; the lock is released when the tab goes away. */
function tryLock(name: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    navigator.locks
      .request(name, { ifAvailable: true }, (lock) => {
        resolve(lock !== null);
        // Returning a promise that never settles keeps the lock until the page unloads.
        return lock === null ? undefined : new Promise<never>(() => {});
      })
      .catch(reject);
  });
}

/** The name of the Web Lock of an identity slot (slot 0's elects the shared node's leader). */
export function slotLockName(slot: number): string {
  return `${LOCK_PREFIX}${slot}`;
}

/** Loads the identity of `slot`, or creates and stores one; the caller holds the slot's lock. */
export async function loadIdentitySlot(slot: number): Promise<Identity> {
  const db = await openDatabase();
  try {
    const stored = await run(db, "readonly", (s) => s.get(slot) as IDBRequest<unknown>);
    if (stored instanceof Uint8Array) return await Identity.fromSecretKey(stored);
    const identity = await Identity.generate();
    await run(db, "readwrite", (s) => s.put(identity.secretKey, slot));
    return identity;
  } finally {
    db.close();
  }
}

/** Takes the lowest free identity slot, loading its identity or creating and storing one. */
export async function acquireIdentitySlot(): Promise<IdentitySlot> {
  for (let slot = 0; slot < MAX_SLOTS; slot++) {
    if (!(await tryLock(slotLockName(slot)))) continue;
    return { identity: await loadIdentitySlot(slot), slot };
  }
  return { identity: await Identity.generate(), slot: undefined };
}

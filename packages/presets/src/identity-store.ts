// Identities kept per origin. A browser profile shares one IndexedDB per origin among its tabs,
// and two nodes with one node id break everything (each takes the other's connections, relay
// reservation and log), so an identity is used by one holder at a time: identities live in
// numbered slots, and a holder keeps the Web Lock of its slot for as long as it runs. The first
// tab takes slot 0 and gets the same node id on every reload; a second tab of the same profile
// finds slot 0 locked and takes slot 1 (its own identity, and with it its own stores), and so on.
//
// The key is stored as its 32-byte Ed25519 seed, not as a non-extractable WebCrypto key:
// libp2p signs its Noise handshakes and peer records with a `PrivateKey` that must expose its
// raw bytes (`PrivateKey.raw`, the seed ‖ public key), which a non-extractable `CryptoKey`
// cannot give. The seed sits in IndexedDB like the logs: readable by the origin's own scripts,
// not by other origins.
import { Identity, openIndexedDb, type Topic } from "@p2panda-web/core";
import { topicStorageKey } from "./store-names.ts";

/** Exclusive named locks across every tab of the origin (the Web Locks API) or in one process. */
export interface IdentityLocks {
  /**
   * Takes `name` if nobody holds it; resolves to its release function (which resolves once the
   * lock is free again), or to `undefined` if it is held.
   */
  tryAcquire(name: string): Promise<(() => Promise<void>) | undefined>;
}

/** Locks of the Web Locks API (`navigator.locks`), shared by every tab and worker of the origin. */
export function webLocks(locks: LockManager): IdentityLocks {
  return {
    tryAcquire(name) {
      return new Promise((resolve, reject) => {
        const released = locks
          .request(name, { ifAvailable: true }, (lock) => {
            if (lock === null) {
              resolve(undefined);
              return undefined;
            }
            // The lock is held until the returned promise settles: on release, or when the
            // tab goes away. `request` itself settles only once the lock is free again.
            return new Promise<void>((release) =>
              resolve(async () => {
                release();
                await released;
              }),
            );
          })
          .then(() => {});
        released.catch(reject);
      });
    },
  };
}

/** Locks within this JavaScript realm only (Node.js, tests, browsers without Web Locks). */
export function memoryLocks(): IdentityLocks {
  const held = new Set<string>();
  return {
    async tryAcquire(name) {
      if (held.has(name)) return undefined;
      held.add(name);
      return async () => {
        held.delete(name);
      };
    },
  };
}

const realmLocks = memoryLocks();

/** The Web Locks of this runtime, or locks of this realm where it has none. */
export function defaultIdentityLocks(): IdentityLocks {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  return locks === undefined ? realmLocks : webLocks(locks);
}

/** Options of {@link acquireStoredIdentity}. */
export interface StoredIdentityOptions {
  /** The app's namespace: apps of one origin keep their identities apart. */
  readonly namespace: string;
  readonly topic: Topic;
  /** Default `globalThis.indexedDB` (Node tests pass fake-indexeddb). */
  readonly indexedDB?: IDBFactory;
  /** Default {@link defaultIdentityLocks}. */
  readonly locks?: IdentityLocks;
  /** Slots to try before falling back to an identity that is not kept. Default 8. */
  readonly maxSlots?: number;
}

/** An identity taken by {@link acquireStoredIdentity}. */
export interface StoredIdentity {
  readonly identity: Identity;
  /** Its slot, or `undefined` when every slot was held and the identity is not kept. */
  readonly slot: number | undefined;
  /** Frees the slot for the next holder; resolves once it is free (idempotent). */
  release(): Promise<void>;
}

/** Name of the IndexedDB database that holds the identities of every app of the origin. */
export const IDENTITY_DATABASE = "p2panda-web/identities";
const STORE = "identities";

function request<T>(
  db: IDBDatabase,
  mode: IDBTransactionMode,
  work: (store: IDBObjectStore) => IDBRequest<T>,
): Promise<T> {
  return new Promise((resolve, reject) => {
    // `strict`: a lost write would silently give the next load a new node id.
    const tx = db.transaction(STORE, mode, { durability: "strict" });
    const req = work(tx.objectStore(STORE));
    tx.oncomplete = () => resolve(req.result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

/**
 * Takes the lowest free identity slot of `namespace` and `topic`: loads the identity stored in
 * it, or makes one and stores it. The slot stays taken until `release()` (or the tab closes).
 * When every slot is held, or the runtime has no IndexedDB, returns a new identity that is not
 * stored (`slot: undefined`).
 *
 * @throws the browser's error when IndexedDB cannot be opened or written.
 */
export async function acquireStoredIdentity(
  options: StoredIdentityOptions,
): Promise<StoredIdentity> {
  const locks = options.locks ?? defaultIdentityLocks();
  const factory = options.indexedDB ?? (globalThis.indexedDB as IDBFactory | undefined);
  // No IndexedDB (a runtime without it): nothing can be kept, so nothing is locked either.
  if (factory === undefined) return notKept();
  const scope = `${options.namespace}/${topicStorageKey(options.topic)}`;
  const maxSlots = options.maxSlots ?? 8;
  for (let slot = 0; slot < maxSlots; slot++) {
    const release = await locks.tryAcquire(`${IDENTITY_DATABASE}/${scope}/${slot}`);
    if (release === undefined) continue;
    try {
      const identity = await loadOrCreate(factory, `${scope}/${slot}`);
      let released: Promise<void> | undefined;
      return {
        identity,
        slot,
        release: () => {
          released ??= release();
          return released;
        },
      };
    } catch (error) {
      await release();
      throw error;
    }
  }
  return notKept();
}

async function notKept(): Promise<StoredIdentity> {
  return { identity: await Identity.generate(), slot: undefined, release: async () => {} };
}

async function loadOrCreate(factory: IDBFactory, key: string): Promise<Identity> {
  const db = await openIndexedDb(IDENTITY_DATABASE, 1, [STORE], factory);
  try {
    const stored = await request(db, "readonly", (s) => s.get(key) as IDBRequest<unknown>);
    if (stored instanceof Uint8Array) return await Identity.fromSecretKey(stored);
    const identity = await Identity.generate();
    await request(db, "readwrite", (s) => s.put(identity.secretKey, key));
    return identity;
  } finally {
    db.close();
  }
}

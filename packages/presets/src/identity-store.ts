// Identities kept per origin. A browser profile shares one IndexedDB per origin among its tabs,
// and two nodes with one node id break everything (each takes the other's connections, relay
// reservation and log), so an identity is used by one holder at a time: identities live in
// numbered slots, and a holder keeps the Web Lock of its slot for as long as it runs. The first
// tab takes slot 0 and gets the same node id on every reload; a second tab of the same profile
// finds slot 0 locked and takes slot 1 (its own identity, and with it its own stores), and so on.
//
// The key is stored as its 32-byte Ed25519 seed, not as a non-extractable WebCrypto key, even
// where the browser has one (Chromium does: `crypto.subtle.generateKey({ name: "Ed25519" },
// false, ["sign", "verify"])` works there, checked in e2e/lifecycle.spec.ts). Such a key would
// keep the seed out of reach of a script injected into the origin, but the node could not use
// it: libp2p signs its Noise handshakes and peer records with a `PrivateKey` whose `raw` bytes
// (the seed ‖ public key) it reads synchronously, and our operations are signed through the
// synchronous `Identity` of @noble/ed25519. An async signing path through `Identity` would not
// reach libp2p's handshake, so the node would still need the seed. The seed sits in IndexedDB
// like the logs: readable by the origin's own scripts (which can also read and write every log
// the node keeps), not by other origins; the logs are as exposed as the key.
import { Identity, openIndexedDb, type Topic } from "@p2panda-web/core";
import { topicStorageKey } from "./store-names.ts";

/** Exclusive named locks across every tab of the origin (the Web Locks API) or in one process. */
export interface IdentityLocks {
  /**
   * Takes `name` if nobody holds it; resolves to its release function (which resolves once the
   * lock is free again), or to `undefined` if it is held.
   */
  tryAcquire(name: string): Promise<(() => Promise<void>) | undefined>;
  /**
   * Waits until `name` is free and takes it (the shared-node election: the next tab in line
   * leads); resolves to its release function. Rejects with `signal`'s reason when it is aborted
   * while waiting.
   */
  acquire(name: string, signal?: AbortSignal): Promise<() => Promise<void>>;
  /**
   * Makes a page in the back/forward cache give up the locks it holds (`name` among them), so
   * that the tab waiting for one gets it. Chromium evicts a cached page holding a lock as soon as
   * another page of the origin requests or queries locks (its reason `weblocks-contention`),
   * but not for a request that was already waiting when the page went into the cache: measured
   * with scripts/bfcache-probe.ts, where a follower waited on behind a cached leader. Absent
   * where no page can hold a lock from a cache (realm locks).
   */
  contend?(name: string): Promise<void>;
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
    acquire(name, signal) {
      return new Promise((resolve, reject) => {
        const released = locks
          .request(name, signal === undefined ? {} : { signal }, (lock) => {
            if (lock === null) return undefined;
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
    async contend() {
      // A query is enough, and unlike a request it leaves the line as it is.
      await locks.query();
    },
  };
}

/** Locks within this JavaScript realm only (Node.js, tests, browsers without Web Locks). */
export function memoryLocks(): IdentityLocks {
  const held = new Set<string>();
  // Who waits for each lock, first in line first (as the Web Locks API grants them).
  const queues = new Map<string, (() => void)[]>();
  const releaser = (name: string) => {
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      const next = queues.get(name)?.shift();
      if (next === undefined) held.delete(name);
      else next();
    };
  };
  return {
    async tryAcquire(name) {
      if (held.has(name)) return undefined;
      held.add(name);
      return releaser(name);
    },
    acquire(name, signal) {
      if (signal?.aborted === true) return Promise.reject(signal.reason);
      if (!held.has(name)) {
        held.add(name);
        return Promise.resolve(releaser(name));
      }
      return new Promise((resolve, reject) => {
        const queue = queues.get(name) ?? [];
        queues.set(name, queue);
        const granted = () => {
          signal?.removeEventListener("abort", aborted);
          resolve(releaser(name));
        };
        const aborted = () => {
          const index = queue.indexOf(granted);
          if (index >= 0) queue.splice(index, 1);
          reject(signal?.reason);
        };
        signal?.addEventListener("abort", aborted, { once: true });
        queue.push(granted);
      });
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
export function acquireStoredIdentity(options: StoredIdentityOptions): Promise<StoredIdentity> {
  return acquireIdentityOfScope(`${options.namespace}/${topicStorageKey(options.topic)}`, options);
}

/**
 * {@link acquireStoredIdentity} for any `scope` (a node's store names, say): the lowest free of
 * its `maxSlots` slots (default 8), or an identity that is not kept.
 *
 * @throws the browser's error when IndexedDB cannot be opened or written.
 */
export async function acquireIdentityOfScope(
  scope: string,
  options: Pick<StoredIdentityOptions, "indexedDB" | "locks" | "maxSlots"> = {},
): Promise<StoredIdentity> {
  const locks = options.locks ?? defaultIdentityLocks();
  const factory = options.indexedDB ?? (globalThis.indexedDB as IDBFactory | undefined);
  // No IndexedDB (a runtime without it): nothing can be kept, so nothing is locked either.
  if (factory === undefined) return notKept();
  const maxSlots = options.maxSlots ?? 8;
  for (let slot = 0; slot < maxSlots; slot++) {
    // The same name as identitySlotLockName's for a namespace's and topic's scope.
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

/**
 * The name of the lock of one identity slot of `namespace` and `topic`. The shared node of
 * `joinTopic` (`tabs: "shared"`) is elected on slot 0's lock: the tab that holds it leads and
 * runs the node with slot 0's identity, so a takeover keeps the node id and the stores.
 */
export function identitySlotLockName(namespace: string, topic: Topic, slot: number): string {
  return `${IDENTITY_DATABASE}/${namespace}/${topicStorageKey(topic)}/${slot}`;
}

/**
 * Loads the identity stored in `slot` of `namespace` and `topic`, or makes and stores one. The
 * caller must hold the slot's lock ({@link identitySlotLockName}). Without IndexedDB, a new
 * identity that is not kept (`slot: undefined`).
 *
 * @throws the browser's error when IndexedDB cannot be opened or written.
 */
export async function loadIdentitySlot(
  options: Omit<StoredIdentityOptions, "locks" | "maxSlots">,
  slot: number,
): Promise<{ readonly identity: Identity; readonly slot: number | undefined }> {
  const factory = options.indexedDB ?? (globalThis.indexedDB as IDBFactory | undefined);
  if (factory === undefined) return { identity: await Identity.generate(), slot: undefined };
  const scope = `${options.namespace}/${topicStorageKey(options.topic)}`;
  return { identity: await loadOrCreate(factory, `${scope}/${slot}`), slot };
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

import {
  idbResult,
  idbTransactionDone,
  type NodeId,
  openIndexedDb,
  requestPersistentStorage,
  type Topic,
} from "@p2panda-web/core";
import {
  assertSameOperation,
  batchItems,
  LogForkError,
  LogGapError,
  type LogHeight,
  type LogId,
  type LogSize,
  type LogStore,
  logIdKey,
  type Operation,
  operationSize,
  type PutManyResult,
  planAppend,
  type TopicLogs,
  type TopicStore,
} from "@p2panda-web/core/sync";
import { LogStoreClosedError, LogStoreError } from "./errors.ts";
import { logIdFromHex } from "./log-id-hex.ts";
import { operationFromStored, ownBytes } from "./stored-operation.ts";

/** Version of the IndexedDB schema this code creates and reads. */
export const INDEXEDDB_SCHEMA_VERSION = 1;

const OPERATIONS: string = "operations";
const LOGS: string = "logs";
const TOPICS: string = "topic-logs";

/** An operation as stored, keyed by `[author, logIdHex, seqNum]`. */
interface OperationRecord {
  hash: Uint8Array;
  header: Uint8Array;
  body?: Uint8Array;
  /** Header plus body bytes. */
  size: number;
  /** Bytes of the log from `seqNum` 0 up to and including this operation. */
  total: number;
}

/**
 * One log's summary, keyed by `[author, logIdHex]`: the heights index. A log's held operations
 * are always the contiguous run `low..height` (appends only extend the top, pruning only cuts
 * the bottom), which lets counts and sizes of ranges be computed from two records.
 */
interface LogRecord {
  height: number;
  /** Hash of the operation at `height`. */
  hash: Uint8Array;
  /** Lowest `seqNum` still held. */
  low: number;
  /** Bytes of the log from `seqNum` 0 up to and including `height` (pruned ones included). */
  total: number;
}

/** Options of {@link openIndexedDbSyncStores}. */
export interface IndexedDbSyncStoresOptions {
  /**
   * The IndexedDB implementation; default `globalThis.indexedDB`. Tests in Node pass a
   * `fake-indexeddb` factory (with its globals installed: `import "fake-indexeddb/auto"`).
   */
  readonly indexedDB?: IDBFactory;
  /**
   * Ask the browser to keep this origin's storage under pressure (see
   * {@link requestPersistentStorage}); best effort, does not delay opening. Default `true`.
   */
  readonly persist?: boolean;
}

/** A {@link IndexedDbLogStore} and {@link IndexedDbTopicStore} sharing one database. */
export interface IndexedDbSyncStores {
  readonly logStore: IndexedDbLogStore;
  readonly topicStore: IndexedDbTopicStore;
  /**
   * Waits for running transactions and closes the database. Every later call of either store
   * rejects with {@link LogStoreClosedError}. Idempotent.
   */
  close(): Promise<void>;
}

/**
 * Opens (creating it if needed) the IndexedDB database `name` holding sync logs and topic
 * associations, and returns a `LogStore` and a `TopicStore` over it.
 *
 * Object stores: `operations` keyed by `[author, logIdHex, seqNum]` (`logIdHex` = hex of the
 * log id's canonical CBOR), `logs` keyed by `[author, logIdHex]` (height, tip hash, lowest held
 * `seqNum`), `topic-logs` keyed by `[topic, author, logIdHex]`.
 *
 * Every write is one transaction with `durability: "strict"`: Chromium's default (`relaxed`)
 * may lose the last commits on a power cut, and a lost append can leave a log's successor
 * referring to a missing operation on another node.
 *
 * Only one tab per origin should write a given database (coordinate with Web Locks). If another
 * connection upgrades or deletes the database, this one closes itself; later calls reject with
 * {@link LogStoreClosedError}.
 *
 * @throws LogStoreError if there is no IndexedDB, the database cannot be opened, or it has a
 * newer schema version.
 */
export async function openIndexedDbSyncStores(
  name: string,
  options: IndexedDbSyncStoresOptions = {},
): Promise<IndexedDbSyncStores> {
  const factory = options.indexedDB ?? globalThis.indexedDB;
  if (factory === undefined) throw new LogStoreError("IndexedDB is not available here");
  let db: IDBDatabase;
  try {
    db = await openIndexedDb(name, INDEXEDDB_SCHEMA_VERSION, [OPERATIONS, LOGS, TOPICS], factory);
  } catch (error) {
    throw new LogStoreError(`cannot open IndexedDB database "${name}"`, { cause: error });
  }
  if (options.persist !== false) void requestPersistentStorage();
  const connection = new IndexedDbConnection(db);
  db.addEventListener("versionchange", () => connection.close());
  return {
    logStore: new IndexedDbLogStore(connection),
    topicStore: new IndexedDbTopicStore(connection),
    async close() {
      connection.close();
    },
  };
}

type Mode = "readonly" | "readwrite";

/** A transaction with the promise of its end, taken when it was created. */
interface Transaction {
  readonly tx: IDBTransaction;
  /** Settles on commit (resolves) or abort (rejects). */
  readonly done: Promise<void>;
  store(name: string): IDBObjectStore;
}

/**
 * The database handle {@link IndexedDbLogStore} and {@link IndexedDbTopicStore} share: starts
 * transactions (writes `strict`) and refuses to once closed.
 * @internal Created by {@link openIndexedDbSyncStores}.
 */
export class IndexedDbConnection {
  readonly #db: IDBDatabase;
  #closed = false;

  constructor(db: IDBDatabase) {
    this.#db = db;
  }

  /** A transaction over `stores`; throws {@link LogStoreClosedError} once closed. */
  transaction(stores: string[], mode: Mode): Transaction {
    if (this.#closed) throw new LogStoreClosedError();
    try {
      const tx = this.#db.transaction(
        stores,
        mode,
        mode === "readwrite" ? { durability: "strict" } : {},
      );
      return { tx, done: idbTransactionDone(tx), store: (name) => tx.objectStore(name) };
    } catch (error) {
      // The browser closed the connection under us (storage cleared, database deleted).
      if ((error as DOMException | undefined)?.name === "InvalidStateError") {
        this.#closed = true;
        throw new LogStoreClosedError("the database connection was closed");
      }
      throw new LogStoreError("cannot start an IndexedDB transaction", { cause: error });
    }
  }

  /** Closes the database (running transactions finish first). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // IndexedDB lets the transactions already started finish before it closes.
    this.#db.close();
  }
}

async function readOnly<T>(
  connection: IndexedDbConnection,
  stores: string[],
  fn: (tx: Transaction) => Promise<T>,
): Promise<T> {
  const tx = connection.transaction(stores, "readonly");
  try {
    const result = await fn(tx);
    await tx.done;
    return result;
  } catch (error) {
    if (error instanceof LogStoreError) throw error;
    throw new LogStoreError("IndexedDB read failed", { cause: error });
  }
}

function toOperation(record: OperationRecord): Operation {
  return operationFromStored(record.hash, record.header, record.body);
}

/**
 * A `LogStore` in IndexedDB (browsers; `fake-indexeddb` in Node); create with
 * {@link openIndexedDbSyncStores}. Passes the core `LogStore` conformance suite.
 *
 * `putMany` runs as one `strict` transaction that reads each log's tip, checks the whole batch
 * (gaps, backlinks, forks) and writes it, so a batch is stored completely or not at all, even
 * if the tab dies mid-write, and concurrent batches cannot interleave their checks.
 * Reads and writes reject with {@link LogStoreError} (storage failure, quota) or
 * {@link LogStoreClosedError}.
 */
export class IndexedDbLogStore implements LogStore {
  readonly #connection: IndexedDbConnection;

  /** @internal Use {@link openIndexedDbSyncStores}. */
  constructor(connection: IndexedDbConnection) {
    this.#connection = connection;
  }

  async heights(logs: TopicLogs): Promise<LogHeight[]> {
    const wanted: { author: NodeId; logId: LogId; key: [string, string] }[] = [];
    for (const [author, logIds] of logs) {
      for (const logId of logIds) wanted.push({ author, logId, key: [author, logIdKey(logId)] });
    }
    if (wanted.length === 0) return [];
    return readOnly(this.#connection, [LOGS], async (tx) => {
      const store = tx.store(LOGS);
      const records = await Promise.all(
        wanted.map((w) => idbResult(store.get(w.key)) as Promise<LogRecord | undefined>),
      );
      const out: LogHeight[] = [];
      records.forEach((record, i) => {
        const w = wanted[i];
        if (record !== undefined && w !== undefined) {
          out.push({ author: w.author, logId: w.logId, seqNum: record.height });
        }
      });
      return out;
    });
  }

  async latest(author: NodeId, logId: LogId): Promise<Operation | undefined> {
    const logIdHex = logIdKey(logId);
    const record = await readOnly(this.#connection, [LOGS, OPERATIONS], async (tx) => {
      const log = (await idbResult(tx.store(LOGS).get([author, logIdHex]))) as
        | LogRecord
        | undefined;
      if (log === undefined) return undefined;
      return (await idbResult(tx.store(OPERATIONS).get([author, logIdHex, log.height]))) as
        | OperationRecord
        | undefined;
    });
    return record === undefined ? undefined : toOperation(record);
  }

  async get(author: NodeId, logId: LogId, seqNum: number): Promise<Operation | undefined> {
    if (!Number.isSafeInteger(seqNum) || seqNum < 0) return undefined;
    const key = [author, logIdKey(logId), seqNum];
    const record = await readOnly(
      this.#connection,
      [OPERATIONS],
      async (tx) => (await idbResult(tx.store(OPERATIONS).get(key))) as OperationRecord | undefined,
    );
    return record === undefined ? undefined : toOperation(record);
  }

  async range(
    author: NodeId,
    logId: LogId,
    after?: number,
    until?: number,
    limit?: number,
  ): Promise<Operation[]> {
    const bounds = seqBounds(after, until);
    if (bounds === undefined || (limit !== undefined && limit < 1)) return [];
    const logIdHex = logIdKey(logId);
    const query = IDBKeyRange.bound([author, logIdHex, bounds[0]], [author, logIdHex, bounds[1]]);
    // `getAll` takes a whole number of at most 2^32 - 1, and treats 0 as "no limit".
    const count = limit === undefined || limit >= 2 ** 32 ? undefined : Math.ceil(limit);
    const records = await readOnly(
      this.#connection,
      [OPERATIONS],
      async (tx) =>
        (await idbResult(tx.store(OPERATIONS).getAll(query, count))) as OperationRecord[],
    );
    return records.map(toOperation);
  }

  async rangeSize(author: NodeId, logId: LogId, after?: number, until?: number): Promise<LogSize> {
    const bounds = seqBounds(after, until);
    const none = { operations: 0, bytes: 0 };
    if (bounds === undefined) return none;
    const logIdHex = logIdKey(logId);
    return readOnly(this.#connection, [LOGS, OPERATIONS], async (tx) => {
      const log = (await idbResult(tx.store(LOGS).get([author, logIdHex]))) as
        | LogRecord
        | undefined;
      if (log === undefined) return none;
      const start = Math.max(bounds[0], log.low);
      const end = Math.min(bounds[1], log.height);
      if (start > end) return none;
      const operations = tx.store(OPERATIONS);
      const [first, last] = (await Promise.all([
        idbResult(operations.get([author, logIdHex, start])),
        idbResult(operations.get([author, logIdHex, end])),
      ])) as [OperationRecord | undefined, OperationRecord | undefined];
      if (first === undefined || last === undefined) {
        throw new LogStoreError(`log ${author}/${logIdHex} is missing operations it should hold`);
      }
      return { operations: end - start + 1, bytes: last.total - first.total + first.size };
    });
  }

  async putMany(operations: readonly Operation[]): Promise<PutManyResult> {
    if (operations.length === 0) return { inserted: [], duplicates: 0 };
    // CBOR-encode the log ids before the transaction, so it only waits on IndexedDB.
    const items = batchItems(operations);
    const tx = this.#connection.transaction([LOGS, OPERATIONS], "readwrite");
    const logs = tx.store(LOGS);
    const ops = tx.store(OPERATIONS);
    try {
      const stored = new Map<string, LogRecord | undefined>();
      const firstOfLog = new Map<string, (typeof items)[number]>();
      for (const item of items) if (!firstOfLog.has(item.log)) firstOfLog.set(item.log, item);
      await Promise.all(
        [...firstOfLog.values()].map(async (item) => {
          stored.set(
            item.log,
            (await idbResult(logs.get([item.author, item.logIdHex]))) as LogRecord | undefined,
          );
        }),
      );
      const plan = planAppend(items, (item) => {
        const log = stored.get(item.log);
        return log === undefined
          ? { height: -1, hash: undefined }
          : { height: log.height, hash: log.hash };
      });
      for (const item of plan.checks) {
        const held = (await idbResult(
          ops.get([item.author, item.logIdHex, item.operation.header.seqNum]),
        )) as OperationRecord | undefined;
        assertSameOperation(item, held?.hash);
      }
      if (plan.gap !== undefined) throw plan.gap;
      // Running byte totals continue from each log's stored tip.
      const totals = new Map<string, number>();
      for (const item of plan.insert) {
        const { operation } = item;
        const size = operationSize(operation);
        const total = (totals.get(item.log) ?? stored.get(item.log)?.total ?? 0) + size;
        totals.set(item.log, total);
        const record: OperationRecord = {
          hash: ownBytes(operation.hash),
          header: ownBytes(operation.headerBytes),
          size,
          total,
          ...(operation.body !== undefined ? { body: ownBytes(operation.body) } : {}),
        };
        // Requests run in order; a failure aborts the transaction and rejects `tx.done`.
        ops.put(record, [item.author, item.logIdHex, operation.header.seqNum]);
      }
      for (const [log, tip] of plan.tips) {
        const record: LogRecord = {
          height: tip.height,
          hash: ownBytes(tip.hash as Uint8Array),
          low: stored.get(log)?.low ?? 0,
          total: totals.get(log) ?? 0,
        };
        logs.put(record, [tip.first.author, tip.first.logIdHex]);
      }
      await tx.done;
      return { inserted: plan.insert.map((i) => i.operation), duplicates: plan.duplicates };
    } catch (error) {
      abortQuietly(tx.tx);
      await tx.done.catch(noop);
      if (
        error instanceof LogGapError ||
        error instanceof LogForkError ||
        error instanceof LogStoreError
      ) {
        throw error;
      }
      throw new LogStoreError("IndexedDB write failed", { cause: error });
    }
  }

  async prune(author: NodeId, logId: LogId, before: number): Promise<number> {
    const logIdHex = logIdKey(logId);
    const tx = this.#connection.transaction([LOGS, OPERATIONS], "readwrite");
    try {
      const logs = tx.store(LOGS);
      const log = (await idbResult(logs.get([author, logIdHex]))) as LogRecord | undefined;
      // The latest operation always stays.
      const end = log === undefined ? 0 : Math.min(Math.ceil(before), log.height);
      if (log === undefined || !(end > log.low)) {
        await tx.done;
        return 0;
      }
      tx.store(OPERATIONS).delete(
        IDBKeyRange.bound([author, logIdHex, log.low], [author, logIdHex, end - 1]),
      );
      logs.put({ ...log, low: end } satisfies LogRecord, [author, logIdHex]);
      await tx.done;
      return end - log.low;
    } catch (error) {
      abortQuietly(tx.tx);
      await tx.done.catch(noop);
      throw new LogStoreError("IndexedDB prune failed", { cause: error });
    }
  }
}

/**
 * A `TopicStore` in IndexedDB; create with {@link openIndexedDbSyncStores}. Keys
 * `[topic, author, logIdHex]`, so a topic resolves with one key-range read, already in the
 * order the interface asks for (hex of CBOR sorts like the CBOR bytes). Writes are `strict`.
 */
export class IndexedDbTopicStore implements TopicStore {
  readonly #connection: IndexedDbConnection;

  /** @internal Use {@link openIndexedDbSyncStores}. */
  constructor(connection: IndexedDbConnection) {
    this.#connection = connection;
  }

  associate(topic: Topic, author: NodeId, logId: LogId): Promise<boolean> {
    const key = [topic, author, logIdKey(logId)];
    return this.#write(async (store) => {
      if ((await idbResult(store.count(key))) > 0) return false;
      store.put(1, key);
      return true;
    });
  }

  remove(topic: Topic, author: NodeId, logId: LogId): Promise<boolean> {
    const key = [topic, author, logIdKey(logId)];
    return this.#write(async (store) => {
      if ((await idbResult(store.count(key))) === 0) return false;
      store.delete(key);
      return true;
    });
  }

  async resolve(topic: Topic): Promise<TopicLogs> {
    // Arrays sort after strings, so `[topic, []]` is above every `[topic, author, …]`.
    const query = IDBKeyRange.bound([topic], [topic, []]);
    const keys = await readOnly(
      this.#connection,
      [TOPICS],
      async (tx) =>
        (await idbResult(tx.store(TOPICS).getAllKeys(query))) as [string, string, string][],
    );
    const out = new Map<NodeId, LogId[]>();
    for (const [, author, logIdHex] of keys) {
      let list = out.get(author as NodeId);
      if (list === undefined) {
        list = [];
        out.set(author as NodeId, list);
      }
      list.push(logIdFromHex(logIdHex));
    }
    return out;
  }

  async #write(fn: (store: IDBObjectStore) => Promise<boolean>): Promise<boolean> {
    const tx = this.#connection.transaction([TOPICS], "readwrite");
    try {
      const result = await fn(tx.store(TOPICS));
      await tx.done;
      return result;
    } catch (error) {
      abortQuietly(tx.tx);
      await tx.done.catch(noop);
      throw new LogStoreError("IndexedDB write failed", { cause: error });
    }
  }
}

/** `(after, until]` as inclusive `seqNum` bounds, or `undefined` when empty. */
function seqBounds(
  after: number | undefined,
  until: number | undefined,
): [number, number] | undefined {
  const low = after === undefined ? 0 : Math.max(0, Math.floor(after) + 1);
  const high = until === undefined ? Number.MAX_SAFE_INTEGER : Math.floor(until);
  return low > high ? undefined : [low, high];
}

function abortQuietly(tx: { abort(): void }): void {
  try {
    tx.abort();
  } catch {
    // Already committed or aborted.
  }
}

function noop(): void {}

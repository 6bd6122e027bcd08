/**
 * `@p2panda-web/log-store/sqlite`: the SQLite backend of the sync stores, on Node 22's built-in
 * `node:sqlite`. Node only; browsers never import this entry point.
 * @module @p2panda-web/log-store/sqlite
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { NodeId, Topic } from "@p2panda-web/core";
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
import { LogStoreClosedError, LogStoreError } from "../errors.ts";
import { logIdFromHex } from "../log-id-hex.ts";
import { operationFromStored } from "../stored-operation.ts";

export { LogStoreClosedError, LogStoreError } from "../errors.ts";

/** Version of the SQLite schema (`PRAGMA user_version`) this code creates and reads. */
export const SQLITE_SCHEMA_VERSION = 1;

// Operations are keyed by (author, log id hex, seq_num); the primary-key index also serves
// heights (MAX(seq_num)), tips and ranges. A log's held operations are a contiguous run (appends
// extend the top, pruning cuts the bottom).
const SCHEMA = `
CREATE TABLE IF NOT EXISTS operations (
  author TEXT NOT NULL,
  log_id TEXT NOT NULL,
  seq_num INTEGER NOT NULL,
  hash BLOB NOT NULL,
  header BLOB NOT NULL,
  body BLOB,
  size INTEGER NOT NULL,
  PRIMARY KEY (author, log_id, seq_num)
);
CREATE TABLE IF NOT EXISTS topic_logs (
  topic TEXT NOT NULL,
  author TEXT NOT NULL,
  log_id TEXT NOT NULL,
  PRIMARY KEY (topic, author, log_id)
) WITHOUT ROWID;
`;

/** A {@link SqliteLogStore} and {@link SqliteTopicStore} sharing one database. */
export interface SqliteSyncStores {
  readonly logStore: SqliteLogStore;
  readonly topicStore: SqliteTopicStore;
  /** Closes the database; later calls of either store reject with `LogStoreClosedError`. Idempotent. */
  close(): Promise<void>;
}

/**
 * Opens (creating it if needed) the SQLite database at `path` (`":memory:"` for a throwaway one)
 * through Node 22's built-in `node:sqlite` (no native module to build), and returns a `LogStore`
 * and a `TopicStore` over it.
 *
 * Tables `operations(author, log_id, seq_num, hash, header, body, size)` (`log_id` = hex of the
 * log id's canonical CBOR) and `topic_logs(topic, author, log_id)`. WAL mode with
 * `synchronous = FULL`: a `putMany` resolves only once its transaction is on disk. Each batch is
 * one `BEGIN IMMEDIATE … COMMIT` whose checks run inside it, so a crash or error mid-batch
 * leaves the batch out entirely.
 *
 * One process should open a given file at a time.
 *
 * @throws LogStoreError if the file cannot be opened or has a newer schema version.
 */
export function openSqliteSyncStores(path: string): Promise<SqliteSyncStores> {
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path);
  } catch (error) {
    return Promise.reject(
      new LogStoreError(`cannot open SQLite database "${path}"`, { cause: error }),
    );
  }
  try {
    db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;");
    const { user_version: version } = db.prepare("PRAGMA user_version").get() as {
      user_version: number;
    };
    if (version > SQLITE_SCHEMA_VERSION) {
      throw new Error(`schema version ${version} is newer than ${SQLITE_SCHEMA_VERSION}`);
    }
    db.exec(SCHEMA);
    db.exec(`PRAGMA user_version = ${SQLITE_SCHEMA_VERSION}`);
  } catch (error) {
    db.close();
    return Promise.reject(
      new LogStoreError(`cannot open SQLite database "${path}"`, { cause: error }),
    );
  }
  const connection = new SqliteConnection(db);
  return Promise.resolve({
    logStore: new SqliteLogStore(connection),
    topicStore: new SqliteTopicStore(connection),
    async close() {
      connection.close();
    },
  });
}

/**
 * The database and its prepared statements, shared by {@link SqliteLogStore} and
 * {@link SqliteTopicStore}; refuses work once closed.
 * @internal Created by {@link openSqliteSyncStores}.
 */
export class SqliteConnection {
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();
  #closed = false;

  constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /** The prepared statement for `sql` (cached); throws `LogStoreClosedError` once closed. */
  statement(sql: string): StatementSync {
    if (this.#closed) throw new LogStoreClosedError();
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /** Runs `fn` in one write transaction: committed if it returns, rolled back if it throws. */
  transaction<T>(fn: () => T): T {
    if (this.#closed) throw new LogStoreClosedError();
    this.#db.exec("BEGIN IMMEDIATE");
    let result: T;
    try {
      result = fn();
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
    try {
      this.#db.exec("COMMIT");
    } catch (error) {
      // A failed COMMIT may leave the transaction open: end it so the next batch starts clean.
      try {
        this.#db.exec("ROLLBACK");
      } catch {
        // SQLite already rolled back.
      }
      throw error;
    }
    return result;
  }

  /** Closes the database. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#statements.clear();
    this.#db.close();
  }
}

interface OperationRow {
  hash: Uint8Array;
  header: Uint8Array;
  body: Uint8Array | null;
}

const SELECT_TIP =
  "SELECT seq_num, hash FROM operations WHERE author = ? AND log_id = ? ORDER BY seq_num DESC LIMIT 1";

/** Runs a read or write, turning what is not a log rule or a closed store into `LogStoreError`. */
function guarded<T>(what: string, fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (error) {
    if (
      error instanceof LogGapError ||
      error instanceof LogForkError ||
      error instanceof LogStoreError ||
      error instanceof LogStoreClosedError
    ) {
      return Promise.reject(error);
    }
    return Promise.reject(new LogStoreError(`SQLite ${what} failed`, { cause: error }));
  }
}

function toOperation(row: OperationRow): Operation {
  return operationFromStored(row.hash, row.header, row.body);
}

/**
 * A `LogStore` in SQLite; create with {@link openSqliteSyncStores}. Passes the core `LogStore`
 * conformance suite. `putMany` checks and writes a batch inside one transaction (durable on
 * return). Calls reject with `LogStoreError` on database failures and `LogStoreClosedError`
 * after `close()`.
 */
export class SqliteLogStore implements LogStore {
  readonly #c: SqliteConnection;

  /** @internal Use {@link openSqliteSyncStores}. */
  constructor(connection: SqliteConnection) {
    this.#c = connection;
  }

  heights(logs: TopicLogs): Promise<LogHeight[]> {
    return guarded("read", () => {
      const select = this.#c.statement(
        "SELECT MAX(seq_num) AS height FROM operations WHERE author = ? AND log_id = ?",
      );
      const out: LogHeight[] = [];
      for (const [author, logIds] of logs) {
        for (const logId of logIds) {
          const row = select.get(author, logIdKey(logId)) as { height: number | null } | undefined;
          if (row?.height != null) out.push({ author, logId, seqNum: row.height });
        }
      }
      return out;
    });
  }

  latest(author: NodeId, logId: LogId): Promise<Operation | undefined> {
    return guarded("read", () => {
      const row = this.#c
        .statement(
          "SELECT hash, header, body FROM operations WHERE author = ? AND log_id = ? ORDER BY seq_num DESC LIMIT 1",
        )
        .get(author, logIdKey(logId)) as OperationRow | undefined;
      return row === undefined ? undefined : toOperation(row);
    });
  }

  get(author: NodeId, logId: LogId, seqNum: number): Promise<Operation | undefined> {
    return guarded("read", () => {
      const row = this.#c
        .statement(
          "SELECT hash, header, body FROM operations WHERE author = ? AND log_id = ? AND seq_num = ?",
        )
        .get(author, logIdKey(logId), seqNum) as OperationRow | undefined;
      return row === undefined ? undefined : toOperation(row);
    });
  }

  range(
    author: NodeId,
    logId: LogId,
    after?: number,
    until?: number,
    limit?: number,
  ): Promise<Operation[]> {
    return guarded("read", () => {
      const rows = this.#c
        .statement(
          "SELECT hash, header, body FROM operations WHERE author = ? AND log_id = ? AND seq_num > ? AND seq_num <= ? ORDER BY seq_num LIMIT ?",
        )
        .all(
          author,
          logIdKey(logId),
          after ?? -1,
          until ?? Number.MAX_SAFE_INTEGER,
          limit === undefined || limit === Number.POSITIVE_INFINITY
            ? -1
            : Math.max(0, Math.ceil(limit)),
        ) as unknown as OperationRow[];
      return rows.map(toOperation);
    });
  }

  rangeSize(author: NodeId, logId: LogId, after?: number, until?: number): Promise<LogSize> {
    return guarded("read", () => {
      const row = this.#c
        .statement(
          "SELECT COUNT(*) AS operations, COALESCE(SUM(size), 0) AS bytes FROM operations WHERE author = ? AND log_id = ? AND seq_num > ? AND seq_num <= ?",
        )
        .get(author, logIdKey(logId), after ?? -1, until ?? Number.MAX_SAFE_INTEGER) as {
        operations: number;
        bytes: number;
      };
      return { operations: row.operations, bytes: row.bytes };
    });
  }

  putMany(operations: readonly Operation[]): Promise<PutManyResult> {
    if (operations.length === 0) return Promise.resolve({ inserted: [], duplicates: 0 });
    const items = batchItems(operations);
    return guarded("write", () => {
      const tip = this.#c.statement(SELECT_TIP);
      const held = this.#c.statement(
        "SELECT hash FROM operations WHERE author = ? AND log_id = ? AND seq_num = ?",
      );
      const insert = this.#c.statement(
        "INSERT INTO operations (author, log_id, seq_num, hash, header, body, size) VALUES (?, ?, ?, ?, ?, ?, ?)",
      );
      return this.#c.transaction(() => {
        const plan = planAppend(items, (item) => {
          const row = tip.get(item.author, item.logIdHex) as
            | { seq_num: number; hash: Uint8Array }
            | undefined;
          return row === undefined
            ? { height: -1, hash: undefined }
            : { height: row.seq_num, hash: row.hash };
        });
        for (const item of plan.checks) {
          const row = held.get(item.author, item.logIdHex, item.operation.header.seqNum) as
            | { hash: Uint8Array }
            | undefined;
          assertSameOperation(item, row?.hash);
        }
        if (plan.gap !== undefined) throw plan.gap;
        for (const { author, logIdHex, operation } of plan.insert) {
          insert.run(
            author,
            logIdHex,
            operation.header.seqNum,
            operation.hash,
            operation.headerBytes,
            operation.body ?? null,
            operationSize(operation),
          );
        }
        return { inserted: plan.insert.map((i) => i.operation), duplicates: plan.duplicates };
      });
    });
  }

  prune(author: NodeId, logId: LogId, before: number): Promise<number> {
    const logIdHex = logIdKey(logId);
    return guarded("write", () =>
      this.#c.transaction(() => {
        const tip = this.#c.statement(SELECT_TIP).get(author, logIdHex) as
          | { seq_num: number }
          | undefined;
        if (tip === undefined) return 0;
        // The latest operation always stays.
        const end = Math.min(before, tip.seq_num);
        const result = this.#c
          .statement("DELETE FROM operations WHERE author = ? AND log_id = ? AND seq_num < ?")
          .run(author, logIdHex, end);
        return Number(result.changes);
      }),
    );
  }
}

/**
 * A `TopicStore` in SQLite; create with {@link openSqliteSyncStores}. Resolves a topic with one
 * primary-key range scan, already in the order the interface asks for (hex of CBOR sorts like
 * the CBOR bytes).
 */
export class SqliteTopicStore implements TopicStore {
  readonly #c: SqliteConnection;

  /** @internal Use {@link openSqliteSyncStores}. */
  constructor(connection: SqliteConnection) {
    this.#c = connection;
  }

  associate(topic: Topic, author: NodeId, logId: LogId): Promise<boolean> {
    return guarded("write", () => {
      const result = this.#c
        .statement("INSERT OR IGNORE INTO topic_logs (topic, author, log_id) VALUES (?, ?, ?)")
        .run(topic, author, logIdKey(logId));
      return Number(result.changes) > 0;
    });
  }

  remove(topic: Topic, author: NodeId, logId: LogId): Promise<boolean> {
    return guarded("write", () => {
      const result = this.#c
        .statement("DELETE FROM topic_logs WHERE topic = ? AND author = ? AND log_id = ?")
        .run(topic, author, logIdKey(logId));
      return Number(result.changes) > 0;
    });
  }

  resolve(topic: Topic): Promise<TopicLogs> {
    return guarded("read", () => {
      const rows = this.#c
        .statement("SELECT author, log_id FROM topic_logs WHERE topic = ? ORDER BY author, log_id")
        .all(topic) as unknown as { author: NodeId; log_id: string }[];
      const out = new Map<NodeId, LogId[]>();
      for (const { author, log_id } of rows) {
        let list = out.get(author);
        if (list === undefined) {
          list = [];
          out.set(author, list);
        }
        list.push(logIdFromHex(log_id));
      }
      return out;
    });
  }
}

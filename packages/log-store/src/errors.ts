import { P2pandaError } from "@p2panda-web/core";

/** A storage backend failed to open, read or write (the cause says why). */
export class LogStoreError extends P2pandaError {
  static override readonly name: string = "LogStoreError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("LOG_STORE", message, options);
  }
}

/** The stores were used after `close()`, or another connection closed the database. */
export class LogStoreClosedError extends P2pandaError {
  static override readonly name: string = "LogStoreClosedError";
  constructor(message = "the log store is closed") {
    super("LOG_STORE_CLOSED", message);
  }
}

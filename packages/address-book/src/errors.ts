import { P2pandaError } from "@p2panda-web/core";

/** A write was attempted on an address book (or store) that was closed. */
export class AddressBookClosedError extends P2pandaError {
  static override readonly name: string = "AddressBookClosedError";
  constructor(message = "the address book is closed") {
    super("ADDRESS_BOOK_CLOSED", message);
  }
}

/** A node would have more topics than the address book's `maxTopicsPerNode` allows. */
export class TopicLimitError extends P2pandaError {
  static override readonly name: string = "TopicLimitError";
  /** The limit that was exceeded. */
  readonly limit: number;
  constructor(limit: number) {
    super("TOPIC_LIMIT_EXCEEDED", `a node may have at most ${limit} topics`);
    this.limit = limit;
  }
}

/** A storage backend failed to open, read or write. */
export class AddressBookStoreError extends P2pandaError {
  static override readonly name: string = "AddressBookStoreError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("ADDRESS_BOOK_STORE", message, options);
  }
}

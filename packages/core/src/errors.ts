/**
 * Base class of every error p2panda-web throws on purpose. `code` is stable and meant for
 * programs; `message` is for people.
 *
 * Every subclass states its `name` as a static string: the constructor copies it to the
 * instance, and a minifier that renames classes (`DialFailedError` → `jH`) leaves it alone.
 */
export class P2pandaError extends Error {
  static override readonly name: string = "P2pandaError";
  /** Stable, machine-readable error code, e.g. `"FRAME_TOO_LARGE"`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A value had the wrong length, form or range where bytes or an identifier were expected. */
export class InvalidInputError extends P2pandaError {
  static override readonly name: string = "InvalidInputError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("INVALID_INPUT", message, options);
  }
}

/** Where a command writes and how it learns that it should stop. */
export interface CliIo {
  /** One line of machine-readable output (no trailing newline). */
  stdout(line: string): void;
  /** One line for people: progress, warnings, errors. */
  stderr(line: string): void;
  /** Aborted when the process is asked to stop (SIGINT/SIGTERM). */
  readonly signal: AbortSignal;
  /** Lines of standard input, for commands that read it (`node --gossip` / `--sync`). */
  readonly stdin?: AsyncIterable<string>;
}

/** A command-line flag, described once for parsing and for `--help`. */
export interface Flag {
  readonly name: string;
  readonly type: "string" | "boolean";
  /** May be given more than once (string flags only). */
  readonly multiple?: boolean;
  /** Placeholder shown in help, e.g. `<port>`. */
  readonly placeholder?: string;
  readonly description: string;
  /** Default shown in help. */
  readonly defaultText?: string;
}

/** Parsed flag values, by flag name. */
export type FlagValues = Record<string, string | boolean | string[] | undefined>;

/** One subcommand of `p2panda-web`. */
export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** A paragraph for the command's help. */
  readonly description: string;
  readonly flags: readonly Flag[];
  /** Runs until done or until `io.signal` aborts; resolves to the exit code. */
  run(values: FlagValues, io: CliIo): Promise<number>;
}

/** Bad command line: the message is shown with a hint to `--help`; exit code 2. */
export class UsageError extends Error {
  static override readonly name: string = "UsageError";
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

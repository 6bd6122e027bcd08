import { parseArgs } from "node:util";
import { type CliIo, type Command, type FlagValues, UsageError } from "./command.ts";
import { bootstrapCommand } from "./commands/bootstrap.ts";
import { nodeCommand } from "./commands/node.ts";

/** Every command, by name. */
export const COMMANDS: readonly Command[] = [bootstrapCommand, nodeCommand];

const BIN = "p2panda-web";

/** Exit codes of {@link runCli}. */
export const ExitCode = { ok: 0, failure: 1, usage: 2 } as const;

/**
 * Runs `p2panda-web <command> [flags]` with `argv` (without the node and script paths) and
 * resolves to the process exit code: 0 on success (including a clean stop on a signal), 1 when
 * the command failed, 2 on a bad command line.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.stdout(globalHelp());
    return name === undefined ? ExitCode.usage : ExitCode.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    io.stderr(`${BIN}: unknown command "${name}"\n\n${globalHelp()}`);
    return ExitCode.usage;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    io.stdout(commandHelp(command));
    return ExitCode.ok;
  }
  let values: FlagValues;
  try {
    values = parseFlags(command, rest);
  } catch (error) {
    io.stderr(
      `${BIN} ${command.name}: ${(error as Error).message}\nSee '${BIN} ${command.name} --help'.`,
    );
    return ExitCode.usage;
  }
  try {
    return await command.run(values, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`${BIN} ${command.name}: ${error.message}\nSee '${BIN} ${command.name} --help'.`);
      return ExitCode.usage;
    }
    io.stderr(`${BIN} ${command.name}: ${error instanceof Error ? error.message : String(error)}`);
    return ExitCode.failure;
  }
}

function parseFlags(command: Command, args: string[]): FlagValues {
  const options: Record<string, { type: "string" | "boolean"; multiple?: boolean }> = {};
  for (const flag of command.flags) {
    options[flag.name] = { type: flag.type, ...(flag.multiple ? { multiple: true } : {}) };
  }
  const { values, positionals } = parseArgs({
    args,
    options,
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  return values as FlagValues;
}

function globalHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    `Usage: ${BIN} <command> [flags]`,
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    `Run '${BIN} <command> --help' for a command's flags.`,
  ].join("\n");
}

/** The `--help` text of `command`: usage, description and every flag. */
export function commandHelp(command: Command): string {
  const flags = [
    ...command.flags.map((f) => ({
      left: `--${f.name}${f.placeholder ? ` ${f.placeholder}` : ""}`,
      right: `${f.description}${f.multiple ? " Repeatable." : ""}${f.defaultText ? ` (default: ${f.defaultText})` : ""}`,
    })),
    { left: "-h, --help", right: "Show this help." },
  ];
  const width = Math.max(...flags.map((f) => f.left.length));
  return [
    `Usage: ${BIN} ${command.name} [flags]`,
    "",
    command.description,
    "",
    "Flags:",
    ...flags.map((f) => `  ${f.left.padEnd(width)}  ${f.right}`),
  ].join("\n");
}

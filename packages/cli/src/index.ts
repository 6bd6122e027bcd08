/**
 * @p2panda-web/cli: the `p2panda-web` command line (a bootstrap/relay node; more commands later).
 * @packageDocumentation
 */
export { COMMANDS, commandHelp, ExitCode, runCli } from "./cli.ts";
export type { CliIo, Command, Flag, FlagValues } from "./command.ts";
export { UsageError } from "./command.ts";
export {
  ADDRESS_BOOK_FILE,
  bootstrapCommand,
  type ConnectionLine,
  type DiscoveryLine,
  type ListeningLine,
  nodeCommand,
} from "./commands/bootstrap.ts";
export { type KeyFileResult, loadOrCreateKeyFile } from "./key-file.ts";

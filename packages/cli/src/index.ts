/**
 * @p2panda-web/cli: the `p2panda-web` command line (a bootstrap/relay node and a headless node).
 * @module @p2panda-web/cli
 */

export { ADDRESS_BOOK_FILE, LOG_STORE_FILE } from "@p2panda-web/presets/node";
export { COMMANDS, commandHelp, ExitCode, runCli } from "./cli.ts";
export type { CliIo, Command, Flag, FlagValues } from "./command.ts";
export { UsageError } from "./command.ts";
export { bootstrapCommand } from "./commands/bootstrap.ts";
export { nodeCommand } from "./commands/node.ts";
export {
  GOSSIP_ID_RETENTION_MS,
  type GossipLine,
  type GossipMessageLine,
  gossipLine,
} from "./gossip-lines.ts";
export { type KeyFileResult, loadOrCreateKeyFile } from "./key-file.ts";
export type { ConnectionLine, DiscoveryLine, ListeningLine } from "./node-lines.ts";

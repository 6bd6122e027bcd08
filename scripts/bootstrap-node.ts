// Starts the `p2panda-web` CLI (packages/cli) as a child process and waits for its listening
// line: `bootstrap` for `npm start`, the e2e global setup and the browser benchmarks, `node` for
// tests that need an always-on peer.
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const CLI = "packages/cli/src/main.ts";
const STARTUP_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 5_000;

/** Options of {@link startBootstrapNode}; every CLI flag it passes. */
export interface BootstrapNodeOptions {
  /** Listen address; default 127.0.0.1. */
  readonly host?: string;
  /** WebSockets port; default any free one. */
  readonly wsPort?: number;
  readonly dataDir?: string;
  readonly keyFile?: string;
  /** Called with every JSON line after the listening line (connections opened/closed). */
  readonly onLine?: (line: Record<string, unknown>) => void;
  /** Called with every stderr line (progress and warnings). */
  readonly onStderr?: (line: string) => void;
}

/** Options of {@link startCliNode}: those of a bootstrap node plus the command and its flags. */
export interface CliNodeOptions extends BootstrapNodeOptions {
  /** `bootstrap` or `node`. */
  readonly command: "bootstrap" | "node";
  /** Further flags, e.g. `["--topic", "t", "--sync"]`. */
  readonly args?: readonly string[];
  /** Keep stdin open (write lines to `process.stdin`); default: closed. */
  readonly stdin?: boolean;
}

/** A running bootstrap node. */
export interface BootstrapNode {
  readonly nodeId: string;
  /** Everything it listens on, each ending in `/p2p/<peer id>`. */
  readonly addrs: readonly string[];
  /** Its WebSockets multiaddr: what browsers dial. */
  readonly wsAddress: string;
  readonly process: ChildProcess;
  /**
   * SIGTERM, then SIGKILL if it has not exited after a few seconds. With `graceMs`, first waits
   * that long for it to exit by itself (it got the terminal's Ctrl-C too, and a second signal
   * would make it skip its clean shutdown).
   */
  stop(options?: { graceMs?: number }): Promise<void>;
}

/** Starts `p2panda-web bootstrap` (see {@link startCliNode}). */
export function startBootstrapNode(options: BootstrapNodeOptions = {}): Promise<BootstrapNode> {
  return startCliNode({ ...options, command: "bootstrap" });
}

/**
 * Spawns `p2panda-web <command>` with `--allow-private-addresses` and resolves once it printed
 * its listening line.
 * @throws if it exits or stays silent for 30 s first (with its stderr in the message).
 */
export async function startCliNode(options: CliNodeOptions): Promise<BootstrapNode> {
  const args = [
    "--conditions=source",
    "--no-warnings",
    CLI,
    options.command,
    "--allow-private-addresses",
    ...(options.args ?? []),
  ];
  args.push("--host", options.host ?? "127.0.0.1");
  if (options.wsPort !== undefined) args.push("--ws-port", String(options.wsPort));
  if (options.dataDir !== undefined) args.push("--data-dir", options.dataDir);
  if (options.keyFile !== undefined) args.push("--key-file", options.keyFile);
  // process.execPath is Node 22 when started through npm/npx (the `node` devDependency).
  const child = spawn(process.execPath, args, {
    cwd: root,
    stdio: [options.stdin === true ? "pipe" : "ignore", "pipe", "pipe"],
  });
  const stderr: string[] = [];
  createInterface({ input: child.stderr! }).on("line", (line) => {
    stderr.push(line);
    if (stderr.length > 50) stderr.shift();
    options.onStderr?.(line);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const listening = await new Promise<{ nodeId: string; addrs: string[] }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(`${options.command} silent for ${STARTUP_TIMEOUT_MS} ms:\n${stderr.join("\n")}`),
      );
    }, STARTUP_TIMEOUT_MS);
    let ready = false;
    createInterface({ input: child.stdout! }).on("line", (text) => {
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return;
      }
      if (!ready && line.event === "listening") {
        ready = true;
        clearTimeout(timer);
        resolve(line as { nodeId: string; addrs: string[] });
      } else if (ready) {
        options.onLine?.(line);
      }
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      if (!ready) {
        reject(new Error(`${options.command} exited (${code ?? signal}):\n${stderr.join("\n")}`));
      }
    });
  });

  const wsAddress = listening.addrs.find((a) => /\/tcp\/\d+\/ws\//.test(a));
  if (wsAddress === undefined) {
    child.kill("SIGKILL");
    throw new Error(`${options.command} has no WebSockets address: ${listening.addrs.join(" ")}`);
  }
  return {
    nodeId: listening.nodeId,
    addrs: listening.addrs,
    wsAddress,
    process: child,
    async stop(stopOptions = {}) {
      const running = (): boolean => child.exitCode === null && child.signalCode === null;
      if (running() && stopOptions.graceMs !== undefined) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          exited,
          new Promise((resolve) => {
            timer = setTimeout(resolve, stopOptions.graceMs);
          }),
        ]);
        clearTimeout(timer);
      }
      if (!running()) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

// Runs a benchmark's measuring script (a "runner") in a child process inside a private network
// namespace when this process may make one (root + unshare), like the e2e suite, and reads the
// one `RESULT <json>` line it prints.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import {
  inNetworkNamespace,
  insideNetworkNamespace,
  NETNS_ENV,
  networkNamespaceUnavailable,
} from "../support/netns.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** Options of {@link runInNamespace}. */
export interface RunnerOptions {
  /** Arguments after the runner's path. */
  readonly args?: readonly string[];
  /** The runner is killed after this long. */
  readonly timeoutMs: number;
  /** Pass the runner's stderr through as it comes (progress lines). Default false. */
  readonly echoStderr?: boolean;
}

/**
 * Runs `runner` (a path from the repository root) with `--conditions=source` and returns the
 * value of its `RESULT` line and where it ran (namespace or host interfaces, with the reason).
 *
 * @throws Error with the runner's exit code and the end of its stderr when it fails or prints
 *   no result.
 */
export async function runInNamespace<T>(
  runner: string,
  options: RunnerOptions,
): Promise<{ result: T; where: string }> {
  const command = [
    process.execPath,
    "--conditions=source",
    "--no-warnings",
    runner,
    ...(options.args ?? []),
  ];
  const unavailable = insideNetworkNamespace() ? undefined : networkNamespaceUnavailable();
  const argv =
    insideNetworkNamespace() || unavailable !== undefined ? command : inNetworkNamespace(command);
  const where =
    unavailable === undefined
      ? "inside a private network namespace (WebRTC host candidates on a veth at 10.77.0.1)"
      : `on the host's interfaces (no network namespace: ${unavailable})`;
  const child = spawn(argv[0] as string, argv.slice(1), {
    cwd: root,
    env: { ...process.env, [NETNS_ENV]: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => {
    stdout += chunk;
  });
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
    if (options.echoStderr === true) process.stderr.write(chunk);
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  clearTimeout(timer);
  const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
  if (code !== 0 || line === undefined) {
    throw new Error(`${runner} failed (exit ${code}):\n${stderr.slice(-2000)}`);
  }
  return { result: JSON.parse(line.slice("RESULT ".length)) as T, where };
}

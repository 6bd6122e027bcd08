// Runs the `p2panda-web` CLI as a child process (Node 22 with the workspace sources) and reads
// its JSON lines; shared by the CLI tests.
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("../src/main.ts", import.meta.url));

/** A running `p2panda-web` process with its stdout as parsed JSON lines. */
export interface CliProcess {
  readonly child: ChildProcess;
  /** Every stdout line so far, parsed. */
  readonly lines: readonly Record<string, unknown>[];
  /** Writes one line to the process's stdin (started with `stdin: true`). */
  write(line: string): void;
  /** The next stdout line matching `predicate` (fails after `timeoutMs` (15 s) or on exit). */
  line<T>(predicate: (value: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<T>;
  readonly exit: Promise<number | null>;
  stderr(): string;
}

export function startCli(
  args: string[],
  options: { stdin?: boolean; env?: NodeJS.ProcessEnv } = {},
): CliProcess {
  const child = spawn(process.execPath, ["--conditions=source", "--no-warnings", MAIN, ...args], {
    stdio: [options.stdin === true ? "pipe" : "ignore", "pipe", "pipe"],
    ...(options.env === undefined ? {} : { env: { ...process.env, ...options.env } }),
  });
  let stderr = "";
  child.stderr?.on("data", (chunk) => {
    stderr += chunk;
  });
  const lines: Record<string, unknown>[] = [];
  const waiters: Array<() => void> = [];
  createInterface({ input: child.stdout! }).on("line", (text) => {
    lines.push(JSON.parse(text));
    for (const wake of waiters.splice(0)) wake();
  });
  const exit = new Promise<number | null>((resolve) =>
    child.on("exit", (code, signal) => {
      // Ended by a signal it did not handle (a crash, or SIGTERM before the CLI's handler was
      // in place): the test sees only `null`, so say which, with the last of its stderr.
      if (signal !== null && signal !== "SIGKILL") {
        console.error(
          `p2panda-web ${args[0]} ended by ${signal}; its stderr ended:\n${stderr.slice(-2_000)}`,
        );
      }
      resolve(code);
    }),
  );
  exit.then(() => {
    for (const wake of waiters.splice(0)) wake();
  });
  let exited = false;
  exit.then(() => {
    exited = true;
  });
  return {
    child,
    lines,
    write: (line) => {
      child.stdin?.write(`${line}\n`);
    },
    exit,
    stderr: () => stderr,
    async line<T>(
      predicate: (value: Record<string, unknown>) => boolean,
      timeoutMs = 15_000,
    ): Promise<T> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = lines.find(predicate);
        if (found !== undefined) return found as T;
        if (exited || Date.now() > deadline) {
          throw new Error(`no matching line; stderr:\n${stderr}`);
        }
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 1_000);
        });
      }
    },
  };
}

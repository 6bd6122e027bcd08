// A TURN server (Debian's coturn, `turnserver`) for the relay-only tests: on the network
// namespace's veth address when there is one (as in CI), else on loopback. Long-term
// credentials, UDP only, no TLS, a log file the test can read.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";

/** Where Debian's coturn puts its server. */
export const TURNSERVER = "/usr/bin/turnserver";

export interface TurnServer {
  /** `turn:<ip>:<port>?transport=udp`. */
  readonly url: string;
  readonly username: string;
  readonly credential: string;
  /** The server's log so far. */
  log(): Promise<string>;
  stop(): Promise<void>;
}

/** The namespace's veth address (10.77.0.1) if this process runs inside it, else loopback. */
function listeningIp(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.address === "10.77.0.1") return a.address;
  }
  return "127.0.0.1";
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** Starts coturn and resolves once it listens; throws if `turnserver` is not installed. */
export async function startTurnServer(): Promise<TurnServer> {
  if (!existsSync(TURNSERVER)) throw new Error(`${TURNSERVER} is missing (apt-get install coturn)`);
  const ip = listeningIp();
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), "p2panda-turn-"));
  const logFile = join(dir, "turn.log");
  const [username, credential] = ["p2panda", "p2panda-test"];
  const child: ChildProcess = spawn(
    TURNSERVER,
    [
      "-n", // no configuration file
      `--listening-ip=${ip}`,
      `--relay-ip=${ip}`,
      `--listening-port=${port}`,
      "--min-port=49160",
      "--max-port=49260",
      "--lt-cred-mech",
      `--user=${username}:${credential}`,
      "--realm=p2panda.test",
      "--no-tls",
      "--no-dtls",
      "--no-tcp-relay",
      "--no-cli",
      "--allow-loopback-peers",
      "--simple-log",
      `--log-file=${logFile}`,
      "--verbose",
    ],
    { stdio: "ignore" },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const log = async (): Promise<string> => readFile(logFile, "utf8").catch(() => "");
  const deadline = Date.now() + 10_000;
  while (!/listener opened on|IPv4\. UDP listener opened/i.test(await log())) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`turnserver did not start:\n${await log()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: `turn:${ip}:${port}?transport=udp`,
    username,
    credential,
    log,
    stop: async () => {
      child.kill("SIGKILL");
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// The CLI as a user gets it: every workspace package packed as `npm publish` would, the tarballs
// installed into an empty folder, and the `p2panda-web` bin run from there. No workspace link,
// no `source` condition, no TypeScript: only what the tarballs carry.
import { execFile, spawn, spawnSync } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packWorkspaces } from "../../../scripts/pack-workspaces.ts";

const run = promisify(execFile);

/** A Node on PATH older than the CLI's floor, if this machine has one (Debian's is 20). */
function oldNode(): string | undefined {
  for (const candidate of ["/usr/bin/node", "/usr/local/bin/node"]) {
    const result = spawnSync(candidate, ["-p", "process.versions.node"], { encoding: "utf8" });
    const [major = 0, minor = 0] = (result.stdout ?? "").trim().split(".").map(Number);
    if (result.status === 0 && (major < 22 || (major === 22 && minor < 18))) return candidate;
  }
  return undefined;
}

describe("p2panda-web installed from the packed tarballs into an empty folder", () => {
  let dir: string;
  let app: string;
  let bin: string;
  // The user's PATH with this Node 22 first, as `npx` would find it.
  const env = {
    ...process.env,
    PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ""}`,
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "p2panda-web-installed-"));
    const tarballs = await packWorkspaces(join(dir, "tarballs"));
    app = join(dir, "app");
    await mkdir(app);
    await run("npm", ["init", "-y"], { cwd: app, env });
    // Everything the CLI depends on; the testkit would pull in vitest as its peer.
    const wanted = Object.entries(tarballs)
      .filter(([name]) => name !== "@p2panda-web/testkit")
      .map(([, path]) => path);
    await run(
      "npm",
      ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", ...wanted],
      { cwd: app, env, maxBuffer: 16 * 1024 * 1024 },
    );
    bin = join(app, "node_modules", ".bin", "p2panda-web");
  }, 240_000);

  afterAll(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("prints its help through npx", async () => {
    const { stdout } = await run("npx", ["p2panda-web", "--help"], { cwd: app, env });
    expect(stdout).toContain("Usage: p2panda-web <command>");
    expect(stdout).toContain("bootstrap");
  });

  it("prints the bootstrap command's help through npx", async () => {
    const { stdout } = await run("npx", ["p2panda-web", "bootstrap", "--help"], { cwd: app, env });
    expect(stdout).toContain("Usage: p2panda-web bootstrap");
    expect(stdout).toContain("--ws-port");
  });

  it("starts a bootstrap node that prints its address, and stops it on SIGTERM", async () => {
    const child = spawn(bin, ["bootstrap"], {
      cwd: app,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    const exit = new Promise<number | null>((resolve) => child.on("exit", resolve));
    const listening = await new Promise<{ addrs: string[] }>((resolve, reject) => {
      createInterface({ input: child.stdout }).on("line", (text) => {
        const line = JSON.parse(text) as { event?: string; addrs?: string[] };
        if (line.event === "listening") resolve(line as { addrs: string[] });
      });
      exit.then((code) => reject(new Error(`exited with ${code} before listening: ${stderr}`)));
    });
    expect(listening.addrs.some((a) => /^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/ws\/p2p\//.test(a))).toBe(
      true,
    );
    child.kill("SIGTERM");
    expect(await exit).toBe(0);
    // Without --data-dir nothing opens SQLite, so Node has no experimental feature to warn of.
    expect(stderr).not.toContain("ExperimentalWarning");
  }, 30_000);

  it.skipIf(oldNode() === undefined)("says in one line which Node it needs", () => {
    const result = spawnSync(oldNode() as string, [bin, "--help"], { encoding: "utf8" });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(
      /^p2panda-web needs Node\.js 22\.18 or newer; this is Node\.js 2\d\.\d+\.\d+\.\n$/,
    );
  });
});

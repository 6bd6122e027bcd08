// Packs every workspace as npm would publish it (`npm run build`, then `npm pack`, whose
// `prepack` in each package builds it too), so that the example app, the bundle budget, the
// package checks and the installed-CLI test use the packages a user installs, not our sources.
import { execFile } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The repository root: this file lives in `scripts/`. */
const root = resolve(import.meta.dirname, "..");

interface PackResult {
  readonly name: string;
  readonly filename: string;
}

/**
 * Builds every workspace to `dist/` and packs it into `outDir` with one
 * `npm pack --workspaces`.
 *
 * @returns package name → absolute path of its tarball.
 * @throws the `npm` error (its stderr in the message) when a build or the packing fails.
 */
export async function packWorkspaces(outDir: string): Promise<Record<string, string>> {
  const dir = resolve(outDir);
  await mkdir(dir, { recursive: true });
  await run("npm", ["run", "-s", "build"], { cwd: root });
  const { stdout } = await run(
    "npm",
    ["pack", "--workspaces", "--json", "--loglevel=error", "--pack-destination", dir],
    { cwd: root, maxBuffer: 64 * 1024 * 1024 },
  );
  // Lifecycle scripts (prepack) may print before npm's JSON, which opens a line with "[".
  const start = stdout.startsWith("[") ? 0 : stdout.lastIndexOf("\n[") + 1;
  const packed = JSON.parse(stdout.slice(start)) as PackResult[];
  return Object.fromEntries(packed.map((p) => [p.name, join(dir, p.filename)]));
}

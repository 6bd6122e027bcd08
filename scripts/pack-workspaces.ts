// Packs every workspace as npm would publish it (`npm run build`, then `npm pack`), so that
// the example app and the bundle budget test the packages a user installs, not our sources.
import { execFile } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = resolve(import.meta.dirname, "..");

interface PackResult {
  readonly name: string;
  readonly filename: string;
}

/**
 * Builds every workspace to `dist/` and packs it into `outDir`.
 *
 * @returns package name → absolute path of its tarball.
 */
export async function packWorkspaces(outDir: string): Promise<Record<string, string>> {
  await mkdir(outDir, { recursive: true });
  await run("npm", ["run", "-s", "build"], { cwd: root });
  const { stdout } = await run(
    "npm",
    ["pack", "--workspaces", "--json", "--pack-destination", outDir],
    { cwd: root, maxBuffer: 64 * 1024 * 1024 },
  );
  const packed = JSON.parse(stdout) as PackResult[];
  return Object.fromEntries(packed.map((p) => [p.name, join(outDir, p.filename)]));
}

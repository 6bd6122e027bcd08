// Builds examples/vite-app the way a web developer would, from the packed packages: pack every
// workspace, copy the example into a temporary folder, `npm install` the tarballs there (their
// own dependencies come from the npm cache or registry), `tsc --noEmit` under the example's
// strict tsconfig, `vite build`. Nothing is written into the repository: no node_modules, no
// lockfile. Vite and TypeScript are the repository's own (linked in), so the example and the
// bundle budget's baseline are built by the very same Vite.
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { packWorkspaces } from "./pack-workspaces.ts";

const run = promisify(execFile);
const root = resolve(import.meta.dirname, "..");
const exampleDir = join(root, "examples", "vite-app");

/**
 * Set to the `dist/` of an example built before (by the bundle budget or scripts/e2e.ts, outside
 * the e2e network namespace, where npm cannot reach the registry): the e2e test serves it.
 */
export const EXAMPLE_DIST_ENV = "P2PANDA_EXAMPLE_DIST";

/** The repository's Vite and TypeScript, run by path so the example needs neither installed. */
export const VITE_BIN = join(root, "node_modules", "vite", "bin", "vite.js");
const TSC_BIN = join(root, "node_modules", "typescript", "bin", "tsc");

/** Where the example was built and how long each step took. */
export interface ExampleAppBuild {
  /** The installed copy of the example. */
  readonly appDir: string;
  /** Its `vite build` output (with source maps, for the bundle breakdown). */
  readonly distDir: string;
  /** Milliseconds per step: pack (build + npm pack), install, typecheck, build. */
  readonly timings: { pack: number; install: number; typecheck: number; build: number };
}

interface Manifest {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

async function manifest(path: string): Promise<Manifest> {
  return JSON.parse(await readFile(path, "utf8")) as Manifest;
}

/**
 * The workspace packages the example needs, its direct ones and theirs: each must come from its
 * tarball, as none is on the registry at this version.
 */
function workspaceClosure(
  direct: readonly string[],
  tarballs: Record<string, string>,
  workspaceManifests: Record<string, Manifest>,
): string[] {
  const seen = new Set<string>();
  const pending = [...direct];
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (seen.has(name) || tarballs[name] === undefined) continue;
    seen.add(name);
    pending.push(...Object.keys(workspaceManifests[name]?.dependencies ?? {}));
  }
  return [...seen].sort();
}

async function timed(step: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await step();
  return Math.round(performance.now() - started);
}

/**
 * Packs the workspaces and builds the example from them in a new temporary folder (or in
 * `workDir`, emptied first). Throws with npm's, tsc's or Vite's output when a step fails.
 */
export async function buildExampleApp(workDir?: string): Promise<ExampleAppBuild> {
  const base = workDir ?? (await mkdtemp(join(tmpdir(), "p2panda-web-example-")));
  if (workDir !== undefined) {
    await rm(workDir, { recursive: true, force: true });
    await mkdir(workDir, { recursive: true });
  }
  const appDir = join(base, "app");
  const distDir = join(appDir, "dist");

  let tarballs: Record<string, string> = {};
  const pack = await timed(async () => {
    tarballs = await packWorkspaces(join(base, "packs"));
  });

  await cp(exampleDir, appDir, {
    recursive: true,
    filter: (source) => !/[/\\](node_modules|dist)$/.test(source),
  });
  const workspaceManifests: Record<string, Manifest> = {};
  for (const name of Object.keys(tarballs)) {
    const folder = name.replace("@p2panda-web/", "");
    workspaceManifests[name] = await manifest(join(root, "packages", folder, "package.json"));
  }
  const app = await manifest(join(appDir, "package.json"));
  const needed = workspaceClosure(
    Object.keys(app.dependencies ?? {}),
    tarballs,
    workspaceManifests,
  );
  // Every workspace package in the closure is a direct dependency on its tarball, so that the
  // packages' own `"0.1.0"` ranges on each other are met by them and never asked of the registry.
  const dependencies = { ...app.dependencies };
  for (const name of needed) dependencies[name] = `file:${tarballs[name]}`;
  await writeFile(
    join(appDir, "package.json"),
    `${JSON.stringify({ ...app, dependencies, devDependencies: undefined }, null, 2)}\n`,
  );

  const install = await timed(() =>
    run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], {
      cwd: appDir,
      maxBuffer: 64 * 1024 * 1024,
    }),
  );
  for (const tool of ["vite", "typescript"]) {
    await symlink(join(root, "node_modules", tool), join(appDir, "node_modules", tool), "dir");
  }

  const typecheck = await timed(() =>
    run(process.execPath, [TSC_BIN, "--noEmit", "-p", "tsconfig.json"], { cwd: appDir }),
  );
  const build = await timed(() =>
    run(process.execPath, [VITE_BIN, "build", "--sourcemap", "--logLevel", "warn"], {
      cwd: appDir,
      maxBuffer: 64 * 1024 * 1024,
    }),
  );
  return { appDir, distDir, timings: { pack, install, typecheck, build } };
}

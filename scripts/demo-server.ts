// Serves the demo page on 127.0.0.1, a secure context: with Vite's dev server (vite.config.ts),
// or as a production build served as plain files, the way users get it.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build, createServer } from "vite";
import { BOOTSTRAP_ENV } from "../vite.config.ts";
import { serveStatic } from "./static-server.ts";

const configFile = fileURLToPath(new URL("../vite.config.ts", import.meta.url));

/** A running demo server. */
export interface DemoServer {
  /** e.g. `http://127.0.0.1:5173/` */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Starts Vite on 127.0.0.1 (`port` 0 = any free port) with `/bootstrap.json` answering
 * `bootstrap`, and waits until the page's modules are transformed, so the first page load
 * does not pay for it.
 */
export async function startDemoServer(options: {
  bootstrap: readonly string[];
  port?: number;
  quiet?: boolean;
}): Promise<DemoServer> {
  process.env[BOOTSTRAP_ENV] = options.bootstrap.join(" ");
  const server = await createServer({
    configFile,
    logLevel: options.quiet === false ? "info" : "warn",
    clearScreen: false,
    server: {
      port: options.port ?? 0,
      strictPort: options.port !== undefined && options.port !== 0,
    },
  });
  await server.listen();
  const address = server.httpServer?.address();
  if (address === null || address === undefined || typeof address !== "object") {
    await server.close();
    throw new Error("vite did not listen");
  }
  const url = `http://127.0.0.1:${address.port}/`;
  // Transform the page's module graph once now (the dependency pre-bundle is already done).
  await server.warmupRequest("/main.ts");
  return { url, close: () => server.close() };
}

/** A production build of the demo, served as files. */
export interface BuiltDemoServer extends DemoServer {
  /** Rewrites the site's `/bootstrap.json` (pages loaded afterwards read the new list). */
  setBootstrap(bootstrap: readonly string[]): Promise<void>;
}

/**
 * Builds the demo for production (`vite build` into a temporary directory), writes
 * `/bootstrap.json` with `bootstrap` and serves the files on a free port of 127.0.0.1 until
 * `close`, which also deletes the build.
 */
export async function serveBuiltDemo(options: {
  bootstrap: readonly string[];
}): Promise<BuiltDemoServer> {
  const site = await mkdtemp(join(tmpdir(), "p2panda-demo-build-"));
  const setBootstrap = (bootstrap: readonly string[]): Promise<void> =>
    writeFile(join(site, "bootstrap.json"), JSON.stringify({ bootstrap }));
  try {
    await build({ configFile, logLevel: "warn", build: { outDir: site, emptyOutDir: true } });
    await setBootstrap(options.bootstrap);
    const files = await serveStatic(site);
    return {
      url: files.url,
      setBootstrap,
      close: async () => {
        await files.close();
        await rm(site, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(site, { recursive: true, force: true });
    throw error;
  }
}

// Serves the demo page with Vite's dev server (vite.config.ts) on 127.0.0.1, a secure context.
import { fileURLToPath } from "node:url";
import { createServer } from "vite";
import { BOOTSTRAP_ENV } from "../vite.config.ts";

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

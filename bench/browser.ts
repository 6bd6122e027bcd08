// Runs a benchmark module in headless Chromium: serves the repository with Vite (workspace
// packages resolved to their sources), loads bench/browser.html and calls the module's
// exported `run(args)`, returning its JSON result.
import { fileURLToPath } from "node:url";
import { chromium } from "playwright";
import { createServer } from "vite";
import { chromiumArgs, chromiumExecutable } from "../scripts/chromium.ts";
import { browserConditions, browserDependencies } from "../scripts/vite-shared.ts";

const root = fileURLToPath(new URL("..", import.meta.url));

/**
 * Loads `modulePath` (relative to the repository root, e.g. `"bench/crypto.browser.ts"`) in a
 * fresh headless Chromium page and returns what its `run(args)` resolves to.
 */
export async function runInChromium<T>(modulePath: string, args: unknown): Promise<T> {
  const server = await createServer({
    root,
    configFile: false,
    logLevel: "error",
    resolve: { conditions: browserConditions },
    optimizeDeps: { include: browserDependencies },
    server: { host: "127.0.0.1", port: 0, strictPort: false, hmr: false },
  });
  await server.listen();
  const address = server.httpServer?.address();
  if (address === null || typeof address !== "object") throw new Error("vite did not listen");
  const browser = await chromium.launch({
    executablePath: chromiumExecutable(),
    args: chromiumArgs,
    headless: true,
  });
  try {
    const page = await browser.newPage();
    page.on("pageerror", (error) => console.error(`[chromium] ${error.message}`));
    await page.goto(`http://127.0.0.1:${address.port}/bench/browser.html`);
    await page.waitForFunction(
      () => (window as unknown as { __benchReady?: boolean }).__benchReady,
    );
    return (await page.evaluate(
      ([path, a]) =>
        (window as unknown as { __bench: (p: string, a: unknown) => Promise<unknown> }).__bench(
          path as string,
          a,
        ),
      [modulePath, args] as const,
    )) as T;
  } finally {
    await browser.close();
    await server.close();
  }
}

/** Chromium's version string, for the report header. */
export async function chromiumVersion(): Promise<string> {
  const browser = await chromium.launch({
    executablePath: chromiumExecutable(),
    args: chromiumArgs,
  });
  try {
    return browser.version();
  } finally {
    await browser.close();
  }
}

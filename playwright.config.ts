// Playwright multi-tab suite (e2e/*.spec.ts), run by scripts/e2e.ts (`npm run test:e2e`), which
// puts it in a private network namespace when it can. The global setup starts one bootstrap
// node (the real CLI) and the demo's Vite server for the whole run; each simulated user is a
// browser context of its own. Chromium is the system one (scripts/chromium.ts), never a
// downloaded one; no STUN/TURN servers anywhere.
import { defineConfig } from "@playwright/test";
import { chromiumArgs, chromiumExecutable } from "./scripts/chromium.ts";

export default defineConfig({
  testDir: "e2e",
  testMatch: "*.spec.ts",
  globalSetup: "./e2e/global-setup.ts",
  // One worker: the machine has two cores, and every test drives several tabs already.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  // Above waitForNode's 90 s: the first page load of a run may wait for Vite to transform the sources.
  timeout: 120_000,
  expect: { timeout: 15_000 },
  forbidOnly: Boolean(process.env.CI),
  reporter: [["list"], ["json", { outputFile: ".e2e-results.json" }]],
  outputDir: "test-results",
  use: {
    browserName: "chromium",
    headless: true,
    launchOptions: { executablePath: chromiumExecutable(), args: chromiumArgs },
    trace: "off",
    screenshot: "off",
    video: "off",
  },
});

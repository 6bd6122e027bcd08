import { playwright } from "@vitest/browser-playwright";
import { defineConfig } from "vitest/config";
import { chromiumArgs, chromiumExecutable } from "./scripts/chromium.ts";
import { browserConditions, browserDependencies } from "./scripts/vite-shared.ts";

// Workspace packages resolve to their TypeScript sources through the `source` export condition,
// so tests never need a build step.
const conditions = browserConditions;

export default defineConfig({
  resolve: { conditions },
  // Pre-bundle the browser tests' dependencies up front: discovering them mid-run makes Vite
  // reload the test page, which fails the first run after a cache wipe (e.g. on CI).
  optimizeDeps: { include: browserDependencies },
  ssr: {
    resolve: {
      conditions: ["source", "node", "import", "default"],
      externalConditions: ["source"],
    },
  },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: "node",
          environment: "node",
          include: ["packages/*/test/**/*.test.ts", "bench/**/*.test.ts"],
          exclude: ["**/*.browser.test.ts", "**/node_modules/**"],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: "chromium",
          include: ["packages/*/test/**/*.browser.test.ts"],
          testTimeout: 60_000,
          browser: {
            enabled: true,
            headless: true,
            screenshotFailures: false,
            provider: playwright({
              launchOptions: { executablePath: chromiumExecutable(), args: chromiumArgs },
            }),
            instances: [{ browser: "chromium" }],
          },
        },
      },
    ],
  },
});

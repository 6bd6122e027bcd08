import path from "node:path";
import { defineConfig } from "vitest/config";

// Mutation testing only (stryker.config.mjs): the node project alone, no browser. Stryker runs it
// in a sandbox copy of the repository whose node_modules is a link back to ours, so a bare
// `@p2panda-web/core` import would resolve to the unmutated sources; it is pointed at the
// sandbox's own sources instead.
const coreSources = path.join(import.meta.dirname, "packages/core/src");

export default defineConfig({
  resolve: {
    conditions: ["source", "node", "import", "default"],
    alias: [
      {
        find: /^@p2panda-web\/core(\/discovery|\/gossip|\/sync|\/endpoint|\/node)?$/,
        replacement: `${coreSources}$1/index.ts`,
      },
    ],
  },
  ssr: {
    resolve: {
      conditions: ["source", "node", "import", "default"],
      externalConditions: ["source"],
    },
  },
  test: {
    name: "node",
    environment: "node",
    include: ["packages/core/test/**/*.test.ts"],
    exclude: ["**/*.browser.test.ts", "**/node_modules/**"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});

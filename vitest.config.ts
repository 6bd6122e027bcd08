import { playwright } from "@vitest/browser-playwright";
import { defineConfig } from "vitest/config";
import { chromiumArgs, chromiumExecutable } from "./scripts/chromium.ts";

// Workspace packages resolve to their TypeScript sources through the `source` export condition,
// so tests never need a build step.
const conditions = ["source", "module", "browser", "development|production"];

export default defineConfig({
  resolve: { conditions },
  // Pre-bundle the browser tests' dependencies up front: discovering them mid-run makes Vite
  // reload the test page, which fails the first run after a cache wipe (e.g. on CI).
  optimizeDeps: {
    include: [
      "idb",
      "rxjs",
      "@noble/ed25519",
      "@noble/hashes/blake3.js",
      "@noble/hashes/sha2.js",
      "cborg",
      "@multiformats/multiaddr",
      "@libp2p/crypto/keys",
      "@libp2p/peer-id",
      "libp2p",
      "@libp2p/utils",
      "@libp2p/memory",
      "@libp2p/circuit-relay-v2",
      "@libp2p/webrtc",
      "@libp2p/websockets",
      "@libp2p/webtransport",
      "@chainsafe/libp2p-noise",
      "@chainsafe/libp2p-yamux",
      "@libp2p/identify",
      "@libp2p/interface",
      "@libp2p/ping",
    ],
  },
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

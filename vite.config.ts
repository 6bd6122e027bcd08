// Serves and builds the demo page (demo/) against the workspace packages' TypeScript sources.
//   npm start                        bootstrap node + this dev server (scripts/start.ts)
//   npx vite build                   static build into dist/demo
// The bootstrap address the page dials by default comes from `/bootstrap.json`, answered from
// the `P2PANDA_BOOTSTRAP` environment variable (whitespace-separated multiaddrs) at request time,
// so whoever starts Vite (scripts/start.ts, the e2e global setup) sets it first.
import { fileURLToPath } from "node:url";
import { defineConfig, type Plugin } from "vite";
import { browserConditions, browserDependencies } from "./scripts/vite-shared.ts";

/** Environment variable holding the multiaddrs `/bootstrap.json` hands to the page. */
export const BOOTSTRAP_ENV = "P2PANDA_BOOTSTRAP";

function bootstrapJson(): Plugin {
  return {
    name: "p2panda-bootstrap-json",
    configureServer(server) {
      server.middlewares.use("/bootstrap.json", (_request, response) => {
        const bootstrap = (process.env[BOOTSTRAP_ENV] ?? "").split(/\s+/).filter((a) => a !== "");
        response.setHeader("content-type", "application/json");
        response.setHeader("cache-control", "no-store");
        response.end(JSON.stringify({ bootstrap }));
      });
    },
  };
}

export default defineConfig({
  root: fileURLToPath(new URL("./demo", import.meta.url)),
  // Workspace packages resolve to src/*.ts through the `source` condition (as in vitest.config.ts).
  resolve: { conditions: browserConditions },
  plugins: [bootstrapJson()],
  // Its own cache, apart from Vitest's pre-bundled dependencies in node_modules/.vite.
  cacheDir: fileURLToPath(new URL("./node_modules/.vite-demo", import.meta.url)),
  // Pre-bundle libp2p and friends when the server starts: discovering them on the first page
  // load would make Vite reload the page mid-test.
  optimizeDeps: { include: browserDependencies },
  server: {
    // 127.0.0.1 is a secure context (WebCrypto, WebTransport) without TLS.
    host: "127.0.0.1",
    port: 5173,
    warmup: { clientFiles: ["./main.ts"] },
  },
  build: {
    outDir: fileURLToPath(new URL("./dist/demo", import.meta.url)),
    emptyOutDir: true,
    target: "es2022",
    // libp2p with its transports, noise and yamux is most of the ~740 kB (215 kB gzipped).
    chunkSizeWarningLimit: 1024,
  },
});

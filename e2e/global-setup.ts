// Starts, once per test run, the bootstrap node (the `p2panda-web bootstrap` CLI) and the demo's
// Vite server, hands their addresses to the tests through environment variables, and stops both
// at the end (the returned function is Playwright's teardown).
import { startBootstrapNode } from "../scripts/bootstrap-node.ts";
import { startDemoServer } from "../scripts/demo-server.ts";

/** Environment variables the global setup fills for the tests (see fixtures.ts). */
export const E2E_ENV = {
  baseUrl: "P2PANDA_E2E_BASE_URL",
  bootstrapAddress: "P2PANDA_E2E_BOOTSTRAP_ADDRESS",
  bootstrapNodeId: "P2PANDA_E2E_BOOTSTRAP_NODE_ID",
} as const;

export default async function globalSetup(): Promise<() => Promise<void>> {
  const bootstrap = await startBootstrapNode({
    onStderr: (line) => {
      if (/error|warn/i.test(line)) console.error(`[bootstrap] ${line}`);
    },
  });
  let server: Awaited<ReturnType<typeof startDemoServer>>;
  try {
    server = await startDemoServer({ bootstrap: [bootstrap.wsAddress] });
  } catch (error) {
    await bootstrap.stop();
    throw error;
  }
  process.env[E2E_ENV.baseUrl] = server.url;
  process.env[E2E_ENV.bootstrapAddress] = bootstrap.wsAddress;
  process.env[E2E_ENV.bootstrapNodeId] = bootstrap.nodeId;
  return async () => {
    await server.close();
    await bootstrap.stop();
  };
}

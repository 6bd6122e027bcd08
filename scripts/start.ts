// `npm start`: a local playground. Starts a bootstrap node (the `p2panda-web bootstrap` CLI, its
// key and address book in .data/bootstrap, so its node id survives restarts) and the demo's Vite
// dev server handing the page that node's address; prints the URL to open. Ctrl-C stops both.
//   npm start -- --port 5173 --ws-port 0
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startBootstrapNode } from "./bootstrap-node.ts";
import { startDemoServer } from "./demo-server.ts";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "5173" },
    "ws-port": { type: "string", default: "0" },
  },
});
const dataDir = join(".data", "bootstrap");

function short(id: unknown): string {
  return typeof id === "string" ? `${id.slice(0, 8)}…` : "?";
}

console.log(`▶ starting the bootstrap node (data in ${dataDir})`);
const bootstrap = await startBootstrapNode({
  dataDir,
  keyFile: join(dataDir, "key"),
  wsPort: Number(values["ws-port"]),
  onStderr: (line) => console.log(`  [bootstrap] ${line}`),
  onLine: (line) => {
    const sign = line.event === "connection-opened" ? "+" : "-";
    const limited = line.limited === true ? ", limited" : "";
    console.log(
      `  [bootstrap] ${sign} ${short(line.remote)} ${String(line.transport)} (${String(line.direction)}${limited})`,
    );
  },
});
console.log(`  bootstrap node ${bootstrap.nodeId}`);
console.log(`  browsers dial ${bootstrap.wsAddress}`);

console.log("▶ starting the demo server");
let server: Awaited<ReturnType<typeof startDemoServer>>;
try {
  server = await startDemoServer({ bootstrap: [bootstrap.wsAddress], port: Number(values.port) });
} catch (error) {
  await bootstrap.stop();
  throw error;
}

let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  console.log("\n▶ stopping");
  await server.close();
  await bootstrap.stop({ graceMs: 3_000 });
  process.exit(0);
};
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
bootstrap.process.once("exit", (code) => {
  if (stopping) return;
  console.error(`bootstrap node exited unexpectedly (${code}); stopping`);
  void server.close().then(() => process.exit(1));
});

console.log(
  `\nOpen ${server.url} (the tabs of one browser share one node; ?node=per-tab gives each tab its own; Ctrl-C stops)\n`,
);

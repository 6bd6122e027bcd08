// Benchmark: browser nodes on real transports, in headless Chromium. How long from opening two
// tabs until they hold a direct WebRTC connection (through our relay), and round-trip time and
// throughput of a p2panda protocol session over WebRTC tab ↔ tab and WebSockets tab → bootstrap.
// The measuring runs in browser-network-runner.ts, inside a private network namespace when this
// process may make one (root + unshare), like the e2e suite.
import type { BrowserNetworkResult } from "./browser-network-runner.ts";
import { runInNamespace } from "./namespace-runner.ts";

const RUNNER = "e2e/bench/browser-network-runner.ts";

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

const ms = (value: number): string => (value < 10 ? value.toFixed(2) : value.toFixed(0));

function measure(quick: boolean): Promise<{ result: BrowserNetworkResult; where: string }> {
  return runInNamespace<BrowserNetworkResult>(RUNNER, {
    args: quick ? ["--quick"] : [],
    timeoutMs: quick ? 60_000 : 300_000,
    echoStderr: false,
  });
}

export async function run(options: {
  quick: boolean;
}): Promise<{ title: string; markdown: string }> {
  const { result, where } = await measure(options.quick);
  const { connect } = result;
  const runs = connect.totalMs.length;
  const lines = [
    `Two fresh browser contexts open the demo page at once (served by the Vite dev server), each`,
    `starts a node and reserves a slot on a Node bootstrap/relay over WebSockets; one learns the`,
    `other's signed \`…/p2p-circuit/webrtc\` address and dials it. Headless Chromium, run ${where}.`,
    "",
    `| from opening both tabs to … (${runs} runs) | median ms | min ms | max ms |`,
    "|---|---:|---:|---:|",
  ];
  const rows: Array<[string, number[]]> = [
    ["both nodes running", connect.nodeStartMs],
    ["dialled tab has a relay reservation", connect.reservationMs],
    ["**first direct WebRTC connection**", connect.totalMs],
    ["(the dial alone: signalling, ICE, DTLS, noise)", connect.dialMs],
  ];
  for (const [label, values] of rows) {
    lines.push(
      `| ${label} | ${ms(quantile(values, 0.5))} | ${ms(Math.min(...values))} | ${ms(Math.max(...values))} |`,
    );
  }
  lines.push(
    "",
    "One p2panda protocol session (framed CBOR over one stream) between a tab and the other end:",
    "round trips of a 32-byte message through an echo service, then bulk bytes one way to a sink",
    "in 64 KiB messages (throughput counted until the sink confirms the total).",
    "",
    "| link | round trips | RTT median ms | RTT p95 ms | bulk MiB | MB/s |",
    "|---|---:|---:|---:|---:|---:|",
  );
  for (const link of result.links) {
    lines.push(
      `| ${link.link} | ${link.roundTrips.length} | ${ms(quantile(link.roundTrips, 0.5))} | ${ms(quantile(link.roundTrips, 0.95))} | ${link.bytes / 1024 / 1024} | ${link.mbPerSecond.toFixed(1)} |`,
    );
  }
  const { catchUp } = result;
  lines.push(
    "",
    `Log catch-up between the same two tabs over their direct WebRTC connection: the sending tab`,
    `signs ${catchUp.operations.toLocaleString("en-US")} operations with 100-byte payloads into a fresh IndexedDB database`,
    `(${(catchUp.fillMs / 1000).toFixed(1)} s, not counted), the receiving tab runs the acceptor \`SyncSession\` into another fresh`,
    "database (WebCrypto verification, strict durability). Timed in the receiving tab from the",
    "stream's arrival until the session ended with every operation durable.",
    "",
    "| operations | time (s) | ops/s incl. IndexedDB writes |",
    "|---:|---:|---:|",
    `| ${catchUp.operations.toLocaleString("en-US")} | ${(catchUp.ms / 1000).toFixed(2)} | ${Math.round(catchUp.opsPerSecond).toLocaleString("en-US")} |`,
  );
  lines.push(
    "",
    "Page-load times include the dev server serving unbundled sources; a production build loads",
    "faster. All of it shares two CPU cores with the browser and the bootstrap.",
  );
  return {
    title: "Browser networking: tab ↔ tab WebRTC and tab → bootstrap",
    markdown: lines.join("\n"),
  };
}

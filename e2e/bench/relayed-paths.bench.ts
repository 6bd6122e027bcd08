// Benchmark: throughput and round-trip time of a p2panda session between two tabs over the
// paths that avoid a host-to-host connection — WebRTC through a TURN server, and the relayed
// data fallback through the bootstrap's circuit relay — against the direct WebRTC path in the
// same run. The measuring runs in relayed-paths-runner.ts, inside a private network namespace
// when this process may make one (root + unshare), like the e2e suite.
import { loadavg } from "node:os";
import { runInNamespace } from "./namespace-runner.ts";
import type { RelayedPathsResult } from "./relayed-paths-runner.ts";

const RUNNER = "e2e/bench/relayed-paths-runner.ts";

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

const ms = (value: number): string => (value < 10 ? value.toFixed(2) : value.toFixed(0));

export async function run(options: {
  quick: boolean;
}): Promise<{ title: string; markdown: string }> {
  const loadBefore = loadavg()[0] ?? 0;
  const { result, where } = await runInNamespace<RelayedPathsResult>(RUNNER, {
    args: options.quick ? ["--quick"] : [],
    timeoutMs: options.quick ? 120_000 : 300_000,
    echoStderr: false,
  });
  const lines = [
    "Two fresh tabs (the demo with its echo and sink services) per path: one learns the other's",
    "signed address and dials it, then runs round trips of a 32-byte message through the other's",
    "echo service and sends bulk bytes one way to its sink in 64 KiB messages (counted until the",
    "sink confirms the total). Paths: the direct WebRTC connection (host candidates); WebRTC",
    "through a TURN server (Debian's coturn in the namespace, tabs with `relayOnly`); the relayed",
    "data fallback (`relayedFallback`: relay-only tabs whose TURN server is not there, so no WebRTC",
    "connection can be made, run their sessions over a circuit through the bootstrap, which relays",
    `data with ${result.relayDataLimitBytes / 1024 / 1024} MiB and ${result.relayDurationLimitS} s per circuit). Headless Chromium, run ${where}.`,
    "",
    "| path | connection | dial ms | round trips | RTT median ms | RTT p95 ms | bulk MiB | MB/s | tab pairs |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const p of result.paths) {
    lines.push(
      `| ${p.path} | ${p.transport} | ${ms(p.connectMs)} | ${p.roundTrips.length} | ${ms(quantile(p.roundTrips, 0.5))} | ${ms(quantile(p.roundTrips, 0.95))} | ${p.bytes / 1024 / 1024} | ${p.mbPerSecond.toFixed(2)} | ${p.attempts} |`,
    );
  }
  lines.push(
    "",
    "The fallback's dial time includes the failed WebRTC attempts before it (two address timeouts",
    "of 3 s); later sessions with the same node skip them for a minute (`retryDirectAfterMs`).",
    '"tab pairs": a path is measured again on a fresh pair of tabs when the first pair\'s session',
    "failed (on a loaded machine a connection drops now and then); 2 means that happened.",
    `Load average (1 min) ${loadBefore.toFixed(1)} before the run, ${(loadavg()[0] ?? 0).toFixed(1)} after it, on a machine shared with other work: the`,
    "three paths were measured one after the other in the same run, so compare them with each other",
    "rather than with other sections.",
  );
  return {
    title: "TURN and the relayed fallback against direct WebRTC (browser)",
    markdown: lines.join("\n"),
  };
}

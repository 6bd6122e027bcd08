// Measures the paths two tabs take when a host-to-host WebRTC connection is not wanted or not
// possible, for e2e/bench/relayed-paths.bench.ts, in its own process (started inside a private
// network namespace when it can be): WebRTC through a TURN server (coturn, relay-only tabs), the
// relayed data fallback through the bootstrap's circuit relay (relay-only tabs whose TURN server
// is not there, `relayedFallback` on, the bootstrap relaying data), and, as the baseline in the
// same run, the direct WebRTC connection. Prints one line `RESULT {json}` at the end.
//   npx node --conditions=source e2e/bench/relayed-paths-runner.ts [--quick]
import { AddressBook, memoryAddressBookStore } from "@p2panda-web/address-book";
import { Identity } from "@p2panda-web/core";
import { createNodeEndpoint } from "@p2panda-web/core/node";
import { type Browser, chromium } from "playwright";
import { chromiumArgs, chromiumExecutable } from "../../scripts/chromium.ts";
import { startDemoServer } from "../../scripts/demo-server.ts";
import { introduce, type TabLike, waitForNode } from "../support/tabs.ts";
import { startTurnServer } from "../support/turn-server.ts";

/** One measured path. */
export interface PathResult {
  readonly path: string;
  /** The transport of the connection the bytes took (`webrtc` or `relayed`). */
  readonly transport: string;
  /** From the dial until the connection was there (ms). */
  readonly connectMs: number;
  readonly roundTrips: number[];
  readonly bytes: number;
  readonly mbPerSecond: number;
  /** Fresh tab pairs it took (a loaded machine drops a connection now and then); 1 normally. */
  readonly attempts: number;
}

/** What the runner reports. */
export interface RelayedPathsResult {
  readonly paths: PathResult[];
  /** The bootstrap's per-circuit limits during the run. */
  readonly relayDataLimitBytes: number;
  readonly relayDurationLimitS: number;
}

const quick = process.argv.includes("--quick");
const ROUND_TRIPS = quick ? 20 : 100;
const BULK_BYTES = (quick ? 1 : 2) * 1024 * 1024;
/** Room for the bulk transfer, its echo-free acknowledgements, pings and the round trips. */
const DATA_LIMIT = 4 * BULK_BYTES;
const DURATION_LIMIT_S = 600;

async function openTab(
  browser: Browser,
  url: string,
): Promise<TabLike & { close(): Promise<void> }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(url);
  const nodeId = await waitForNode(page);
  return { page, nodeId, close: () => context.close() };
}

/** Measures one path on a fresh pair of tabs, with a second pair if the first pair failed. */
async function measurePath(
  browser: Browser,
  url: URL,
  path: string,
  query: Record<string, string>,
): Promise<PathResult> {
  try {
    return { ...(await measurePair(browser, url, path, query)), attempts: 1 };
  } catch (error) {
    process.stderr.write(`${path}: first pair failed (${String(error).split("\n")[0]}), again\n`);
    return { ...(await measurePair(browser, url, path, query)), attempts: 2 };
  }
}

async function measurePair(
  browser: Browser,
  url: URL,
  path: string,
  query: Record<string, string>,
): Promise<Omit<PathResult, "attempts">> {
  const withQuery = new URL(url);
  for (const [name, value] of Object.entries(query)) withQuery.searchParams.set(name, value);
  const [a, b] = await Promise.all([
    openTab(browser, withQuery.toString()),
    openTab(browser, withQuery.toString()),
  ]);
  try {
    await introduce(a, b);
    return await a.page.evaluate(
      async ([remote, count, bytes, name]) => {
        const { endpoint, diagnostics } = window.p2panda!;
        const started = performance.now();
        await endpoint.dial(remote as never);
        const connectMs = performance.now() - started;
        await diagnostics.roundTrips(endpoint, remote as never, 5); // warm-up
        const roundTrips = await diagnostics.roundTrips(endpoint, remote as never, count as number);
        const bulk = await diagnostics.sendToSink(endpoint, remote as never, bytes as number);
        // The connection the sessions ran on: direct when there is one, else the relayed one.
        const connections = endpoint.connections().filter((c) => c.remote === remote);
        const used = connections.find((c) => !c.limited) ?? connections.find((c) => c.limited);
        return {
          path: name as string,
          transport: used?.transport ?? "none",
          connectMs,
          roundTrips,
          bytes: bulk.bytes,
          mbPerSecond: bulk.mbPerSecond,
        };
      },
      [b.nodeId, ROUND_TRIPS, BULK_BYTES, path] as const,
    );
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

const turn = await startTurnServer();
const addressBook = await AddressBook.open(memoryAddressBookStore());
const bootstrap = await createNodeEndpoint({
  identity: await Identity.generate(),
  addressBook,
  allowPrivateAddresses: true,
  tcpPort: false,
  webrtcDirectPort: false,
  // What `p2panda-web bootstrap --relay-data-limit … --relay-duration-limit …` sets.
  relay: {
    relayData: true,
    connectionDataLimitBytes: DATA_LIMIT,
    connectionDurationLimitMs: DURATION_LIMIT_S * 1000,
  },
});
const wsAddress = bootstrap.addresses().find((a) => a.includes("/ws/"));
if (wsAddress === undefined) throw new Error("bootstrap has no WebSockets address");
const server = await startDemoServer({ bootstrap: [wsAddress] });
const url = new URL(server.url);
url.searchParams.set("bootstrap", wsAddress);
url.searchParams.set("bench", "");
const browser = await chromium.launch({ executablePath: chromiumExecutable(), args: chromiumArgs });
const credentials = { turnUser: turn.username, turnCredential: turn.credential };
// The port of a TURN server that is not there: no candidate remains, WebRTC cannot connect.
const nowhere = turn.url.replace(/:(\d+)\?/, (_, port) => `:${Number(port) + 1}?`);

try {
  // One throwaway load so that Vite's transforms are cached before anything is timed.
  await (await openTab(browser, url.toString())).close();
  const paths = [
    await measurePath(browser, url, "direct WebRTC (host candidates)", {}),
    await measurePath(browser, url, "WebRTC through TURN (coturn, relay-only)", {
      turn: turn.url,
      ...credentials,
      relayOnly: "",
    }),
    await measurePath(browser, url, "relayed fallback (bootstrap circuit relay)", {
      turn: nowhere,
      ...credentials,
      relayOnly: "",
      relayedFallback: "",
    }),
  ];
  for (const p of paths) {
    process.stderr.write(`${p.path}: ${p.transport}, ${p.mbPerSecond.toFixed(2)} MB/s\n`);
  }
  const result: RelayedPathsResult = {
    paths,
    relayDataLimitBytes: DATA_LIMIT,
    relayDurationLimitS: DURATION_LIMIT_S,
  };
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
} finally {
  await browser.close();
  await server.close();
  await bootstrap.stop();
  await addressBook.close();
  await turn.stop();
}
process.exit(0);

// Measures browser networking for e2e/bench/browser-network.bench.ts, in its own process (which
// that script starts inside a private network namespace when it can). A Node endpoint serves as
// bootstrap and relay and also runs the demo's echo/sink services, the demo is served by Vite and
// driven in headless Chromium, one browser context per simulated user. Prints one line
// `RESULT {json}` at the end.
//   npx node --conditions=source e2e/bench/browser-network-runner.ts [--quick]
import { AddressBook, memoryAddressBookStore } from "@p2panda-web/address-book";
import { Identity } from "@p2panda-web/core";
import { createNodeEndpoint } from "@p2panda-web/core/node";
import { type Browser, chromium } from "playwright";
import { serveDiagnostics } from "../../demo/diagnostics.ts";
import { chromiumArgs, chromiumExecutable } from "../../scripts/chromium.ts";
import { startDemoServer } from "../../scripts/demo-server.ts";
import { introduce, type TabLike, waitForNode } from "../support/tabs.ts";

/** What the runner reports. */
export interface BrowserNetworkResult {
  readonly connect: {
    /** Per run: page load → first direct WebRTC connection between the two tabs (ms). */
    readonly totalMs: number[];
    /** Per run: page load → both nodes running. */
    readonly nodeStartMs: number[];
    /** Per run: page load → the dialled tab has a relay reservation (signed circuit address). */
    readonly reservationMs: number[];
    /** Per run: the dial itself (signalling through the relay, ICE, DTLS, noise). */
    readonly dialMs: number[];
  };
  readonly links: Array<{
    readonly link: string;
    readonly roundTrips: number[];
    readonly bytes: number;
    readonly mbPerSecond: number;
  }>;
  /** A log catch-up from one tab to the other over their direct WebRTC connection. */
  readonly catchUp: {
    readonly operations: number;
    /** The sending tab signing the log and writing it to IndexedDB. */
    readonly fillMs: number;
    /** The receiving tab: stream arrival → every operation verified and durable in IndexedDB. */
    readonly ms: number;
    readonly opsPerSecond: number;
  };
}

const quick = process.argv.includes("--quick");
const CONNECT_RUNS = quick ? 2 : 10;
const ROUND_TRIPS = quick ? 30 : 300;
const BULK_BYTES = (quick ? 2 : 32) * 1024 * 1024;
const CATCH_UP_OPERATIONS = quick ? 1_000 : 10_000;

async function openTab(
  browser: Browser,
  url: string,
): Promise<TabLike & { close(): Promise<void> }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const messages: string[] = [];
  page.on("console", (m) => messages.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => messages.push(`pageerror: ${e.message}`));
  await page.goto(url);
  const nodeId = await waitForNode(page).catch((error) => {
    process.stderr.write(`page console:\n${messages.slice(-20).join("\n")}\n`);
    throw error;
  });
  return { page, nodeId, close: () => context.close() };
}

async function measureLink(from: TabLike, remote: string, link: string) {
  return from.page.evaluate(
    async ([remoteId, count, bytes, name]) => {
      const { endpoint, diagnostics } = window.p2panda!;
      await diagnostics.roundTrips(endpoint, remoteId as never, 10); // warm-up
      const roundTrips = await diagnostics.roundTrips(endpoint, remoteId as never, count as number);
      const bulk = await diagnostics.sendToSink(endpoint, remoteId as never, bytes as number);
      return { link: name as string, roundTrips, bytes: bulk.bytes, mbPerSecond: bulk.mbPerSecond };
    },
    [remote, ROUND_TRIPS, BULK_BYTES, link] as const,
  );
}

/** Tab `from` signs a log into IndexedDB, then `to` syncs it into its own IndexedDB. */
async function measureCatchUp(
  from: TabLike,
  to: TabLike,
): Promise<BrowserNetworkResult["catchUp"]> {
  const filled = await from.page.evaluate(
    (n) => window.p2panda!.catchUp.fillLog(window.p2panda!.identity, n),
    CATCH_UP_OPERATIONS,
  );
  // Registered (and awaited) before the session can arrive.
  await to.page.evaluate(() => {
    (globalThis as { catchUpResult?: unknown }).catchUpResult =
      window.p2panda!.catchUp.nextReceived();
  });
  await from.page.evaluate(
    (remote) => window.p2panda!.catchUp.sendLog(window.p2panda!.endpoint, remote as never),
    to.nodeId,
  );
  const received = await to.page.evaluate(
    () =>
      (
        globalThis as {
          catchUpResult?: Promise<{ stored: number; ms: number; opsPerSecond: number }>;
        }
      ).catchUpResult!,
  );
  if (received.stored !== CATCH_UP_OPERATIONS) {
    throw new Error(`catch-up stored ${received.stored} of ${CATCH_UP_OPERATIONS}`);
  }
  return {
    operations: CATCH_UP_OPERATIONS,
    fillMs: filled.ms,
    ms: received.ms,
    opsPerSecond: received.opsPerSecond,
  };
}

const addressBook = await AddressBook.open(memoryAddressBookStore());
const bootstrap = await createNodeEndpoint({
  identity: await Identity.generate(),
  addressBook,
  allowPrivateAddresses: true,
  tcpPort: false,
  webrtcDirectPort: false,
});
serveDiagnostics(bootstrap);
const wsAddress = bootstrap.addresses().find((a) => a.includes("/ws/"));
if (wsAddress === undefined) throw new Error("bootstrap has no WebSockets address");
const server = await startDemoServer({ bootstrap: [wsAddress] });
const url = new URL(server.url);
url.searchParams.set("bootstrap", wsAddress);
// The tabs serve the echo, sink and catch-up protocols measured here (demo/benchmark-protocols.ts).
url.searchParams.set("bench", "");
const browser = await chromium.launch({ executablePath: chromiumExecutable(), args: chromiumArgs });

try {
  // One throwaway load so that Vite's transforms are cached before anything is timed.
  await (await openTab(browser, url.toString())).close();

  const connect: BrowserNetworkResult["connect"] = {
    totalMs: [],
    nodeStartMs: [],
    reservationMs: [],
    dialMs: [],
  };
  for (let run = 0; run < CONNECT_RUNS; run++) {
    const started = performance.now();
    const [a, b] = await Promise.all([
      openTab(browser, url.toString()),
      openTab(browser, url.toString()),
    ]);
    const running = performance.now();
    await introduce(a, b);
    const reserved = performance.now();
    await a.page.evaluate((remote) => window.p2panda!.endpoint.dial(remote as never), b.nodeId);
    const transports = await a.page.evaluate(
      (remote) =>
        window
          .p2panda!.endpoint.connections()
          .filter((c) => c.remote === remote && !c.limited)
          .map((c) => c.transport),
      b.nodeId,
    );
    if (!transports.includes("webrtc"))
      throw new Error(`no direct WebRTC connection: ${transports}`);
    const done = performance.now();
    connect.totalMs.push(done - started);
    connect.nodeStartMs.push(running - started);
    connect.reservationMs.push(reserved - started);
    connect.dialMs.push(done - reserved);
    await Promise.all([a.close(), b.close()]);
    process.stderr.write(
      `connect run ${run + 1}/${CONNECT_RUNS}: ${(done - started).toFixed(0)} ms\n`,
    );
  }

  const [a, b] = await Promise.all([
    openTab(browser, url.toString()),
    openTab(browser, url.toString()),
  ]);
  await introduce(a, b);
  const links = [
    await measureLink(a, b.nodeId, "WebRTC, tab ↔ tab (direct)"),
    await measureLink(a, bootstrap.nodeId, "WebSockets, tab → Node bootstrap"),
  ];
  const catchUp = await measureCatchUp(a, b);
  await Promise.all([a.close(), b.close()]);
  const result: BrowserNetworkResult = { connect, links, catchUp };
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
} finally {
  await browser.close();
  await server.close();
  await bootstrap.stop();
  await addressBook.close();
}
process.exit(0);

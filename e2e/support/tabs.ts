// Driving demo tabs from Node (Playwright pages): shared by the e2e fixtures and the benchmarks.
import type { Page } from "playwright";
import type {} from "../../demo/test-hook.ts";

/** A page running the demo and the node id of its node. */
export interface TabLike {
  readonly page: Page;
  readonly nodeId: string;
}

/**
 * Waits until the page's node runs; returns its node id. The first load after a cache wipe makes
 * Vite pre-bundle libp2p, which takes long on a busy two-core machine: hence the generous limit.
 */
export async function waitForNode(page: Page, timeoutMs = 90_000): Promise<string> {
  try {
    await page.waitForFunction(
      () => window.p2panda !== undefined || document.body.dataset.state === "failed",
      undefined,
      { timeout: timeoutMs },
    );
  } catch (error) {
    const status = await page
      .getByTestId("status")
      .textContent()
      .catch(() => "unreadable");
    throw new Error(`demo node did not start within ${timeoutMs} ms (status: ${status})`, {
      cause: error,
    });
  }
  const failed = await page.evaluate(() => document.body.dataset.state === "failed");
  if (failed) throw new Error(`demo failed: ${await page.getByTestId("status").textContent()}`);
  return page.evaluate(() => window.p2panda!.identity.nodeId);
}

/**
 * Waits until the page's node holds a relay reservation and has signed a transport info with its
 * `…/p2p-circuit/webrtc` address; returns that info (hex CBOR) for another tab's
 * `importTransportInfo`.
 */
export async function circuitTransportInfo(page: Page): Promise<string> {
  // The info is re-signed asynchronously after the address appears: wait for the signed one.
  await page.waitForFunction(() => {
    const info = window.p2panda!.endpoint.transportInfo();
    return info?.addresses.some((a) => a.includes("/p2p-circuit/webrtc")) === true;
  });
  return page.evaluate(() => window.p2panda!.exportTransportInfo()!);
}

/** Lets `from` dial `to`: hands `to`'s signed transport info to `from`'s address book. */
export async function introduce(from: TabLike, to: TabLike): Promise<void> {
  const info = await circuitTransportInfo(to.page);
  await from.page.evaluate(
    ([nodeId, hex]) => window.p2panda!.importTransportInfo(nodeId as never, hex as string),
    [to.nodeId, info] as const,
  );
}

/**
 * What a tab's gossip and sync services are doing, as JSON (for failure messages): topics,
 * neighbours per topic, sync sessions and both services' metrics.
 */
export function syncDiagnostics(page: Page): Promise<string> {
  return page.evaluate(() => {
    const p = window.p2panda;
    if (p === undefined) return "node not running";
    const neighbours = Object.fromEntries(
      p.gossip.topics.map((t) => [t.slice(0, 8), p.gossip.neighbours(t).map((n) => n.slice(0, 8))]),
    );
    return JSON.stringify({
      me: p.identity.nodeId.slice(0, 8),
      topicNodes: [...p.addressBook.nodeInfosByTopics([p.topic])].map((n) => n.nodeId.slice(0, 8)),
      connections: p.endpoint.connections().map((c) => `${c.remote.slice(0, 8)}:${c.transport}`),
      neighbours,
      sessions: p.sync.sessions().map((s) => `${s.remote.slice(0, 8)}:${s.role}:${s.phase}`),
      known: p.addressBook.allNodeInfos().map((n) => ({
        id: n.nodeId.slice(0, 8),
        boot: n.bootstrap,
        metrics: n.metrics,
        addrs: n.transports?.addresses.length ?? 0,
      })),
      discovery: p.discovery.metrics,
      endpoint: p.endpoint.metrics,
      gossip: p.gossip.metrics,
      sync: p.sync.metrics,
    });
  });
}

/**
 * Collects the page's uncaught errors and `console.error` lines from now on, into the returned
 * array. Chromium logs every failed WebSocket dial as a console error; dialling nodes that have
 * gone (closed tabs, a stopped CLI peer, still in a bootstrap's address book) is normal, and the
 * SDK reports it as a failed dial instead, so those lines are left out.
 */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => {
    if (
      message.type() === "error" &&
      !/^WebSocket connection to '.*' failed/.test(message.text())
    ) {
      errors.push(message.text());
    }
  });
  return errors;
}

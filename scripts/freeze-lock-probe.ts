// `npm run -s freeze-lock-probe` (or `node scripts/freeze-lock-probe.ts` with Node 22): does a
// page that releases a Web Lock in its `freeze` event hand it to the page waiting in line while it
// is frozen? Two tabs of the freezable browser on one origin: A holds a lock, B waits for it; A is
// hidden and frozen over CDP; the probe reports, per way of releasing, when B got the lock and
// what A's freeze listener got to run (read after the resume). Runs in a private network
// namespace like the e2e suite (the pages come from a server on the loopback).
// Seen with Chromium 156 (load 11–14 on 2 cores): releasing in the `freeze` listener, at once or
// a microtask later, hands the lock over before the CDP call returns (B had it when the probe
// first looked); the listener runs and its microtasks too. So a frozen leader can pass the lock
// on. `--demo`: the demo's shared node, leader frozen: with the lock passed on, the follower's
// node start still waited (no leader after 3 s and 13 s) as long as the frozen page had an
// IndexedDB transaction open (the address book's stores could not be written from the
// follower); with the leader suspending its transactions as it steps down, the follower led
// when first looked at, 3.2 s after the freeze, and the resumed tab followed.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Page } from "playwright";
import { hideAndFreeze, launchFreezableBrowser } from "../e2e/support/freezable-browser.ts";
import { INERT_VITE_CLIENT } from "../e2e/support/inert-vite-client.ts";
import { rerunInNetworkNamespace } from "../e2e/support/netns.ts";
import { startBootstrapNode } from "./bootstrap-node.ts";
import { startDemoServer } from "./demo-server.ts";

rerunInNetworkNamespace("freeze-lock-probe", "scripts/freeze-lock-probe.ts", process.argv.slice(2));

/** How A gives the lock up in its `freeze` listener. */
const WAYS = {
  /** Settles the promise the lock callback returned (what IdentityLocks' release does). */
  "resolve in freeze": "resolve",
  /** The same, one promise hop later (an async release function). */
  "resolve after a microtask": "microtask",
  /** Releases on `visibilitychange` to hidden already, before any freeze. */
  "resolve when hidden": "hidden",
} as const;

type Way = (typeof WAYS)[keyof typeof WAYS];

interface Seen {
  readonly way: string;
  readonly grantedAfterFreezeMs: number | undefined;
  readonly aMarks: readonly string[];
}

async function holdLock(page: Page, name: string, way: Way): Promise<void> {
  await page.evaluate(
    ({ name, way }) => {
      const w = window as unknown as { marks: string[] };
      w.marks = [];
      return new Promise<void>((held) => {
        void navigator.locks.request(name, () => {
          held();
          return new Promise<void>((release) => {
            const go = () => {
              w.marks.push(`release ${Date.now()}`);
              if (way === "microtask") void Promise.resolve().then(release);
              else release();
            };
            if (way === "hidden") {
              document.addEventListener("visibilitychange", () => {
                if (document.visibilityState === "hidden") go();
              });
            }
            document.addEventListener("freeze", () => {
              w.marks.push(`freeze ${Date.now()}`);
              if (way !== "hidden") go();
            });
          });
        });
      });
    },
    { name, way },
  );
}

async function waitForLock(page: Page, name: string): Promise<void> {
  await page.evaluate((name) => {
    const w = window as unknown as { grantedAt?: number };
    void navigator.locks.request(name, () => {
      w.grantedAt = Date.now();
      return new Promise<void>(() => {});
    });
  }, name);
}

async function main(): Promise<void> {
  const server = createServer((_, response) => {
    response.writeHead(200, { "content-type": "text/html" });
    response.end("<!doctype html><title>freeze lock probe</title>");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const browser = await launchFreezableBrowser();
  const seen: Seen[] = [];
  try {
    for (const [label, way] of Object.entries(WAYS)) {
      const name = `probe-${way}`;
      const a = await browser.context.newPage();
      await a.goto(url);
      await holdLock(a, name, way);
      const b = await browser.context.newPage();
      await b.goto(url);
      await waitForLock(b, name);
      const frozen = await hideAndFreeze(browser, a);
      const frozenAt = Date.now();
      await b.bringToFront();
      let grantedAt: number | undefined;
      for (let i = 0; i < 30 && grantedAt === undefined; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        grantedAt = await b.evaluate(() => (window as unknown as { grantedAt?: number }).grantedAt);
      }
      await frozen.resume();
      const aMarks = await a.evaluate(() => (window as unknown as { marks: string[] }).marks);
      seen.push({
        way: label,
        grantedAfterFreezeMs: grantedAt === undefined ? undefined : grantedAt - frozenAt,
        aMarks: aMarks.map((mark) => mark.replace(/\d+$/, (at) => String(Number(at) - frozenAt))),
      });
      await a.close();
      await b.close();
    }
  } finally {
    await browser.close();
    server.close();
  }
  for (const s of seen) {
    console.log(
      `${s.way}: B got the lock ${s.grantedAfterFreezeMs === undefined ? "not within 3 s" : `${s.grantedAfterFreezeMs} ms after the freeze`}; A ran: ${s.aMarks.join(", ") || "nothing"} (ms from the freeze)`,
    );
  }
}

/** Which of the page's IndexedDB stores a readwrite transaction cannot get within 2 s. */
function blockedStores(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const within = <T>(p: Promise<T>): Promise<T | "timeout"> =>
      Promise.race([p, new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 2_000))]);
    const blocked: string[] = [];
    for (const { name } of await indexedDB.databases()) {
      if (name === undefined) continue;
      const db = await within(
        new Promise<IDBDatabase>((resolve, reject) => {
          const open = indexedDB.open(name);
          open.onsuccess = () => resolve(open.result);
          open.onerror = () => reject(open.error);
        }),
      );
      if (db === "timeout") {
        blocked.push(`${name} (open)`);
        continue;
      }
      for (const store of db.objectStoreNames) {
        const done = await within(
          new Promise<void>((resolve) => {
            const tx = db.transaction(store, "readwrite");
            tx.objectStore(store).count();
            tx.oncomplete = () => resolve();
          }),
        );
        if (done === "timeout") blocked.push(`${name}/${store}`);
      }
      db.close();
    }
    return blocked;
  });
}

/** The demo's shared node: where does the follower's takeover wait while the leader is frozen? */
async function demo(): Promise<void> {
  const bootstrap = await startBootstrapNode();
  const server = await startDemoServer({ bootstrap: [bootstrap.wsAddress] });
  const browser = await launchFreezableBrowser();
  try {
    await browser.context.route(/\/@vite\/client$/, (route) =>
      route.fulfill({ contentType: "text/javascript", body: INERT_VITE_CLIENT }),
    );
    const url = `${server.url}?topic=freeze-lock-probe&bootstrap=${encodeURIComponent(bootstrap.wsAddress)}`;
    const role = (page: Page) => page.evaluate(() => window.p2pandaTab?.role);
    const leader = await browser.context.newPage();
    await leader.goto(url);
    await leader.waitForFunction(() => window.p2pandaTab?.runningAt !== undefined, undefined, {
      polling: 200,
      timeout: 90_000,
    });
    const follower = await browser.context.newPage();
    await follower.goto(url);
    await follower.waitForFunction(() => window.p2pandaTab?.role === "follower", undefined, {
      polling: 200,
      timeout: 90_000,
    });
    const frozen = await hideAndFreeze(browser, leader);
    const frozenAt = Date.now();
    await follower.bringToFront();
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const locks = await follower.evaluate(() => navigator.locks.query());
    console.log(
      `demo, 3 s after the freeze: follower ${await role(follower)}, locks ${JSON.stringify(locks)}`,
    );
    console.log(
      `demo: stores the follower cannot write: ${JSON.stringify(await blockedStores(follower))}`,
    );
    let tookOver: number | undefined;
    for (let i = 0; i < 100 && tookOver === undefined; i++) {
      if ((await role(follower)) === "leader") tookOver = Date.now() - frozenAt;
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    console.log(`demo: took over ${tookOver ?? "not"} ms after the freeze`);
    await frozen.resume();
    await leader.waitForTimeout(2_000);
    console.log(
      `demo: after the resume, old leader ${await role(leader)}, follower ${await role(follower)}`,
    );
  } finally {
    await browser.close();
    await server.close();
    await bootstrap.stop();
  }
}

if (process.argv.includes("--demo")) await demo();
else await main();

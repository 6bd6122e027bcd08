// The back/forward cache (issue 13): a tab whose user navigates to another page of the app and
// back comes back from Chromium's bfcache, the same page with the same node, which paused for it
// and resumes; gossip and sync flow again without the app doing anything. Playwright launches
// Chromium with the bfcache off, so tab A runs in a Chromium of our own attached over CDP (the
// freezable browser), where it is on. Recovery times are printed (`bfcache:` lines).
import { loadavg } from "node:os";
import { type DemoTab, demoUrl, expect, test } from "./fixtures.ts";
import { launchFreezableBrowser } from "./support/freezable-browser.ts";
import { routeInertViteClient } from "./support/inert-vite-client.ts";
import { msUntil, RECOVERY_MS, recoveryLimitMs } from "./support/recovery-limit.ts";

import { collectPageErrors, syncDiagnostics } from "./support/tabs.ts";

/** How long A stays on the other page. */
const AWAY_MS = 3_000;

async function sendChat(tab: DemoTab, text: string): Promise<void> {
  await tab.page.getByTestId("chat-input").fill(text);
  await tab.page.getByTestId("chat-send").click();
  await expect(tab.page.getByTestId("chat-message").filter({ hasText: text })).toHaveCount(1);
}

const shows = (tab: DemoTab, testId: string, text: string) => () =>
  tab.page
    .getByTestId(testId)
    .filter({ hasText: text })
    .count()
    .then((n) => n > 0);

/** Whether `tab` holds a direct WebRTC connection to `remote`. */
const directTo = (tab: DemoTab, remote: string) => () =>
  tab.page.evaluate(
    (id) =>
      window
        .p2panda!.endpoint.connections()
        .some((c) => c.remote === id && c.transport === "webrtc"),
    remote,
  );

interface PageMarks {
  /** Set before A goes away: still there after the return only if the page was not reloaded. */
  marker?: string;
  pageshows: { persisted: boolean; at: number }[];
  lifecycle: { type: string; reason?: string; pausedMs?: number; signal?: string }[];
  closed: { remote: string; transport: string; at: number }[];
  pagehideAt?: number;
}

test.describe("back/forward cache", () => {
  test("a tab back from the bfcache is the same page and node, paused and resumed, and chats again", async ({
    openTab,
    freshBootstrap,
  }) => {
    test.setTimeout(180_000);
    const freezable = await launchFreezableBrowser();
    try {
      // Vite's dev client would reload A when its HMR socket drops (a deployed app has none).
      await routeInertViteClient(freezable.context);
      const topic = `e2e bfcache ${Date.now().toString(36)}`;
      const options = { topic, bootstrapAddress: freshBootstrap.address };
      const [a, b] = await Promise.all([
        openTab({ ...options, context: freezable.context }),
        openTab(options),
      ]);
      await sendChat(b, "hello from b");
      await expect(
        a.page.getByTestId("chat-message").filter({ hasText: "hello from b" }),
      ).toHaveCount(1, { timeout: 90_000 });
      // A direct WebRTC connection between the two: what kept the page out of the bfcache.
      await msUntil(directTo(a, b.nodeId), Date.now(), 60_000, "A and B connect directly");
      const nodeRunningAt = await a.page.evaluate(() => window.p2panda!.milestones.nodeRunning);

      await a.page.evaluate(() => {
        const marks: PageMarks = {
          marker: "the page before",
          pageshows: [],
          lifecycle: [],
          closed: [],
        };
        (window as unknown as { bfcacheMarks: PageMarks }).bfcacheMarks = marks;
        addEventListener("pagehide", () => {
          marks.pagehideAt = Date.now();
        });
        addEventListener("pageshow", (e) =>
          marks.pageshows.push({ persisted: e.persisted, at: Date.now() }),
        );
        window.p2panda!.lifecycle.events$.subscribe((event) => marks.lifecycle.push(event));
        window.p2panda!.endpoint.events$.subscribe((event) => {
          if (event.type === "endpoint:connection-closed")
            marks.closed.push({ remote: event.remote, transport: event.transport, at: Date.now() });
        });
      });
      const demoUrl = a.page.url();

      // Away to another page of the same origin, and back.
      await a.page.goto(new URL("/bootstrap.json", demoUrl).toString());
      await sendChat(b, "while a was away");
      await new Promise((resolve) => setTimeout(resolve, AWAY_MS));
      // A page restored from the bfcache fires no `load`: wait for the commit only.
      await a.page.goBack({ waitUntil: "commit" });
      const backAt = Date.now();
      expect(a.page.url()).toBe(demoUrl);

      const restore = await a.page.evaluate(() => {
        const entry = performance.getEntriesByType(
          "navigation",
        )[0] as PerformanceNavigationTiming & {
          notRestoredReasons?: unknown;
        };
        return {
          marks: (window as unknown as { bfcacheMarks?: PageMarks }).bfcacheMarks,
          notRestoredReasons: JSON.stringify(entry.notRestoredReasons ?? null),
        };
      });
      // Restored: the same page (its marks kept), shown from the bfcache, not loaded again.
      expect(restore.marks?.marker, `not restored: ${restore.notRestoredReasons}`).toBe(
        "the page before",
      );
      const marks = restore.marks as PageMarks;
      expect(marks.pageshows.map((s) => s.persisted)).toEqual([true]);
      // The same node: not started again, same id.
      expect(await a.page.evaluate(() => window.p2panda!.milestones.nodeRunning)).toBe(
        nodeRunningAt,
      );
      expect(await a.page.evaluate(() => window.p2panda!.identity.nodeId)).toBe(a.nodeId);
      await expect(a.page.getByTestId("node-id")).toHaveText(a.nodeId);
      // It paused for the bfcache and resumed, after about as long as it was away.
      expect(marks.lifecycle).toContainEqual(
        expect.objectContaining({ type: "node:paused", reason: "bfcache" }),
      );
      const resumed = marks.lifecycle.find(
        (e) => e.type === "node:resumed" && e.reason === "bfcache",
      );
      expect(resumed?.pausedMs).toBeGreaterThanOrEqual(AWAY_MS);
      // Its connections were closed on the way in: the WebRTC one to B (else Chromium had not
      // cached the page) and the bootstrap's WebSocket (Chromium closes it in the cache anyway).
      for (const [remote, transport] of [
        [b.nodeId, "webrtc"],
        [freshBootstrap.nodeId, "websockets"],
      ]) {
        const close = marks.closed.find((c) => c.remote === remote && c.transport === transport);
        expect(close, `${transport} closed`).toBeDefined();
        expect(
          close!.at - (marks.pagehideAt ?? 0),
          `${transport} closed in the pagehide`,
        ).toBeLessThan(100);
      }

      // Gossip and sync flow again: the line B wrote meanwhile reaches A, gossip B sends (every
      // 250 ms: gossip keeps nothing) reaches A, and lines written after the return in either
      // tab reach the other one. Every time counts from the return.
      const sent: Record<string, number> = {};
      const send = async (tab: DemoTab, text: string) => {
        await sendChat(tab, text);
        sent[text] = Date.now();
      };
      let gossiping = true;
      const gossiper = (async () => {
        for (let n = 0; gossiping; n++) {
          await b.page.evaluate((text) => {
            const input = document.querySelector<HTMLInputElement>('[data-testid="gossip-input"]')!;
            input.value = text;
            document.querySelector<HTMLFormElement>('[data-testid="gossip-form"]')!.requestSubmit();
          }, `b gossip ${n}`);
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      })().catch(() => {});
      let times: Record<"missed" | "gossip" | "direct" | "bToA" | "aToB", number>;
      try {
        const [missed, gossip, direct, bToA, aToB] = await Promise.all([
          msUntil(shows(a, "chat-message", "while a was away"), backAt, 60_000, "missed line"),
          msUntil(shows(a, "gossip-message", "b gossip"), backAt, 60_000, "gossip B → A"),
          msUntil(directTo(a, b.nodeId), backAt, 60_000, "direct again"),
          send(b, "b after the return").then(() =>
            msUntil(shows(a, "chat-message", "b after the return"), backAt, 60_000, "B → A"),
          ),
          send(a, "a is back").then(() =>
            msUntil(shows(b, "chat-message", "a is back"), backAt, 60_000, "A → B"),
          ),
        ]);
        times = { missed, gossip, direct, bToA, aToB };
      } catch (error) {
        console.error(`A: ${await syncDiagnostics(a.page)}\nB: ${await syncDiagnostics(b.page)}`);
        throw error;
      } finally {
        gossiping = false;
        await gossiper;
      }
      const closedWhileAway = marks.closed
        .map(
          (c) =>
            `+${c.at - (marks.pagehideAt ?? c.at)} ms ` +
            `${c.transport} to ${c.remote === b.nodeId ? "B" : c.remote === freshBootstrap.nodeId ? "the bootstrap" : c.remote.slice(0, 8)}`,
        )
        .join(", ");
      const load = loadavg()
        .map((l) => l.toFixed(1))
        .join(" ");
      console.log(
        `bfcache: restored; node resumed after ${resumed?.pausedMs} ms paused; connections closed (from the pagehide): ${closedWhileAway}; from the return: line written while away at A after ${times.missed} ms, gossip B → A ${times.gossip} ms, direct WebRTC again ${times.direct} ms, a line B wrote after the return at A ${times.bToA} ms (sent at ${(sent["b after the return"] ?? 0) - backAt} ms), A's line at B ${times.aToB} ms (sent at ${(sent["a is back"] ?? 0) - backAt} ms) (load ${load})`,
      );
      const limit = recoveryLimitMs();
      for (const what of ["missed", "gossip", "bToA", "aToB"] as const) {
        if (times[what] > RECOVERY_MS)
          console.log(`bfcache: ${what}: over the ${RECOVERY_MS} ms goal`);
        expect(times[what], `${what} (limit ${limit} ms at this load)`).toBeLessThanOrEqual(limit);
      }
      expect([...a.errors, ...b.errors]).toEqual([]);
    } finally {
      await freezable.close();
    }
  });
  test("a leader tab going into the bfcache hands the shared node over to the tab waiting in line", async ({
    openTab,
    freshBootstrap,
  }) => {
    test.setTimeout(180_000);
    const freezable = await launchFreezableBrowser();
    try {
      await routeInertViteClient(freezable.context);
      const topic = `e2e bfcache leader ${Date.now().toString(36)}`;
      const options = { topic, bootstrapAddress: freshBootstrap.address };
      // Two tabs of one browser sharing one node (the demo's default), and a user elsewhere.
      const leader = await openTab({ ...options, context: freezable.context });
      const page = await freezable.context.newPage();
      const follower: DemoTab = {
        page,
        context: freezable.context,
        nodeId: leader.nodeId,
        errors: collectPageErrors(page),
      };
      await page.goto(demoUrl(options));
      // Polled by timer: the tab opened last is in front, the leader's runs no animation frames.
      await page.waitForFunction(() => window.p2pandaTab?.role === "follower", undefined, {
        timeout: 90_000,
        polling: 200,
      });
      const b = await openTab(options);
      await sendChat(b, "hello from b");
      await expect(
        follower.page.getByTestId("chat-message").filter({ hasText: "hello from b" }),
      ).toHaveCount(1, { timeout: 90_000 });

      // The leader's tab goes to another page: the follower takes over the node.
      const leftAt = Date.now();
      await leader.page.goto(new URL("/bootstrap.json", leader.page.url()).toString());
      const takeover = await msUntil(
        () => page.evaluate(() => window.p2pandaTab?.role === "leader"),
        leftAt,
        30_000,
        "takeover",
      );
      expect(await page.evaluate(() => window.p2panda?.identity.nodeId)).toBe(leader.nodeId);
      await sendChat(follower, "from the new leader");
      await sendChat(b, "to the new leader");
      const [toB, fromB] = await Promise.all([
        msUntil(shows(b, "chat-message", "from the new leader"), leftAt, 60_000, "new leader → B"),
        msUntil(
          shows(follower, "chat-message", "to the new leader"),
          leftAt,
          60_000,
          "B → new leader",
        ),
      ]);

      // Back in the old leader's tab: it follows the tab that took over. Either it was restored
      // from the cache, or it was evicted and loaded anew: for the lock it held, or (a leader
      // steps down within its `freeze` event, so it holds none) for a message on its room's
      // channel. Any other reason (a peer connection left open, say) is a regression.
      await leader.page.bringToFront();
      await leader.page.goBack();
      const reasons = await leader.page.evaluate(() => {
        const entry = performance.getEntriesByType(
          "navigation",
        )[0] as PerformanceNavigationTiming & {
          notRestoredReasons?: { reasons?: { reason: string }[] } | null;
        };
        return (entry.notRestoredReasons?.reasons ?? []).map((r) => r.reason);
      });
      expect(
        reasons.filter((r) => r !== "weblocks-contention" && r !== "broadcastchannel-message"),
        `not restored for: ${reasons.join(", ")}`,
      ).toEqual([]);
      await leader.page.waitForFunction(() => window.p2pandaTab?.role === "follower", undefined, {
        timeout: 90_000,
        polling: 200,
      });
      await expect(leader.page.getByTestId("node-id")).toHaveText(leader.nodeId);
      await expect(
        leader.page.getByTestId("chat-message").filter({ hasText: "to the new leader" }),
      ).toHaveCount(1, { timeout: 30_000 });
      const load = loadavg()
        .map((l) => l.toFixed(1))
        .join(" ");
      console.log(
        `bfcache: leader away: the next tab's node ran ${takeover} ms after the navigation began; its line at B after ${toB} ms, B's line at it after ${fromB} ms (from the navigation; load ${load})`,
      );
      expect([...leader.errors, ...follower.errors, ...b.errors]).toEqual([]);
    } finally {
      await freezable.close();
    }
  });
});

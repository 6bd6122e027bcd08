// One node per origin (issue 13) with a frozen leader: three tabs of one browser share one node;
// the leader's tab is hidden and frozen for real (CDP, in the freezable browser: a page of
// Playwright's own contexts never hides), steps down within the `freeze` event, and a follower
// takes the node over; the tabs keep chatting with a user in another context; resumed, the old
// leader follows with the same node id and every line. Prints the takeover times (`freeze:`).
import { availableParallelism, loadavg } from "node:os";
import type { DemoTabHook } from "../demo/test-hook.ts";
import { type DemoTab, demoUrl, expect, test } from "./fixtures.ts";
import { hideAndFreeze, launchFreezableBrowser } from "./support/freezable-browser.ts";
import { INERT_VITE_CLIENT } from "./support/inert-vite-client.ts";
import { expectLines, openShared, role, type SharedTab, write } from "./support/shared-tabs.ts";

/** What the issue asks: another tab runs the node this soon after the leader froze. */
const TAKEOVER_MS = 2_000;

/** The 2 s, stretched by how far the load average is over the cores (at most 5×). */
function takeoverLimitMs(): number {
  const overload = Math.max(1, (loadavg()[0] ?? 0) / availableParallelism());
  return Math.round(TAKEOVER_MS * Math.min(5, overload));
}

test.describe("one node per origin, frozen leader", () => {
  test("a frozen leader tab hands the shared node over to a follower; resumed, it follows with every line", async ({
    openTab,
    freshBootstrap,
  }) => {
    test.setTimeout(240_000);
    const freezable = await launchFreezableBrowser();
    try {
      await freezable.context.route(/\/@vite\/client$/, (route) =>
        route.fulfill({ contentType: "text/javascript", body: INERT_VITE_CLIENT }),
      );
      const topic = `e2e shared node frozen ${Date.now().toString(36)}`;
      const options = { topic, bootstrapAddress: freshBootstrap.address };
      const url = demoUrl(options);
      const first = await openShared(freezable.context, url, { polling: 200 });
      const others = [
        await openShared(freezable.context, url, { polling: 200 }),
        await openShared(freezable.context, url, { polling: 200 }),
      ];
      const tabs = [first, ...others];
      const nodeId = await first.page.getByTestId("node-id").textContent();
      expect(nodeId).toMatch(/^[0-9a-f]{64}$/);
      expect(await Promise.all(tabs.map(role))).toEqual(["leader", "follower", "follower"]);
      for (const tab of others) await expect(tab.page.getByTestId("node-id")).toHaveText(nodeId!);
      const outsider: DemoTab = await openTab(options);
      expect(outsider.nodeId).not.toBe(nodeId);
      await write(others[0] as SharedTab, "before the freeze, from a follower");
      await write(outsider, "before the freeze, from outside");
      const before = ["before the freeze, from a follower", "before the freeze, from outside"];
      await expectLines([...tabs, outsider], before);

      // The leader's page notes when its `freeze` event ran (read after the resume).
      await first.page.evaluate(() => {
        document.addEventListener("freeze", () => {
          (window as unknown as { frozenAt: number }).frozenAt = Date.now();
        });
      });
      const freezeAsked = Date.now();
      const freeze = await hideAndFreeze(freezable, first.page);
      const frozenAsked = Date.now();

      // The user is in another tab of the app: a hidden tab taking over would start the node
      // with its timers throttled to one wake-up a second.
      await (others[0] as SharedTab).page.bringToFront();
      // A follower leads: poll the roles (the frozen page is not asked: it runs nothing).
      try {
        await expect
          .poll(async () => (await Promise.all(others.map(role))).sort(), {
            timeout: 30_000,
            intervals: [100],
          })
          .toEqual(["follower", "leader"]);
      } catch (error) {
        // What the followers see of the lock and the room, for the report.
        for (const tab of others) {
          const seen = await tab.page.evaluate(async () => ({
            locks: await navigator.locks.query(),
            room: window.sharedRoom?.role,
            hook: window.p2pandaTab,
            visibility: document.visibilityState,
          }));
          console.log(`freeze: no takeover: ${JSON.stringify(seen)} ${tab.errors.join("; ")}`);
        }
        throw error;
      }
      const leader = (
        (await role(others[0] as SharedTab)) === "leader" ? others[0] : others[1]
      ) as SharedTab;
      const follower = (leader === others[0] ? others[1] : others[0]) as SharedTab;
      const hook = (await (
        await leader.page.waitForFunction(
          () => {
            const tab = window.p2pandaTab;
            return tab?.reservedAt === undefined ? undefined : tab;
          },
          undefined,
          { timeout: 30_000, polling: 200 },
        )
      ).jsonValue()) as DemoTabHook;
      expect(hook.nodeId).toBe(nodeId);
      await write(follower, "while the leader is frozen, from a follower");
      await write(leader, "while the leader is frozen, from the new leader");
      await write(outsider, "while the leader is frozen, from outside");
      const during = [
        "while the leader is frozen, from a follower",
        "while the leader is frozen, from the new leader",
        "while the leader is frozen, from outside",
      ];
      await expectLines([leader, follower, outsider], [...before, ...during]);

      // Resumed: the old leader follows the tab that took over, with the same node id.
      await freeze.resume();
      const frozenAt = await first.page.evaluate(
        () => (window as unknown as { frozenAt?: number }).frozenAt,
      );
      expect(frozenAt, "the leader's page got its freeze event").toBeDefined();
      await expect.poll(() => role(first), { timeout: 30_000 }).toBe("follower");
      await expect(first.page.getByTestId("node-id")).toHaveText(nodeId!);
      await write(first, "after the resume, from the old leader");
      await expectLines(
        [...tabs, outsider],
        [...before, ...during, "after the resume, from the old leader"],
      );
      expect(await Promise.all([leader, follower].map(role))).toEqual(["leader", "follower"]);

      const since = (at: number | undefined) =>
        at === undefined ? "?" : String(at - (frozenAt as number));
      const load = loadavg()
        .map((l) => l.toFixed(1))
        .join(" ");
      console.log(
        `freeze: takeover: elected ${since(hook.electedAt)} ms, node running ${since(hook.runningAt)} ms, relay reservation ${since(hook.reservedAt)} ms after the leader's freeze event (hiding and freezing over CDP took ${frozenAsked - freezeAsked} ms; load ${load}, ${availableParallelism()} cores)`,
      );
      expect((hook.runningAt as number) - (frozenAt as number)).toBeLessThan(takeoverLimitMs());
      expect([...tabs, outsider].flatMap((t) => t.errors)).toEqual([]);
    } finally {
      await freezable.close();
    }
  });
});

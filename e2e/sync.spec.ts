// Synced chat across tabs: the history is made of signed operations in each tab's IndexedDB and
// synced with whoever is on the topic. A tab that opens later catches up, a reloaded tab shows
// everything before any peer answers, and an always-on CLI peer serves the history when no other
// tab is open.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BootstrapNode, startCliNode } from "../scripts/bootstrap-node.ts";
import { type DemoTab, expect, test } from "./fixtures.ts";
import { syncDiagnostics } from "./support/tabs.ts";

const CATCH_UP_MS = 90_000;

async function send(tab: DemoTab, text: string): Promise<void> {
  await tab.page.getByTestId("chat-input").fill(text);
  await tab.page.getByTestId("chat-send").click();
  await expect(tab.page.getByTestId("chat-message").filter({ hasText: text })).toHaveCount(1);
}

function texts(tab: DemoTab) {
  return tab.page.getByTestId("chat-message").locator(".text");
}

test.describe("synced chat", () => {
  test("a later tab catches up, gets new messages live, and keeps everything after a reload", async ({
    openTab,
    freshBootstrap,
  }) => {
    test.setTimeout(150_000);
    const topic = `e2e sync ${Date.now()}`;
    const bootstrapAddress = freshBootstrap.address;
    const a = await openTab({ topic, bootstrapAddress });
    for (const text of ["one", "two", "three"]) await send(a, text);

    const b = await openTab({ topic, bootstrapAddress });
    try {
      await expect(texts(b)).toHaveText(["one", "two", "three"], { timeout: CATCH_UP_MS });
    } catch (error) {
      console.error(`A: ${await syncDiagnostics(a.page)}\nB: ${await syncDiagnostics(b.page)}`);
      throw error;
    }
    // Live mode: a message written now arrives without a new session.
    await expect(b.page.getByTestId("sync-status")).not.toHaveAttribute("data-live", "0", {
      timeout: CATCH_UP_MS,
    });
    await send(b, "four from b");
    await expect(texts(a)).toHaveText(["one", "two", "three", "four from b"], {
      timeout: 30_000,
    });

    // Nobody else online: what B shows after a reload comes from its own IndexedDB.
    await a.context.close();
    await b.page.reload();
    await expect(b.page.getByTestId("status")).toHaveAttribute("data-state", "running", {
      timeout: 60_000,
    });
    await expect(texts(b)).toHaveText(["one", "two", "three", "four from b"]);
    expect(b.errors).toEqual([]);
  });

  test("with only the CLI peer online, a new tab still gets the history", async ({
    openTab,
    freshBootstrap,
  }) => {
    test.setTimeout(180_000);
    const topic = `e2e sync cli ${Date.now()}`;
    const dataDir = await mkdtemp(join(tmpdir(), "p2panda-e2e-sync-"));
    const stored: string[] = [];
    const log: string[] = [];
    let peer: BootstrapNode | undefined;
    const bootstrapAddress = freshBootstrap.address;
    try {
      peer = await startCliNode({
        command: "node",
        args: ["--bootstrap", bootstrapAddress, "--topic", topic, "--sync", "--data-dir", dataDir],
        onLine: (line) => {
          log.push(JSON.stringify(line));
          if (line.event === "sync-operation" && typeof line.text === "string") {
            stored.push(line.text);
          }
        },
      });
      const a = await openTab({ topic, bootstrapAddress });
      for (const text of ["kept by", "the always-on", "peer"]) await send(a, text);
      try {
        await expect.poll(() => stored.length, { timeout: CATCH_UP_MS }).toBe(3);
      } catch (error) {
        console.error(`CLI peer's last lines:\n${log.slice(-40).join("\n")}`);
        throw error;
      }
      await a.context.close();

      const c = await openTab({ topic, bootstrapAddress });
      await expect(texts(c)).toHaveText(["kept by", "the always-on", "peer"], {
        timeout: CATCH_UP_MS,
      });
    } finally {
      await peer?.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

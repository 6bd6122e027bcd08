// The SDK as a web developer ships it: examples/vite-app, installed from the packed packages and
// built by `vite build` (scripts/example-app.ts), served as static files. Two users (browser
// contexts) open it on one topic against a bootstrap node: a gossip line sent in one reaches the
// other, and an entry appended to the log in the other is synced back.
import { rm } from "node:fs/promises";
import { dirname } from "node:path";
import type { Page } from "@playwright/test";
import { buildExampleApp, EXAMPLE_DIST_ENV } from "../scripts/example-app.ts";
import { type StaticServer, serveStatic } from "../scripts/static-server.ts";
import { expect, test } from "./fixtures.ts";
import { collectPageErrors } from "./support/tabs.ts";

let site: StaticServer;
/** The temporary folder of a build this test made itself, removed after it. */
let ownBuild: string | undefined;

test.beforeAll(async () => {
  // scripts/e2e.ts builds the example before it enters the network namespace (npm needs the
  // registry); run directly, without one, the test builds it itself.
  let dist = process.env[EXAMPLE_DIST_ENV];
  if (dist === undefined) {
    test.setTimeout(300_000);
    const build = await buildExampleApp();
    ownBuild = dirname(build.appDir);
    dist = build.distDir;
  }
  site = await serveStatic(dist);
});

test.afterAll(async () => {
  await site?.close();
  if (ownBuild !== undefined) await rm(ownBuild, { recursive: true, force: true });
});

async function openExample(page: Page, bootstrap: string, topic: string): Promise<string[]> {
  const errors = collectPageErrors(page);
  const url = new URL(site.url);
  url.searchParams.set("bootstrap", bootstrap);
  url.searchParams.set("topic", topic);
  await page.goto(url.toString());
  await expect(page.locator("body")).toHaveAttribute("data-state", "running");
  return errors;
}

test("two users of the built example app exchange a gossip line and a synced log entry", async ({
  browser,
  freshBootstrap,
}) => {
  const topic = `example-app ${Date.now()}`;
  const alice = await (await browser.newContext()).newPage();
  const bob = await (await browser.newContext()).newPage();
  try {
    const aliceErrors = await openExample(alice, freshBootstrap.address, topic);
    const bobErrors = await openExample(bob, freshBootstrap.address, topic);
    // Each finds the other through the bootstrap's discovery and joins its gossip overlay.
    await expect(alice.locator("body")).toHaveAttribute("data-gossip", "joined", {
      timeout: 30_000,
    });
    await expect(bob.locator("body")).toHaveAttribute("data-gossip", "joined", { timeout: 30_000 });

    await alice.getByTestId("text").fill("hello from alice");
    await alice.getByTestId("gossip-send").click();
    await expect(alice.getByTestId("gossip-sent")).toHaveText(["hello from alice"]);
    await expect(bob.getByTestId("gossip-received")).toHaveText(["hello from alice"]);

    await bob.getByTestId("text").fill("bob's first entry");
    await bob.getByTestId("log-append").click();
    await expect(bob.getByTestId("log-entry")).toHaveText(["bob's first entry"]);
    await expect(alice.getByTestId("log-entry")).toHaveText(["bob's first entry"], {
      timeout: 30_000,
    });
    // Gossip is not echoed to its sender, and neither page logged an error.
    await expect(alice.getByTestId("gossip-received")).toHaveCount(0);
    expect(aliceErrors).toEqual([]);
    expect(bobErrors).toEqual([]);
  } finally {
    await alice.context().close();
    await bob.context().close();
  }
});

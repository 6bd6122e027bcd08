// `npm run test:e2e` (also the last step of `npm test`): the Playwright multi-tab suite (e2e/).
// As root, with `unshare` and `ip` available (always so on CI), it re-runs itself inside a
// private network namespace so that WebRTC between tabs never touches a real interface;
// otherwise it runs directly and WebRTC uses the host's interfaces. Extra arguments go to
// `playwright test` (e.g. `npm run test:e2e -- e2e/demo.spec.ts`). Results: a list on stdout and
// Playwright's JSON report in .e2e-results.json (read by scripts/test.ts).
import { spawnSync } from "node:child_process";
import { readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { insideNetworkNamespace, rerunInNetworkNamespace } from "../e2e/support/netns.ts";
import { buildExampleApp, EXAMPLE_DIST_ENV } from "./example-app.ts";

const args = process.argv.slice(2);

if (!readdirSync("e2e").some((f) => f.endsWith(".spec.ts"))) {
  console.log("no e2e tests");
  process.exit(0);
}

// The example app's test serves a build from the packed packages; `npm install` needs the
// registry, which the namespace cannot reach, so the build happens here, before entering it.
const specs = args.filter((a) => a.endsWith(".spec.ts"));
const examplePicked = specs.length === 0 || specs.some((a) => a.includes("example-app"));
if (examplePicked && process.env[EXAMPLE_DIST_ENV] === undefined && !insideNetworkNamespace()) {
  const started = Date.now();
  const example = await buildExampleApp();
  process.on("exit", () => rmSync(dirname(example.appDir), { recursive: true, force: true }));
  process.env[EXAMPLE_DIST_ENV] = example.distDir;
  const t = example.timings;
  console.log(
    `e2e: example app built in ${((Date.now() - started) / 1000).toFixed(1)} s ` +
      `(pack ${t.pack} ms, npm install ${t.install} ms, tsc ${t.typecheck} ms, vite build ${t.build} ms)`,
  );
}

rerunInNetworkNamespace("e2e", "scripts/e2e.ts", args);

const cli = createRequire(import.meta.url).resolve("@playwright/test/cli");
const result = spawnSync(process.execPath, [cli, "test", ...args], { stdio: "inherit" });
process.exit(result.status ?? 1);

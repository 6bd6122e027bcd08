// `npm run test:e2e` (also the last step of `npm test`): the Playwright multi-tab suite (e2e/).
// As root, with `unshare` and `ip` available (always so on CI), it re-runs itself inside a
// private network namespace so that WebRTC between tabs never touches a real interface;
// otherwise it runs directly and WebRTC uses the host's interfaces. Extra arguments go to
// `playwright test` (e.g. `npm run test:e2e -- e2e/demo.spec.ts`). Results: a list on stdout and
// Playwright's JSON report in .e2e-results.json (read by scripts/test.ts).
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { rerunInNetworkNamespace } from "../e2e/support/netns.ts";

const args = process.argv.slice(2);

if (!readdirSync("e2e").some((f) => f.endsWith(".spec.ts"))) {
  console.log("no e2e tests");
  process.exit(0);
}

rerunInNetworkNamespace("e2e", "scripts/e2e.ts", args);

const cli = createRequire(import.meta.url).resolve("@playwright/test/cli");
const result = spawnSync(process.execPath, [cli, "test", ...args], { stdio: "inherit" });
process.exit(result.status ?? 1);

// Placeholder until the multi-tab harness lands: runs Playwright only when e2e tests exist.
import { readdirSync } from "node:fs";

const hasTests = readdirSync("e2e").some((f) => f.endsWith(".spec.ts"));
if (!hasTests) {
  console.log("no e2e tests yet");
  process.exit(0);
}
console.error("e2e tests exist but the harness is missing");
process.exit(1);

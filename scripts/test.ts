// `npm test`: lint, typecheck (with the docs' code blocks), the API reference, the packed
// packages (publint, attw), unit and browser tests (Vitest: Node + real Chromium), the bundle
// budget (which builds examples/vite-app from the packed packages), then the multi-tab
// end-to-end suite (Playwright), which serves that same build of the example. Every step runs
// even when an earlier one failed, so one run shows everything that is wrong; the last line
// counts the tests for CI.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXAMPLE_DIST_ENV } from "./example-app.ts";

interface Step {
  name: string;
  command: string[];
}

// The bundle budget builds the example here and keeps it for the e2e step.
const exampleWorkDir = mkdtempSync(join(tmpdir(), "p2panda-web-example-"));
const exampleDist = join(exampleWorkDir, "app", "dist");

const steps: Step[] = [
  { name: "lint", command: ["npx", "biome", "check", "."] },
  { name: "typecheck", command: ["node", "scripts/typecheck.ts"] },
  // The API reference of every entry point, warnings as errors (typedoc.json); not written out.
  { name: "api-docs", command: ["npx", "typedoc", "--emit", "none"] },
  { name: "packages", command: ["node", "scripts/check-packages.ts"] },
  {
    name: "vitest",
    command: [
      "npx",
      "vitest",
      "run",
      "--reporter=default",
      "--reporter=json",
      "--outputFile.json=.vitest-results.json",
    ],
  },
  {
    name: "bundle budget",
    command: ["node", "bench/bundle-budget.ts", "--example-dir", exampleWorkDir],
  },
  { name: "e2e", command: ["node", "scripts/e2e.ts"] },
];

rmSync(".vitest-results.json", { force: true });
rmSync(".e2e-results.json", { force: true });

const failedSteps: string[] = [];
for (const step of steps) {
  console.log(`\n▶ ${step.name}: ${step.command.join(" ")}`);
  const started = Date.now();
  // The e2e step serves the budget's build of the example; without one (the budget failed
  // before building it) scripts/e2e.ts makes its own.
  const env = { ...process.env };
  if (step.name === "e2e" && existsSync(exampleDist)) env[EXAMPLE_DIST_ENV] = exampleDist;
  const result = spawnSync(step.command[0] as string, step.command.slice(1), {
    stdio: "inherit",
    env,
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (result.status !== 0) {
    failedSteps.push(step.name);
    console.log(
      `✗ ${step.name} failed (exit ${result.status ?? result.signal}) after ${seconds} s`,
    );
  } else {
    console.log(`✓ ${step.name} passed in ${seconds} s`);
  }
}

rmSync(exampleWorkDir, { recursive: true, force: true });

let passed = 0;
let failed = 0;
let skipped = 0;
if (existsSync(".vitest-results.json")) {
  const r = JSON.parse(readFileSync(".vitest-results.json", "utf8"));
  passed += r.numPassedTests ?? 0;
  failed += r.numFailedTests ?? 0;
  skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
}
if (existsSync(".e2e-results.json")) {
  const s = JSON.parse(readFileSync(".e2e-results.json", "utf8")).stats ?? {};
  passed += (s.expected ?? 0) + (s.flaky ?? 0);
  failed += s.unexpected ?? 0;
  skipped += s.skipped ?? 0;
}
if (failedSteps.length > 0) console.log(`\nfailed steps: ${failedSteps.join(", ")}`);
console.log(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failedSteps.length > 0 || failed > 0 || passed === 0 ? 1 : 0);

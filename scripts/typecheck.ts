// The typecheck step of `npm test`: extracts the README's usage example into an ignored file
// (so the documented API cannot drift from the real one) and runs tsc over the whole project,
// then over the README's examples alone with create-vite's strict settings
// (scripts/tsconfig.readme.json), as an app that pastes them would compile them.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";

const readme = readFileSync("README.md", "utf8");
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string);
if (blocks.length === 0) throw new Error("README.md has no ```ts block");
mkdirSync("scripts/generated", { recursive: true });
blocks.forEach((code, i) => {
  writeFileSync(
    `scripts/generated/readme-example-${i}.ts`,
    `// Generated from README.md.\n${code}\nexport {};\n`,
  );
});
const result = spawnSync("npx", ["tsc", "-p", "tsconfig.json", "--noEmit"], { stdio: "inherit" });
const strict = spawnSync("npx", ["tsc", "-p", "scripts/tsconfig.readme.json"], {
  stdio: "inherit",
});
const failed = [result, strict].find((run) => run.status !== 0);
process.exit(failed === undefined ? 0 : (failed.status ?? 1));

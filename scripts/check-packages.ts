// The package step of `npm test`: packs every workspace package as `npm publish` would and lints
// each tarball with publint (strict: warnings fail too) and @arethetypeswrong/cli. attw uses its
// esm-only profile: the packages are ESM only by design (Node 22.18+, bundlers), so a `require`
// from CommonJS and node10 resolution of subpath entries are not supported (the packages' READMEs
// state that floor; `main` and `types` still serve old tools the root entry).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { packWorkspaces } from "./pack-workspaces.ts";

const dir = mkdtempSync(join(tmpdir(), "p2panda-web-packages-"));
const failures: string[] = [];
try {
  const tarballs = await packWorkspaces(dir);
  for (const [name, tarball] of Object.entries(tarballs)) {
    const checks = [
      ["publint", ["run", "--strict", tarball]],
      ["attw", ["--profile", "esm-only", "--format", "ascii", "--no-color", tarball]],
    ] as const;
    for (const [tool, args] of checks) {
      console.log(`\n▶ ${tool} ${name}`);
      // The bins directly: npx would spend a second per call looking them up.
      const result = spawnSync(join("node_modules", ".bin", tool), args, { stdio: "inherit" });
      if (result.status !== 0) failures.push(`${tool} ${name}`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
if (failures.length > 0) {
  console.log(`\npackage checks failed: ${failures.join(", ")}`);
  process.exit(1);
}
console.log("\npackage checks passed: publint and attw on every workspace package");

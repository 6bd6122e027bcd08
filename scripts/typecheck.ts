// The typecheck step of `npm test`: every code block of README.md and docs/*.md is checked, so
// the documented API and commands cannot drift from the real ones. TypeScript blocks are
// extracted into ignored files under scripts/generated/ and compiled with the whole project by
// tsc, and the README's examples once more alone with create-vite's strict settings
// (scripts/tsconfig.readme.json), as an app that pastes them would compile them; JSON blocks
// (one document, or one per line as the CLI prints them) are parsed; shell blocks are parsed by
// `bash -n`; proxy configurations must be excerpts of deploy/. A block marked ```ts ignore (or
// any other fence info after the language) is prose, not code, and is skipped; blocks without a
// language are output or trees.
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename } from "node:path";

interface Block {
  file: string;
  line: number;
  lang: string;
  code: string;
}

const TS_LANGS = new Set(["ts", "typescript"]);
const SHELL_LANGS = new Set(["sh", "bash", "shell"]);
// Proxy configurations are excerpts of the files in deploy/, which a test runs in a real proxy:
// every line of such a block must be a line of its file.
const EXCERPT_OF: Record<string, string> = {
  caddyfile: "deploy/Caddyfile",
  nginx: "deploy/nginx.conf",
};

function blocksOf(file: string): Block[] {
  const text = readFileSync(file, "utf8");
  const blocks: Block[] = [];
  // The info string is the language and nothing else; anything after it (`ts ignore`) opts out.
  for (const m of text.matchAll(/^```([^\n]*)\n([\s\S]*?)^```$/gm)) {
    const info = (m[1] as string).trim();
    if (info === "" || /\s/.test(info)) continue;
    const line = text.slice(0, m.index).split("\n").length;
    blocks.push({ file, line, lang: info, code: m[2] as string });
  }
  return blocks;
}

const files = [
  "README.md",
  ...readdirSync("docs")
    .filter((f) => f.endsWith(".md"))
    .sort()
    .map((f) => `docs/${f}`),
];
const blocks = files.flatMap(blocksOf);
if (!blocks.some((b) => b.file === "README.md" && TS_LANGS.has(b.lang))) {
  throw new Error("README.md has no ```ts block");
}

const problems: string[] = [];
const counts = { ts: 0, readme: 0, json: 0, shell: 0, excerpts: 0, unchecked: 0 };
rmSync("scripts/generated", { recursive: true, force: true });
mkdirSync("scripts/generated", { recursive: true });
for (const block of blocks) {
  const where = `${block.file}:${block.line}`;
  if (TS_LANGS.has(block.lang)) {
    counts.ts++;
    // The README's keep the names scripts/tsconfig.readme.json compiles alone.
    const name =
      block.file === "README.md"
        ? `readme-example-${counts.readme++}.ts`
        : `${basename(block.file, ".md")}-line-${block.line}.ts`;
    writeFileSync(
      `scripts/generated/${name}`,
      `// Generated from ${where}.\n${block.code}\nexport {};\n`,
    );
  } else if (block.lang === "json") {
    counts.json++;
    try {
      JSON.parse(block.code);
    } catch {
      // Not one document: then one document per line, as the CLI prints its events.
      for (const [i, jsonLine] of block.code.trim().split("\n").entries()) {
        try {
          JSON.parse(jsonLine);
        } catch (error) {
          problems.push(`${block.file}:${block.line + 1 + i}: invalid JSON: ${error}`);
        }
      }
    }
  } else if (SHELL_LANGS.has(block.lang)) {
    counts.shell++;
    const result = spawnSync("bash", ["-n"], { input: block.code, encoding: "utf8" });
    if (result.status !== 0) problems.push(`${where}: shell syntax: ${result.stderr.trim()}`);
  } else if (EXCERPT_OF[block.lang] !== undefined) {
    counts.excerpts++;
    const source = EXCERPT_OF[block.lang] as string;
    const lines = new Set(
      readFileSync(source, "utf8")
        .split("\n")
        .map((l) => l.trim()),
    );
    for (const line of block.code.split("\n").map((l) => l.trim())) {
      if (line !== "" && !lines.has(line))
        problems.push(`${where}: not a line of ${source}: ${line}`);
    }
  } else {
    counts.unchecked++;
  }
}
console.log(
  `doc code blocks: ${counts.ts} TypeScript compiled, ${counts.json} JSON parsed, ` +
    `${counts.shell} shell parsed, ${counts.excerpts} deploy/ excerpts matched, ` +
    `${counts.unchecked} of other languages not checked`,
);
for (const problem of problems) console.error(problem);

const result = spawnSync("npx", ["tsc", "-p", "tsconfig.json", "--noEmit"], { stdio: "inherit" });
const strict = spawnSync("npx", ["tsc", "-p", "scripts/tsconfig.readme.json"], {
  stdio: "inherit",
});
const failed = [result, strict].find((run) => run.status !== 0);
process.exit(problems.length > 0 ? 1 : failed === undefined ? 0 : (failed.status ?? 1));

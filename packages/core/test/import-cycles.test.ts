// The source files of every package import each other without a cycle: a cycle makes the order
// modules initialise in depend on which one is imported first (the endpoint's types and its
// implementation once formed one).
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const packages = fileURLToPath(new URL("../..", import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** Relative imports and re-exports of each file (type-only ones too). */
function importGraph(files: readonly string[]): Map<string, string[]> {
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(file, "utf8");
    const targets = [...text.matchAll(/(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"/g)]
      .map((m) => normalize(join(dirname(file), m[1] as string)))
      .filter((target) => known.has(target));
    graph.set(file, targets);
  }
  return graph;
}

/** One cycle per strongly connected component with more than one file, as a path list. */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, "open");
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === "open") found.push(stack.slice(stack.indexOf(next)));
      else if (state.get(next) === undefined) visit(next);
    }
    stack.pop();
    state.set(file, "done");
  };
  for (const file of graph.keys()) if (state.get(file) === undefined) visit(file);
  return found;
}

describe("import cycles", () => {
  it("the detector finds a cycle", () => {
    const graph = new Map([
      ["a", ["b"]],
      ["b", ["c"]],
      ["c", ["a"]],
      ["d", ["a"]],
    ]);
    expect(cycles(graph)).toEqual([["a", "b", "c"]]);
  });

  it("no package's src has one", () => {
    const files = readdirSync(packages).flatMap((name) => {
      try {
        return sourceFiles(join(packages, name, "src"));
      } catch {
        return [];
      }
    });
    expect(files.length).toBeGreaterThan(100);
    const found = cycles(importGraph(files)).map((cycle) =>
      cycle.map((file) => file.slice(packages.length)).join(" → "),
    );
    expect(found).toEqual([]);
  });
});

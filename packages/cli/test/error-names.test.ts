// Every error class any package exports keeps its name in a minified app bundle. The name JS
// infers from `class DialFailedError` is what a minifier renames (to `jH`), so each class must
// state its name as a string of its own: a static `name` field, which the constructor copies to
// the instance. Covers every entry point of every workspace package, read from their exports.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const packagesDir = join(import.meta.dirname, "..", "..");

/** Every `package/subpath` specifier of every workspace package. */
function entryPoints(): string[] {
  return readdirSync(packagesDir).flatMap((dir) => {
    const pkg = JSON.parse(readFileSync(join(packagesDir, dir, "package.json"), "utf8")) as {
      name: string;
      exports: Record<string, unknown>;
    };
    return Object.keys(pkg.exports).map((sub) =>
      sub === "." ? pkg.name : `${pkg.name}${sub.slice(1)}`,
    );
  });
}

type ErrorClass = (new (...args: unknown[]) => Error) & { readonly name: string };

async function exportedErrorClasses(): Promise<Map<string, ErrorClass>> {
  const found = new Map<string, ErrorClass>();
  for (const entry of entryPoints()) {
    const module = (await import(/* @vite-ignore */ entry)) as Record<string, unknown>;
    for (const [key, value] of Object.entries(module)) {
      if (typeof value === "function" && value.prototype instanceof Error) {
        found.set(key, value as ErrorClass);
      }
    }
  }
  return found;
}

// Argument lists the error constructors of this repository take, tried in turn.
const NODE_ID = "ab".repeat(32);
const ARGUMENT_SHAPES: unknown[][] = [
  [],
  ["a reason"],
  ["SOME_CODE", "a reason"],
  [NODE_ID],
  [NODE_ID, "a reason"],
  [NODE_ID, "/p2panda/test/1"],
];

function construct(errorClass: ErrorClass): Error | undefined {
  for (const args of ARGUMENT_SHAPES) {
    try {
      return new errorClass(...args);
    } catch {
      // Not this shape; try the next.
    }
  }
  return undefined;
}

describe("error class names survive minification", () => {
  it("every exported error class states its own name as a static string", async () => {
    const classes = await exportedErrorClasses();
    // The packages export over 50 error classes; far fewer means the entries were not read.
    expect(classes.size).toBeGreaterThan(50);
    const unnamed = [...classes].filter(([key, errorClass]) => {
      const own = Object.getOwnPropertyDescriptor(errorClass, "name");
      // A class field is enumerable; the name JS infers from the declaration is not.
      return own?.enumerable !== true || own.value !== key;
    });
    expect(unnamed.map(([key]) => key)).toEqual([]);
  });

  it("an instance's name is its class's stated name", async () => {
    const classes = await exportedErrorClasses();
    const checked: string[] = [];
    for (const [key, errorClass] of classes) {
      const error = construct(errorClass);
      if (error === undefined) continue;
      expect(error.name, key).toBe(key);
      checked.push(key);
    }
    expect(checked.length).toBeGreaterThan(40);
  });
});

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const read = (path: string) => readFileSync(new URL(path, import.meta.url), "utf8");

describe("docs/testkit.md", () => {
  it("shows the example test as it runs (packages/testkit/test/example.test.ts)", () => {
    const docs = read("../../../docs/testkit.md");
    const block = /```ts\n([\s\S]*?)```/.exec(docs)?.[1];
    // The file's opening comment is not part of the example.
    const example = read("./example.test.ts").replace(/^(\/\/.*\n)+/, "");
    expect(block).toBe(example);
  });
});

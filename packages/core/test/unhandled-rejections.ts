// For test files that attack a node: every promise a remote's input touches must be handled, so a
// test that leaves an unhandled rejection behind fails, named, instead of only Vitest's summary
// noticing it. Call once at the top of the file, before the file's own afterEach (after-hooks
// run last-registered first, so the nodes are stopped before the check).
import { afterAll, afterEach, beforeAll, expect } from "vitest";

export function failOnUnhandledRejections(): void {
  const unhandled: unknown[] = [];
  const collect = (reason: unknown) => unhandled.push(reason);
  beforeAll(() => {
    process.on("unhandledRejection", collect);
  });
  afterEach(async () => {
    // Let late rejections of the test's sessions surface before judging.
    await new Promise((resolve) => setImmediate(resolve));
    expect(unhandled.splice(0)).toEqual([]);
  });
  afterAll(() => {
    process.off("unhandledRejection", collect);
  });
}

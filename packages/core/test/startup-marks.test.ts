import { afterEach, describe, expect, it } from "vitest";
import { markStartup, STARTUP_MARK_PREFIX } from "../src/runtime/startup-marks.ts";

const page = globalThis as { document?: unknown };

function marks(step: string): PerformanceEntry[] {
  return performance.getEntriesByName(`${STARTUP_MARK_PREFIX}${step}`, "mark");
}

describe("start-up marks", () => {
  afterEach(() => {
    delete page.document;
    performance.clearMarks();
  });

  it("sets nothing outside a page, where Node would keep every mark for the process's life", () => {
    markStartup("test-outside-a-page");
    expect(marks("test-outside-a-page")).toHaveLength(0);
  });

  it("sets p2panda:<step> in a page, at the time it is given", () => {
    page.document = {};
    const at = performance.now();
    markStartup("test-in-a-page", at - 5);
    markStartup("test-now");
    expect(marks("test-in-a-page").map((m) => m.startTime)).toEqual([at - 5]);
    expect(marks("test-now")[0]?.startTime).toBeGreaterThanOrEqual(at);
  });

  it("never throws, also for a time before the page's time origin", () => {
    page.document = {};
    expect(() => markStartup("test-before-origin", -1)).not.toThrow();
    expect(marks("test-before-origin")).toHaveLength(0);
  });
});

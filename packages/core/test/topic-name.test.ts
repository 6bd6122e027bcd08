import { afterEach, describe, expect, it, vi } from "vitest";
import { MIN_TOPIC_NAME_LENGTH, Topic } from "../src/ids/topic.ts";
import { kdfTimes } from "./topic-name-timing.ts";

afterEach(() => {
  vi.restoreAllMocks();
});

// Module state is per test file, so the once-per-process warning starts fresh here.
describe("Topic.fromName warns about short names", () => {
  it("warns once per process for a name under the minimum, never with allowShortName or a long name", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    expect(MIN_TOPIC_NAME_LENGTH).toBe(16);
    Topic.fromName("a name of twenty chars");
    Topic.fromName("team", { allowShortName: true });
    expect(warn).not.toHaveBeenCalled();
    Topic.fromName("team");
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0])).toContain('"team" is shorter than 16 characters');
    Topic.fromName("crew");
    expect(warn).toHaveBeenCalledTimes(1);
  });
});

describe("Topic.fromName costs a browser at most ~200 ms per name", () => {
  it("measures the KDF in Node (CPU time per fresh name)", () => {
    const { wallMs, cpuMs } = kdfTimes(5);
    console.info(
      `Topic.fromName in Node: wall ${wallMs.join(", ")} ms; CPU ${cpuMs.join(", ")} ms`,
    );
    // Loose bound: the machine is shared; the figures in docs/security.md are the measurement.
    expect(Math.min(...cpuMs)).toBeLessThan(1_000);
  });
});

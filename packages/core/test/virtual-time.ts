// Waiting for a service in virtual time: a service on a VirtualRuntime moves only when the test
// advances the clock, so "wait until" becomes "advance until", bounded in virtual time.
import type { VirtualRuntime } from "../src/runtime/runtime.ts";

/**
 * Advances `runtime` in steps of `stepMs` until `done()` holds; throws after `limitMs` of
 * virtual time, so a condition that never holds fails the test instead of hanging it.
 * Resolves with the virtual time spent.
 */
export async function advanceUntil(
  runtime: VirtualRuntime,
  done: () => boolean,
  { limitMs = 60_000, stepMs = 10 }: { limitMs?: number; stepMs?: number } = {},
): Promise<number> {
  const start = runtime.now();
  while (!done()) {
    if (runtime.now() - start >= limitMs) {
      throw new Error(`condition still false after ${limitMs} ms of virtual time`);
    }
    await runtime.advance(stepMs);
  }
  return runtime.now() - start;
}

/**
 * Resolves once the event loop has had a turn, so that timers and network events queued behind
 * a long run of promise continuations (a liveness ping, say) are handled first.
 *
 * CPU-bound work that only awaits promises never gives way by itself: a synchronous signature
 * check inside an `async` function, repeated over a buffered catch-up, holds the loop for as
 * long as the whole catch-up. Call this between batches of such work.
 */
export function yieldToEventLoop(): Promise<void> {
  const scheduler = (globalThis as { scheduler?: { yield?: () => Promise<void> } }).scheduler;
  if (typeof scheduler?.yield === "function") return scheduler.yield();
  if (typeof globalThis.setImmediate === "function") {
    return new Promise((resolve) => globalThis.setImmediate(resolve));
  }
  return new Promise((resolve) => setTimeout(resolve, 0));
}

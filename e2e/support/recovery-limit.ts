// How soon the lifecycle and bfcache specs want gossip and sync back after a page returns.
import { availableParallelism, loadavg } from "node:os";

/** What issue 13 asks: gossip and sync flow again this soon after the page is back. */
export const RECOVERY_MS = 5_000;
/** Never more than this, however loaded the machine (see {@link recoveryLimitMs}). */
export const RECOVERY_LIMIT_MS = 20_000;

/**
 * The 5 s, on a machine with a core per runnable task; stretched by how far the load
 * average is over the cores (a shared two-core machine under load 8 runs every tab at a quarter
 * of its speed), to at most {@link RECOVERY_LIMIT_MS}.
 */
export function recoveryLimitMs(): number {
  const overload = Math.max(1, (loadavg()[0] ?? 0) / availableParallelism());
  return Math.min(RECOVERY_LIMIT_MS, Math.round(RECOVERY_MS * overload));
}

/** Polls `check` every 100 ms; resolves with the ms since `since`, or throws after `timeoutMs`. */
export async function msUntil(
  check: () => Promise<boolean>,
  since: number,
  timeoutMs: number,
  what: string,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return Date.now() - since;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Prefix of the User Timing marks a node sets on its way up (see {@link markStartup}). */
export const STARTUP_MARK_PREFIX = "p2panda:";

/**
 * Sets the User Timing mark `p2panda:<step>` (at `startTime`, ms on the page's
 * `performance.now()` scale, if given), so a page load's start-up shows step by step in
 * DevTools' performance panel and to `performance.getEntriesByType("mark")` (the time-to-data
 * benchmark reads them). Steps marked: `libp2p-started` (the endpoint's), and by the browser
 * preset `address-book-open`, `sync-stores-open` and `endpoint-started`. What follows (the
 * bootstrap connection, identify, the reservation) shows in the node's events and libp2p's.
 *
 * Only in a page (a `document` exists): Node.js keeps every mark in a buffer for the process's
 * life, and a server or a test run makes many nodes. Never throws.
 */
export function markStartup(step: string, startTime?: number): void {
  if ((globalThis as { document?: unknown }).document === undefined) return;
  try {
    globalThis.performance?.mark(
      `${STARTUP_MARK_PREFIX}${step}`,
      startTime === undefined ? undefined : { startTime },
    );
  } catch {
    // A startTime before the time origin (a connection older than the page): no mark.
  }
}

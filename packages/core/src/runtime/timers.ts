/** A timer that has been scheduled; cancelling it twice, or after it ran, does nothing. */
export interface ScheduledTimer {
  /** Keeps the timer from firing; no-op once it fired. */
  cancel(): void;
}

/**
 * Where services schedule work for later. Injected, so that the same service runs on the real
 * event loop in production and on a {@link VirtualRuntime} in tests and simulators.
 */
export interface Timers {
  /** Runs `run` once, `delayMs` from now (negative delays count as 0). */
  after(delayMs: number, run: () => void): ScheduledTimer;
  /** Runs `run` every `intervalMs` until cancelled. */
  every(intervalMs: number, run: () => void): ScheduledTimer;
}

/** The platform's timers (`setTimeout` / `setInterval`). */
export const systemTimers: Timers = {
  after(delayMs, run) {
    const handle = setTimeout(run, Math.max(0, delayMs));
    return { cancel: () => clearTimeout(handle) };
  },
  every(intervalMs, run) {
    const handle = setInterval(run, intervalMs);
    return { cancel: () => clearInterval(handle) };
  },
};

/**
 * A timer that fires more than this after it was due was held up by our own process (an event
 * loop busy or not scheduled), not by whatever it waits for: see {@link lateTimerGrace}.
 */
export const LATE_TIMER_TOLERANCE_MS = 50;

/**
 * How much longer a deadline that fired `lateMs` after it was due is given before it counts:
 * as long as it was late, from a budget of `timeoutMs` of which `grantedMs` is spent; 0 when it
 * fired on time (within {@link LATE_TIMER_TOLERANCE_MS}) or the budget is spent. An event loop
 * runs its due timers before it reads its sockets, so an answer that arrived while the process
 * could not run waits, unread, behind the very timer that would give up on it; a process
 * starved for ever still ends its waits after twice their timeout.
 */
export function lateTimerGrace(lateMs: number, timeoutMs: number, grantedMs: number): number {
  if (lateMs <= LATE_TIMER_TOLERANCE_MS) return 0;
  return Math.max(0, Math.min(lateMs, timeoutMs - grantedMs));
}

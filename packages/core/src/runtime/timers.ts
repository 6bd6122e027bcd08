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

import { type Clock, systemClock } from "../clock.ts";
import { cryptoRng, type Rng, seededRng } from "../random.ts";
import { VirtualScheduler } from "../sim/scheduler.ts";
import { type ScheduledTimer, systemTimers, type Timers } from "./timers.ts";

/**
 * What a service takes from its surroundings besides the network: time, timers and randomness.
 * Every service accepts one, so that tests and simulators replace all three at once.
 */
export interface Runtime {
  readonly clock: Clock;
  readonly timers: Timers;
  readonly rng: Rng;
}

/** The real clock, the platform's timers and its CSPRNG. */
export const systemRuntime: Runtime = { clock: systemClock, timers: systemTimers, rng: cryptoRng };

/**
 * A runtime whose time only moves when told to: timers run in time order on a
 * {@link VirtualScheduler}, and the rng is seeded, so a service test that waits 30 s of
 * protocol time takes milliseconds and replays exactly.
 */
export class VirtualRuntime implements Runtime {
  readonly scheduler: VirtualScheduler;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly rng: Rng;

  constructor(options: { seed?: number; scheduler?: VirtualScheduler } = {}) {
    const scheduler = options.scheduler ?? new VirtualScheduler();
    this.scheduler = scheduler;
    this.clock = { now: () => scheduler.now() };
    this.rng = seededRng(options.seed ?? 1);
    this.timers = {
      after: (delayMs, run) => scheduler.schedule(delayMs, run),
      every: (intervalMs, run) => {
        let current: ScheduledTimer | undefined;
        let cancelled = false;
        const tick = (): void => {
          if (cancelled) return;
          current = scheduler.schedule(intervalMs, tick);
          run();
        };
        current = scheduler.schedule(intervalMs, tick);
        return {
          cancel: () => {
            cancelled = true;
            current?.cancel();
          },
        };
      },
    };
  }

  /** Current virtual time in milliseconds. */
  now(): number {
    return this.scheduler.now();
  }

  /**
   * Moves virtual time forward by `ms`, running every timer due on the way. Between timers it
   * lets pending promise callbacks and I/O run (one macrotask), so async work a timer started
   * (a write, a store call) settles before the next timer fires, as it would in real time.
   */
  async advance(ms: number): Promise<void> {
    const until = this.scheduler.now() + ms;
    await settle();
    while (this.scheduler.pendingAt !== undefined && this.scheduler.pendingAt <= until) {
      this.scheduler.step();
      await settle();
    }
    this.scheduler.run(until);
  }
}

function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

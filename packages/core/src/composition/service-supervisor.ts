/** Backoff of {@link ServiceSupervisor}; every field documented with its default. */
export interface SupervisorConfig {
  /** Wait before the first restart of a failure streak. Default 1,000 ms. */
  readonly initialBackoffMs: number;
  /** Each further failure in a streak doubles the wait, up to this. Default 30,000 ms. */
  readonly maxBackoffMs: number;
  /**
   * A service that has run this long since its last (re)start without failing is healthy again:
   * its next failure starts a new streak at {@link initialBackoffMs}. Default 60,000 ms.
   */
  readonly healthyAfterMs: number;
}

/** Defaults of {@link SupervisorConfig}: 1 s doubling to 30 s, healthy after a minute. */
export const DEFAULT_SUPERVISOR_CONFIG: SupervisorConfig = Object.freeze({
  initialBackoffMs: 1_000,
  maxBackoffMs: 30_000,
  healthyAfterMs: 60_000,
});

/** What the supervisor asks its adapter to do. */
export type SupervisorOutput =
  /** Call {@link ServiceSupervisor.restartDue} for `service` after `delayMs`. */
  | {
      readonly type: "schedule-restart";
      readonly service: string;
      readonly delayMs: number;
      /** 1 for the first restart of a streak. */
      readonly attempt: number;
      readonly reason: string;
    }
  /** Stop what is left of `service` and start a new one now; report the outcome. */
  | {
      readonly type: "restart";
      readonly service: string;
      readonly attempt: number;
      readonly reason: string;
    };

interface ServiceRecord {
  /** Restarts scheduled in the current failure streak. */
  streak: number;
  /** When the service last started or restarted. */
  startedAt: number | undefined;
  /** The failure a restart is pending for (scheduled or running). */
  pending: { reason: string; attempt: number } | undefined;
}

/**
 * Decides when a failed service is restarted, as upstream p2panda-net's supervisor restarts a
 * crashed actor: a failure schedules a restart after a backoff that starts at 1 s and doubles
 * with every failure of the same streak (a failed restart counts as one) up to 30 s. Pure: no
 * timers and no clock inside; the node feeds it what happened and the time, and carries out its
 * outputs on the injected runtime.
 */
export class ServiceSupervisor {
  readonly config: SupervisorConfig;
  readonly #services = new Map<string, ServiceRecord>();
  #stopped = false;

  constructor(config: Partial<SupervisorConfig> = {}) {
    this.config = { ...DEFAULT_SUPERVISOR_CONFIG, ...config };
  }

  /** `service` started (with the node) at `now`. */
  started(service: string, now: number): void {
    this.#record(service).startedAt = now;
  }

  /**
   * `service` failed unexpectedly at `now`. A failure of a service whose restart is already
   * pending (a second symptom of the same crash) changes nothing.
   */
  failed(service: string, reason: string, now: number): SupervisorOutput[] {
    if (this.#stopped) return [];
    const record = this.#record(service);
    if (record.pending !== undefined) return [];
    if (record.startedAt !== undefined && now - record.startedAt >= this.config.healthyAfterMs) {
      record.streak = 0;
    }
    return [this.#schedule(service, record, reason)];
  }

  /** The wait scheduled for `service` is over: restart it. */
  restartDue(service: string): SupervisorOutput[] {
    const pending = this.#services.get(service)?.pending;
    if (this.#stopped || pending === undefined) return [];
    return [{ type: "restart", service, attempt: pending.attempt, reason: pending.reason }];
  }

  /** The restart of `service` succeeded at `now`: it is watched again. */
  restarted(service: string, now: number): void {
    const record = this.#record(service);
    record.pending = undefined;
    record.startedAt = now;
  }

  /** The restart of `service` failed (its start threw): try again after a longer wait. */
  restartFailed(service: string, reason: string): SupervisorOutput[] {
    if (this.#stopped) return [];
    const record = this.#record(service);
    record.pending = undefined;
    return [this.#schedule(service, record, reason)];
  }

  /** The node stops: no restart from now on. */
  stop(): void {
    this.#stopped = true;
  }

  /** Whether a restart of `service` is scheduled or running. */
  restarting(service: string): boolean {
    return this.#services.get(service)?.pending !== undefined;
  }

  #schedule(service: string, record: ServiceRecord, reason: string): SupervisorOutput {
    const { initialBackoffMs, maxBackoffMs } = this.config;
    const delayMs = Math.min(initialBackoffMs * 2 ** record.streak, maxBackoffMs);
    record.streak += 1;
    record.pending = { reason, attempt: record.streak };
    return { type: "schedule-restart", service, delayMs, attempt: record.streak, reason };
  }

  #record(service: string): ServiceRecord {
    let record = this.#services.get(service);
    if (record === undefined) {
      record = { streak: 0, startedAt: undefined, pending: undefined };
      this.#services.set(service, record);
    }
    return record;
  }
}

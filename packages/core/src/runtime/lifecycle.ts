import { P2pandaError } from "../errors.ts";

/**
 * Where a service is in its life. `idle` → `starting` → `running` → `stopping` → `stopped`;
 * `stopped` is final.
 */
export type LifecycleState = "idle" | "starting" | "running" | "stopping" | "stopped";

/**
 * The one lifecycle every service and the node follow:
 * - `start()` is idempotent: while starting or running it returns the same promise;
 * - `stop()` is idempotent, allowed in every state (before start it only marks the service
 *   stopped), waits for a start in progress, completes the service's streams, and is final;
 * - `start()` after `stop()` throws {@link ServiceStoppedError}: a stopped service never runs
 *   again (its streams have completed); make a new one to restart;
 * - a `start()` that fails leaves the service stopped and rethrows the cause.
 */
export interface Startable {
  /** Where the service is in its lifecycle. */
  readonly state: LifecycleState;
  /** Starts the service; idempotent, throws after `stop()`. */
  start(): Promise<void>;
  /** Stops the service for good; idempotent. */
  stop(): Promise<void>;
}

/** A service was used, or started again, after it was stopped. */
export class ServiceStoppedError extends P2pandaError {
  static override readonly name: string = "ServiceStoppedError";
  /** Name of the stopped service (`"gossip"`, `"sync"`, …). */
  readonly service: string;

  constructor(service: string, code = "SERVICE_STOPPED") {
    super(code, `${service} is stopped: a stopped service does not run again, make a new one`);
    this.service = service;
  }
}

/**
 * The {@link Startable} rules written once: a service keeps one `Lifecycle` and hands it the
 * work of starting and stopping; the lifecycle decides whether that work runs.
 */
export class Lifecycle {
  readonly service: string;
  readonly #stoppedError: () => Error;
  #state: LifecycleState = "idle";
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;

  /**
   * @param service name used in errors.
   * @param stoppedError the error a stopped service throws; default {@link ServiceStoppedError}.
   */
  constructor(service: string, stoppedError?: () => Error) {
    this.service = service;
    this.#stoppedError = stoppedError ?? (() => new ServiceStoppedError(service));
  }

  /** Where the service is now. */
  get state(): LifecycleState {
    return this.#state;
  }

  /** Whether the service runs (started and not stopping). */
  get running(): boolean {
    return this.#state === "running";
  }

  /**
   * Runs `work` once to start the service.
   *
   * @throws the service's stopped error after {@link stop}, or what `work` threw.
   */
  start(work: () => void | Promise<void>): Promise<void> {
    if (this.#state === "stopping" || this.#state === "stopped") {
      return Promise.reject(this.#stoppedError());
    }
    if (this.#starting !== undefined) return this.#starting;
    this.#state = "starting";
    this.#starting = (async () => {
      try {
        await work();
      } catch (error) {
        this.#state = "stopped";
        throw error;
      }
      // A stop() that came in while starting owns the state now.
      if (this.#state === "starting") this.#state = "running";
    })();
    return this.#starting;
  }

  /** Runs `work` once to stop the service, after a start in progress has settled. */
  stop(work: () => void | Promise<void>): Promise<void> {
    if (this.#stopping !== undefined) return this.#stopping;
    const wasStarted = this.#starting;
    this.#state = "stopping";
    this.#stopping = (async () => {
      try {
        await wasStarted?.catch(() => {});
        await work();
      } finally {
        this.#state = "stopped";
      }
    })();
    return this.#stopping;
  }

  /** @throws the service's stopped error unless the service is starting or running. */
  assertNotStopped(): void {
    if (this.#state === "stopping" || this.#state === "stopped") throw this.#stoppedError();
  }
}

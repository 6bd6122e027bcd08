import type { Unstamped } from "@p2panda-web/events";
import { type Observable, Subject, type Subscription } from "rxjs";
import type { DiscoveryEvent } from "../discovery/discovery-manager.ts";
import type { DiscoveryService } from "../discovery/discovery-service.ts";
import type { EndpointEvent } from "../endpoint/events.ts";
import { P2pandaError } from "../errors.ts";
import type { GossipService, GossipServiceEvent } from "../gossip/gossip-service.ts";
import type { Identity } from "../identity/identity.ts";
import { Lifecycle, type LifecycleState, type Startable } from "../runtime/lifecycle.ts";
import type { Runtime } from "../runtime/runtime.ts";
import type { ScheduledTimer } from "../runtime/timers.ts";
import type { SyncServiceEvent } from "../sync/service-events.ts";
import type { SyncService } from "../sync/sync-service.ts";
import { NodeServiceStartError, reasonOf } from "./errors.ts";
import type { NodeLifecycleEvent, NodeSupervisionEvent } from "./events.ts";
import type { LifecycleRecovery } from "./lifecycle-recovery.ts";
import type {
  NodeAddressBook,
  NodeEndpoint,
  NodeService,
  NodeServiceEvents,
} from "./node-options.ts";
import type { ServiceSupervisor, SupervisorOutput } from "./service-supervisor.ts";

/** Every event of a node: its endpoint's, its built-in services' and its own. */
export type NodeEvent =
  | EndpointEvent
  | DiscoveryEvent
  | GossipServiceEvent
  | SyncServiceEvent
  | NodeSupervisionEvent
  | NodeLifecycleEvent;

/** The node was asked for a built-in service it was created without (`gossip: false`, …). */
export class NodeServiceDisabledError extends P2pandaError {
  static override readonly name: string = "NodeServiceDisabledError";
  readonly service: string;

  constructor(service: string) {
    super("NODE_SERVICE_DISABLED", `the node runs no ${service} service (created without it)`);
    this.service = service;
  }
}

/** @internal One service of the node: how to make it, and the instance running now. */
export interface ServiceSlot {
  readonly name: string;
  /**
   * Makes a new instance (on creation and on every restart); `serviceOf` returns the instance
   * of a service it depends on, running now.
   */
  readonly create: (serviceOf: (name: string) => NodeService) => NodeService;
  /** Services this one is built on: when one of them restarts, this one restarts after it. */
  readonly dependsOn: readonly string[];
}

/** @internal What `createNode` hands the node besides its services. */
export interface NodeParts<E extends NodeEndpoint, B extends NodeAddressBook> {
  readonly identity: Identity;
  readonly addressBook: B;
  readonly endpoint: E;
  readonly runtime: Runtime;
  /** Released on stop, last first (what the node opened or made itself). */
  readonly owned: readonly (() => void | Promise<void>)[];
  readonly supervisor: ServiceSupervisor;
}

interface RunningSlot extends ServiceSlot {
  instance: NodeService;
  subscription: Subscription | undefined;
}

/**
 * A p2panda node: identity, address book, endpoint and the services on top (discovery, gossip,
 * sync and the app's own), made by `createNode`. It follows the {@link Startable} lifecycle:
 * `start()` starts the services in order (discovery, gossip, sync, then the app's), `stop()`
 * stops them in reverse, then the endpoint and what the node opened itself. While it runs, a
 * service whose `events$` errors is restarted with backoff (`node:service-failed`, then
 * `node:service-restarted`); `node.gossip` and the others always return the running instance.
 */
export class P2pandaNode<
  E extends NodeEndpoint = NodeEndpoint,
  B extends NodeAddressBook = NodeAddressBook,
  S extends Record<string, NodeService> = Record<never, never>,
> implements Startable
{
  readonly identity: Identity;
  readonly addressBook: B;
  readonly endpoint: E;
  readonly runtime: Runtime;
  /** The app's own services by name (each getter returns the instance running now). */
  readonly services: Readonly<S>;
  readonly #lifecycle = new Lifecycle("node");
  readonly #slots: RunningSlot[];
  readonly #owned: readonly (() => void | Promise<void>)[];
  readonly #supervisor: ServiceSupervisor;
  readonly #events = new Subject<NodeEvent | NodeServiceEvents<S>>();
  readonly #endpointEvents: Subscription | undefined;
  readonly #restartTimers = new Map<string, ScheduledTimer>();
  readonly #restarts = new Set<Promise<void>>();
  #tornDown = false;

  /** @internal Use `createNode`. */
  constructor(parts: NodeParts<E, B>, slots: readonly ServiceSlot[], custom: readonly string[]) {
    this.identity = parts.identity;
    this.addressBook = parts.addressBook;
    this.endpoint = parts.endpoint;
    this.runtime = parts.runtime;
    this.#owned = parts.owned;
    this.#supervisor = parts.supervisor;
    this.#endpointEvents = parts.endpoint.events$?.subscribe((event) => this.#events.next(event));
    this.#slots = [];
    const serviceOf = (name: string): NodeService => this.#slot(name).instance;
    for (const slot of slots) {
      this.#slots.push({ ...slot, instance: slot.create(serviceOf), subscription: undefined });
    }
    for (const slot of this.#slots) this.#watch(slot);
    const services = {};
    for (const name of custom) {
      const slot = this.#slot(name);
      Object.defineProperty(services, name, { enumerable: true, get: () => slot.instance });
    }
    this.services = services as Readonly<S>;
  }

  /** Where the node is in its {@link Startable} lifecycle. */
  get state(): LifecycleState {
    return this.#lifecycle.state;
  }

  /**
   * Events of the endpoint, every service and the node's supervision, merged. Hot; follows
   * restarted services; completes on stop.
   */
  get events$(): Observable<NodeEvent | NodeServiceEvents<S>> {
    return this.#events.asObservable();
  }

  /** @throws NodeServiceDisabledError if the node was created with `discovery: false`. */
  get discovery(): DiscoveryService {
    return this.#builtIn("discovery") as DiscoveryService;
  }

  /** @throws NodeServiceDisabledError if the node was created with `gossip: false`. */
  get gossip(): GossipService {
    return this.#builtIn("gossip") as GossipService;
  }

  /** @throws NodeServiceDisabledError if the node was created with `sync: false`. */
  get sync(): SyncService {
    return this.#builtIn("sync") as SyncService;
  }

  /** @throws NodeServiceDisabledError if the node was created without `lifecycle`. */
  get lifecycle(): LifecycleRecovery {
    return this.#builtIn("lifecycle") as LifecycleRecovery;
  }

  /** Whether the node runs the service named `name` (built-in or the app's). */
  has(name: string): boolean {
    return this.#slots.some((slot) => slot.name === name);
  }

  /**
   * Starts every service in order. If one fails, every service is stopped again (last first),
   * the node is stopped and this rejects.
   * @throws NodeServiceStartError naming the service that failed; ServiceStoppedError after stop.
   */
  start(): Promise<void> {
    return this.#lifecycle.start(() => this.#startAll());
  }

  /**
   * Stops the services (last started first), then the endpoint, the sync stores and the
   * address book if the node made them. Idempotent and final.
   */
  stop(): Promise<void> {
    return this.#lifecycle.stop(() => this.#teardown());
  }

  async #startAll(): Promise<void> {
    for (const slot of this.#slots) {
      try {
        await slot.instance.start?.();
      } catch (error) {
        await this.#teardown().catch(() => {});
        throw new NodeServiceStartError(slot.name, error);
      }
      this.#supervisor.started(slot.name, this.runtime.clock.now());
    }
  }

  async #teardown(): Promise<void> {
    if (this.#tornDown) return;
    this.#tornDown = true;
    this.#supervisor.stop();
    for (const timer of this.#restartTimers.values()) timer.cancel();
    this.#restartTimers.clear();
    await Promise.allSettled(this.#restarts);
    const failures: unknown[] = [];
    for (const slot of [...this.#slots].reverse()) {
      slot.subscription?.unsubscribe();
      await Promise.resolve()
        .then(() => slot.instance.stop?.())
        .catch((error: unknown) => failures.push(error));
    }
    this.#endpointEvents?.unsubscribe();
    for (const release of [...this.#owned].reverse()) {
      await Promise.resolve()
        .then(release)
        .catch((error: unknown) => failures.push(error));
    }
    this.#events.complete();
    if (failures.length > 0) throw failures[0];
  }

  #builtIn(name: string): NodeService {
    const slot = this.#slots.find((s) => s.name === name);
    if (slot === undefined) throw new NodeServiceDisabledError(name);
    return slot.instance;
  }

  #slot(name: string): RunningSlot {
    const slot = this.#slots.find((s) => s.name === name);
    if (slot === undefined) throw new Error(`no service ${name}`);
    return slot;
  }

  #watch(slot: RunningSlot): void {
    const events$ = slot.instance.events$ as
      | Observable<NodeEvent | NodeServiceEvents<S>>
      | undefined;
    slot.subscription = events$?.subscribe({
      next: (event) => this.#events.next(event),
      error: (error: unknown) => this.#failed(slot.name, error),
    });
  }

  /** A service's events$ errored: its background work died. */
  #failed(name: string, error: unknown): void {
    // A failure while starting is start()'s to report; one while stopping is moot.
    if (!this.#lifecycle.running) return;
    this.#apply(this.#supervisor.failed(name, reasonOf(error), this.runtime.clock.now()));
  }

  #apply(outputs: readonly SupervisorOutput[]): void {
    for (const output of outputs) {
      switch (output.type) {
        case "schedule-restart": {
          this.#emit({
            type: "node:service-failed",
            service: output.service,
            reason: output.reason,
            restartInMs: output.delayMs,
            attempt: output.attempt,
          });
          this.#restartTimers.get(output.service)?.cancel();
          this.#restartTimers.set(
            output.service,
            this.runtime.timers.after(output.delayMs, () => {
              this.#restartTimers.delete(output.service);
              this.#apply(this.#supervisor.restartDue(output.service));
            }),
          );
          break;
        }
        case "restart": {
          const restart = this.#restart(output.service, output.attempt, output.reason);
          this.#restarts.add(restart);
          void restart.finally(() => this.#restarts.delete(restart)).catch(() => {});
          break;
        }
      }
    }
  }

  /** Stops `name` and the services built on it, makes new ones and starts them. Never throws. */
  async #restart(name: string, attempt: number, reason: string): Promise<void> {
    const chain = this.#withDependents(name);
    for (const slot of [...chain].reverse()) {
      slot.subscription?.unsubscribe();
      await Promise.resolve()
        .then(() => slot.instance.stop?.())
        .catch(() => {});
    }
    if (this.#tornDown) return;
    try {
      for (const slot of chain) {
        slot.instance = slot.create((other) => this.#slot(other).instance);
        this.#watch(slot);
        await slot.instance.start?.();
      }
    } catch (error) {
      this.#apply(this.#supervisor.restartFailed(name, reasonOf(error)));
      return;
    }
    this.#supervisor.restarted(name, this.runtime.clock.now());
    this.#emit({ type: "node:service-restarted", service: name, reason, attempt });
  }

  /** `name`'s slot and, in start order, every slot that depends on it (directly or not). */
  #withDependents(name: string): RunningSlot[] {
    const names = new Set([name]);
    const chain: RunningSlot[] = [];
    for (const slot of this.#slots) {
      const dependsOn = [...slot.dependsOn, ...(slot.instance.dependsOn ?? [])];
      if (names.has(slot.name) || dependsOn.some((d) => names.has(d))) {
        names.add(slot.name);
        chain.push(slot);
      }
    }
    return chain;
  }

  #emit(event: Unstamped<NodeSupervisionEvent>): void {
    this.#events.next({ ...event, at: this.runtime.clock.now() } as NodeSupervisionEvent);
  }
}

import { EventStream } from "@p2panda-web/events";
import type { Observable, Subscription } from "rxjs";
import type { DiscoveryService } from "../discovery/discovery-service.ts";
import type { GossipService } from "../gossip/gossip-service.ts";
import type { NodeId } from "../ids/node-id.ts";
import type { Runtime } from "../runtime/runtime.ts";
import type { ScheduledTimer } from "../runtime/timers.ts";
import type { NodeLifecycleEvent } from "./events.ts";
import type { NodeAddressBook, NodeEndpoint, NodeLifecycleOptions } from "./node-options.ts";
import {
  PageLifecycle,
  type PageLifecycleInput,
  type PageLifecycleOutput,
} from "./page-lifecycle.ts";

/** What {@link LifecycleRecovery} works on. */
export interface LifecycleRecoveryOptions extends NodeLifecycleOptions {
  /** Dials through `dial` (the libp2p endpoint has it); connections seen on `events$`. */
  readonly endpoint: NodeEndpoint & {
    /** Opens a connection to `node` (the libp2p endpoint has it; without it nothing is dialled). */
    dial?(node: NodeId): Promise<void>;
    /**
     * Closes every connection to `node` at once (the libp2p endpoint has it): a resume after a
     * long pause replaces the bootstrap connections it presumes dead.
     */
    closeConnections?(node: NodeId): void;
    /**
     * Closes every connection and refuses new ones until `resume` (the libp2p endpoint has
     * both): the page goes into the back/forward cache.
     */
    suspend?(): number;
    /** Lets connections through again after `suspend` (the page is back from the cache). */
    resume?(): void;
  };
  /** Where the bootstrap nodes are (`bootstrap: true`). */
  readonly addressBook: Pick<NodeAddressBook, "nodeInfo" | "allNodeInfos">;
  readonly discovery?: DiscoveryService;
  readonly gossip?: GossipService;
  readonly runtime: Runtime;
}

/**
 * Keeps a node going through what a browser page lives through, with no help from the app:
 * offline, frozen or in the back/forward cache it pauses its walkers (into the bfcache it also
 * closes its connections: WebRTC ones would keep the page out of it); back again it dials its
 * bootstrap nodes (which gives it its relay reservation back), heals its overlays at once (sync
 * follows the neighbours and catches up) and resets its walkers; a bootstrap connection that
 * drops (a restarting bootstrap) is redialled with backoff, the first time after about 250 ms.
 * The decisions are {@link PageLifecycle}'s; this runs them. Every transition is an event.
 */
export class LifecycleRecovery {
  readonly #options: LifecycleRecoveryOptions;
  readonly #machine: PageLifecycle;
  readonly #events: EventStream<NodeLifecycleEvent>;
  readonly #timers = new Map<NodeId, ScheduledTimer>();
  /** Bootstraps connected at some point of this run: the ones a reconnect is worth it for. */
  readonly #seen = new Set<NodeId>();
  #subscription: Subscription | undefined;
  #unsubscribeSignals: (() => void) | undefined;
  #running = false;

  constructor(options: LifecycleRecoveryOptions) {
    this.#options = options;
    this.#machine = new PageLifecycle(options.reconnect, {
      online: options.signals?.online,
      rng: options.runtime.rng,
    });
    this.#events = new EventStream<NodeLifecycleEvent>(() => options.runtime.clock.now());
  }

  /** Page signals, pauses, resumes and bootstrap reconnects; completes on stop. */
  get events$(): Observable<NodeLifecycleEvent> {
    return this.#events.events$;
  }

  /** Whether the node's background work is paused now (offline, frozen, in the bfcache). */
  get paused(): boolean {
    return this.#machine.paused;
  }

  /** Starts listening to the page's signals and the endpoint's connections. Idempotent. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    const { endpoint, signals } = this.#options;
    for (const info of this.#options.addressBook.allNodeInfos()) {
      if (info.bootstrap && endpoint.isConnected?.(info.nodeId) === true)
        this.#seen.add(info.nodeId);
    }
    this.#subscription = endpoint.events$?.subscribe((event) => {
      if (
        event.type !== "endpoint:connection-opened" &&
        event.type !== "endpoint:connection-closed"
      )
        return;
      if (event.limited || this.#options.addressBook.nodeInfo(event.remote)?.bootstrap !== true)
        return;
      if (event.type === "endpoint:connection-opened") {
        this.#seen.add(event.remote);
        this.#input({ type: "bootstrap-connected", node: event.remote });
      } else if (endpoint.isConnected?.(event.remote) !== true) {
        this.#input({ type: "bootstrap-lost", node: event.remote });
      }
    });
    this.#unsubscribeSignals = signals?.subscribe((signal) =>
      this.#input({ type: "signal", signal }),
    );
    this.#apply(this.#machine.start(this.#options.runtime.clock.now()));
    // A bootstrap that is down when the node starts is dialled again with backoff until it
    // answers; a bootstrap of an earlier run that failed since it last answered is left to
    // the walkers (it may be gone for good).
    if (!this.#machine.paused) {
      for (const info of this.#options.addressBook.allNodeInfos()) {
        if (!info.bootstrap || endpoint.isConnected?.(info.nodeId) === true) continue;
        const { lastSuccessAt, lastFailureAt } = info.metrics;
        if (lastFailureAt !== undefined && (lastSuccessAt ?? -1) < lastFailureAt) continue;
        this.#dial(info.nodeId);
      }
    }
  }

  /** Stops listening and cancels every pending reconnect. */
  stop(): void {
    this.#running = false;
    this.#subscription?.unsubscribe();
    this.#unsubscribeSignals?.();
    for (const timer of this.#timers.values()) timer.cancel();
    this.#timers.clear();
    this.#events.complete();
  }

  #input(input: PageLifecycleInput): void {
    if (!this.#running) return;
    this.#apply(this.#machine.handle(input, this.#options.runtime.clock.now()));
  }

  #apply(outputs: readonly PageLifecycleOutput[]): void {
    for (const output of outputs) {
      switch (output.type) {
        case "pause":
          this.#options.discovery?.pause();
          break;
        case "suspend-connections":
          this.#options.endpoint.suspend?.();
          break;
        case "resume-connections":
          this.#options.endpoint.resume?.();
          break;
        case "recover":
          this.#recover(output.replaceConnections);
          break;
        case "dial-bootstrap":
          this.#dial(output.node);
          break;
        case "set-timer": {
          this.#timers.get(output.node)?.cancel();
          const node = output.node;
          this.#timers.set(
            node,
            this.#options.runtime.timers.after(output.delayMs, () => {
              this.#timers.delete(node);
              this.#input({ type: "reconnect-due", node });
            }),
          );
          break;
        }
        case "cancel-timer":
          this.#timers.get(output.node)?.cancel();
          this.#timers.delete(output.node);
          break;
        case "event":
          this.#events.emit(output.event);
          break;
      }
    }
  }

  #recover(replaceConnections: boolean): void {
    const { discovery, gossip, endpoint } = this.#options;
    // Bootstraps first: their connection brings the relay reservation back, which the others
    // need to reach us; the walkers start from them too.
    const bootstraps = this.#options.addressBook
      .allNodeInfos()
      .filter((info) => info.bootstrap)
      .map((info) => info.nodeId);
    const worthIt = bootstraps.filter((node) => this.#seen.has(node));
    for (const node of worthIt.length > 0 ? worthIt : bootstraps) {
      if (replaceConnections && endpoint.isConnected?.(node) === true) {
        endpoint.closeConnections?.(node);
      }
      this.#dial(node);
    }
    gossip?.healNow();
    discovery?.resume();
  }

  #dial(node: NodeId): void {
    const { endpoint } = this.#options;
    if (endpoint.dial === undefined) return;
    endpoint.dial(node).then(
      () => {
        // Already open (no connection-opened event comes): connected all the same.
        if (endpoint.isConnected?.(node) !== false) {
          this.#input({ type: "bootstrap-connected", node });
        }
      },
      () => this.#input({ type: "bootstrap-dial-failed", node }),
    );
  }
}

import type { P2pEvent } from "@p2panda-web/events";
import type { Observable } from "rxjs";
import type {
  DiscoveryAddressBook,
  DiscoveryServiceOptions,
} from "../discovery/discovery-service.ts";
import type { EndpointAddressBook } from "../endpoint/endpoint-options.ts";
import type { EndpointEvent } from "../endpoint/events.ts";
import type { ProtocolEndpoint } from "../endpoint/protocol-endpoint.ts";
import type { GossipAddressBook, GossipServiceOptions } from "../gossip/gossip-service.ts";
import type { Identity } from "../identity/identity.ts";
import type { NodeInfo } from "../records/node-info.ts";
import type { Runtime } from "../runtime/runtime.ts";
import type { LogSyncProtocolOptions } from "../sync/log-sync-protocol.ts";
import type { LogStore } from "../sync/store/log-store.ts";
import type { TopicStore } from "../sync/store/topic-store.ts";
import type { SyncServiceBaseOptions } from "../sync/sync-service.ts";
import type { ReconnectConfig } from "./page-lifecycle.ts";
import type { PageSignals } from "./page-signals.ts";
import type { SupervisorConfig } from "./service-supervisor.ts";

/**
 * The address book a node needs: what the endpoint, discovery and gossip each read and write.
 * `AddressBook` of `@p2panda-web/address-book` fits (core does not depend on that package).
 */
export interface NodeAddressBook
  extends EndpointAddressBook,
    DiscoveryAddressBook,
    GossipAddressBook {
  /** Every known node (discovery needs it; the endpoint takes it when there). */
  allNodeInfos(): NodeInfo[];
  /** Called on stop when the node opened the book itself (from a factory). */
  close?(): Promise<void>;
}

/**
 * The network a node runs on: the libp2p `Endpoint` of a preset (`createEndpoint`,
 * `createNodeEndpoint`, `createMemoryEndpoint`), or a `MemoryNetwork` endpoint in tests.
 */
export interface NodeEndpoint extends ProtocolEndpoint {
  /** Merged into the node's `events$` when present. */
  readonly events$?: Observable<EndpointEvent>;
  /** Called on stop when the node made the endpoint itself (from a factory). */
  stop?(): void | Promise<void>;
}

/** The stores sync keeps its logs in (`openIndexedDbSyncStores`, `openSqliteSyncStores`, memory). */
export interface NodeSyncStores {
  readonly logStore: LogStore;
  readonly topicStore: TopicStore;
  /** Called on stop when the node opened the stores itself (from a factory). */
  close?(): Promise<void>;
}

/** What every service of a node is built from, js-libp2p's "components". */
export interface NodeComponents<
  E extends NodeEndpoint = NodeEndpoint,
  B extends NodeAddressBook = NodeAddressBook,
> {
  readonly identity: Identity;
  readonly addressBook: B;
  readonly endpoint: E;
  /** Clock, timers and randomness: use these, never the global ones. */
  readonly runtime: Runtime;
}

/**
 * A service an app adds to the node (its own protocol). Every member is optional: the node
 * starts it after the built-in services and stops it before them. A service reports a fatal
 * failure of its background work by erroring its `events$`: the node then stops it and makes
 * and starts a new one from its factory, with backoff (see {@link SupervisorConfig}).
 */
export interface NodeService {
  /** Starts the service; a returned promise is awaited. */
  start?(): void | Promise<void>;
  /** Stops the service; a returned promise is awaited. */
  stop?(): void | Promise<void>;
  /** Merged into the node's `events$`; an error here means the service failed. */
  readonly events$?: Observable<P2pEvent>;
  /**
   * Names of the app's services this one is built on: when one of them is restarted, this one
   * is stopped before it and made anew and started after it.
   */
  readonly dependsOn?: readonly string[];
}

/** Factories of an app's own services, by name (`{ echo: (c) => new EchoService(c) }`). */
export type NodeServiceFactories<
  S extends Record<string, NodeService>,
  E extends NodeEndpoint = NodeEndpoint,
  B extends NodeAddressBook = NodeAddressBook,
> = { readonly [K in keyof S]: (components: NodeComponents<E, B>) => S[K] };

/** The events of an app's own services (those that have an `events$`). */
export type NodeServiceEvents<S extends Record<string, NodeService>> = {
  [K in keyof S]: S[K] extends { readonly events$: Observable<infer T> } ? T : never;
}[keyof S];

/** Options of discovery inside a node (endpoint and address book are the node's). */
export type NodeDiscoveryOptions = Omit<DiscoveryServiceOptions, "endpoint" | "addressBook">;

/** Options of gossip inside a node (endpoint and address book are the node's). */
export type NodeGossipOptions = Omit<GossipServiceOptions, "endpoint" | "addressBook">;

/**
 * Options of sync inside a node: its stores, and the settings of the service and of log sync
 * (the node runs the default protocol, signing with the node's identity).
 */
export type NodeSyncOptions = Omit<SyncServiceBaseOptions, "endpoint" | "gossip"> &
  Omit<LogSyncProtocolOptions, "signer" | "logStore" | "topicStore"> & {
    /**
     * Where the logs are kept: stores, or a factory the node calls on creation (and whose stores
     * it closes on stop). Default: in memory, forgotten on stop.
     */
    readonly stores?: NodeSyncStores | (() => Promise<NodeSyncStores>);
  };

/** Options of lifecycle recovery inside a node (`createNode`'s `lifecycle`). */
export interface NodeLifecycleOptions {
  /**
   * The page's signals (`browserPageSignals()`); without them only lost bootstrap connections
   * are recovered.
   */
  readonly signals?: PageSignals;
  /** Backoff of bootstrap reconnects (250 ms, ×1.5 each time, at most 30 s, ±20 %). */
  readonly reconnect?: Partial<ReconnectConfig>;
}

/** Options of `createNode`. */
export interface CreateNodeOptions<
  E extends NodeEndpoint,
  B extends NodeAddressBook,
  S extends Record<string, NodeService>,
> {
  /** The node's key (its node id). Default: a new one. */
  readonly identity?: Identity;
  /**
   * The address book, or a factory the node calls on creation (it then closes the book on
   * stop). A book handed in stays open: its owner closes it.
   */
  readonly addressBook: B | (() => Promise<B>);
  /**
   * The endpoint, or a factory given the node's identity and address book (the node then stops
   * the endpoint on stop), e.g. `(init) => createEndpoint({ ...init, bootstrap })`.
   */
  readonly endpoint:
    | E
    | ((init: { readonly identity: Identity; readonly addressBook: B }) => E | Promise<E>);
  /** Clock, timers and randomness of the node and its services. Default `systemRuntime`. */
  readonly runtime?: Runtime;
  /** Confidential topic discovery (spec §4); on unless `false`. */
  readonly discovery?: false | NodeDiscoveryOptions;
  /** Topic overlays and broadcast; on unless `false`. Sync needs it. */
  readonly gossip?: false | NodeGossipOptions;
  /** Log sync on topics; on unless `false` (needs gossip). */
  readonly sync?: false | NodeSyncOptions;
  /**
   * Lifecycle recovery (`LifecycleRecovery`): pauses the walkers while the page is offline,
   * frozen or in the bfcache, and on return (and when a bootstrap connection drops) reconnects
   * to the bootstraps, heals the overlays and resets the walkers. Off unless given;
   * `createBrowserNode` turns it on with the page's signals.
   */
  readonly lifecycle?: false | NodeLifecycleOptions;
  /** The app's own services, started after the built-in ones in the order given. */
  readonly services?: NodeServiceFactories<S, E, B>;
  /** Restart backoff of failed services (1 s doubling to 30 s). */
  readonly supervisor?: Partial<SupervisorConfig>;
  /** Start the node before resolving (as js-libp2p's `createLibp2p`). Default `true`. */
  readonly start?: boolean;
}

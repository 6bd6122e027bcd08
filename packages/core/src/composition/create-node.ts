import { DiscoveryService } from "../discovery/discovery-service.ts";
import { InvalidInputError } from "../errors.ts";
import { GossipService } from "../gossip/gossip-service.ts";
import { Identity } from "../identity/identity.ts";
import { systemRuntime } from "../runtime/runtime.ts";
import { MemoryLogStore, MemoryTopicStore } from "../sync/store/memory.ts";
import { SyncService } from "../sync/sync-service.ts";
import { LifecycleRecovery } from "./lifecycle-recovery.ts";
import type {
  CreateNodeOptions,
  NodeAddressBook,
  NodeComponents,
  NodeEndpoint,
  NodeService,
  NodeSyncStores,
} from "./node-options.ts";
import { P2pandaNode, type ServiceSlot } from "./p2panda-node.ts";
import { ServiceSupervisor } from "./service-supervisor.ts";

/** Names of the built-in services; an app's own service may not take one. */
export const BUILT_IN_SERVICES = ["discovery", "gossip", "sync", "lifecycle"] as const;

/**
 * The composition root: makes a node from one options object, wiring identity → address book →
 * endpoint → discovery → gossip → sync → the app's own services, and (unless `start: false`)
 * starts it.
 *
 * ```ts
 * const node = await createNode({
 *   addressBook: () => AddressBook.open(memoryAddressBookStore()),
 *   endpoint: (init) => createEndpoint({ ...init, bootstrap }),
 *   services: { echo: (components) => new EchoService(components) },
 * });
 * const chat = await node.sync.stream(topic);
 * ```
 *
 * What the node makes from a factory (address book, endpoint, sync stores) it also closes on
 * stop; what it is handed stays its owner's. If anything fails, what was made so far is closed
 * again before this rejects.
 *
 * @throws InvalidInputError (sync without gossip, a service named like a built-in one, an
 *   endpoint of another node id than the identity: hand in the identity with an endpoint);
 *   NodeServiceStartError when a service fails to start; what the factories throw.
 */
export async function createNode<
  E extends NodeEndpoint,
  B extends NodeAddressBook,
  S extends Record<string, NodeService> = Record<never, never>,
>(options: CreateNodeOptions<E, B, S>): Promise<P2pandaNode<E, B, S>> {
  const syncOptions = options.sync ?? {};
  const gossipOptions = options.gossip ?? {};
  if (syncOptions !== false && gossipOptions === false) {
    throw new InvalidInputError("sync needs gossip: create the node with gossip, or sync: false");
  }
  const factories = options.services ?? ({} as NonNullable<typeof options.services>);
  const custom = Object.keys(factories);
  for (const name of custom) {
    if ((BUILT_IN_SERVICES as readonly string[]).includes(name)) {
      throw new InvalidInputError(`service name ${name} is taken by the built-in service`);
    }
  }

  const runtime = options.runtime ?? systemRuntime;
  const identity = options.identity ?? (await Identity.generate());
  // Released in reverse if creation fails, and on stop.
  const owned: (() => void | Promise<void>)[] = [];
  const release = async (): Promise<void> => {
    for (const close of owned.reverse())
      await Promise.resolve()
        .then(close)
        .catch(() => {});
  };
  // Sync's stores open while the endpoint starts (it does not need them): a page load then
  // waits for the slower of the two, not for their sum. After the address book, which may make
  // the directory they live in (the Node.js preset's data dir).
  const givenStores = syncOptions === false ? undefined : syncOptions.stores;
  let storesOpening: Promise<NodeSyncStores> | undefined;
  let storesOwned = false;
  try {
    let addressBook: B;
    if (typeof options.addressBook === "function") {
      const book = await options.addressBook();
      if (book.close !== undefined) owned.push(() => book.close?.());
      addressBook = book;
    } else {
      addressBook = options.addressBook;
    }
    if (typeof givenStores === "function") {
      storesOpening = (async () => givenStores())();
      // Awaited below, or closed on failure; this only keeps an early rejection from being
      // unhandled.
      storesOpening.catch(() => {});
    }
    let endpoint: E;
    if (typeof options.endpoint === "function") {
      const made = await options.endpoint({ identity, addressBook });
      if (made.stop !== undefined) owned.push(() => made.stop?.());
      endpoint = made;
    } else {
      endpoint = options.endpoint;
    }
    if (endpoint.nodeId !== identity.nodeId) {
      throw new InvalidInputError(
        `the endpoint runs as node ${endpoint.nodeId}, not as the identity's ${identity.nodeId}`,
      );
    }
    let stores: NodeSyncStores | undefined;
    if (storesOpening !== undefined) {
      storesOwned = true;
      const opened = await storesOpening;
      if (opened.close !== undefined) owned.push(() => opened.close?.());
      stores = opened;
    } else if (syncOptions !== false) {
      stores = (givenStores as NodeSyncStores | undefined) ?? {
        logStore: new MemoryLogStore(),
        topicStore: new MemoryTopicStore(),
      };
    }
    const components: NodeComponents<E, B> = { identity, addressBook, endpoint, runtime };
    const slots: ServiceSlot[] = [];
    const discoveryOptions = options.discovery ?? {};
    if (discoveryOptions !== false) {
      slots.push({
        name: "discovery",
        dependsOn: [],
        create: () => new DiscoveryService({ runtime, ...discoveryOptions, endpoint, addressBook }),
      });
    }
    if (gossipOptions !== false) {
      slots.push({
        name: "gossip",
        dependsOn: [],
        create: () => new GossipService({ runtime, ...gossipOptions, endpoint, addressBook }),
      });
    }
    if (syncOptions !== false && stores !== undefined) {
      const { stores: _stores, ...serviceOptions } = syncOptions;
      const { logStore, topicStore } = stores;
      slots.push({
        name: "sync",
        dependsOn: ["gossip"],
        create: (serviceOf) =>
          new SyncService({
            runtime,
            ...serviceOptions,
            endpoint,
            // The gossip running now: a restarted gossip brings a new sync with it.
            gossip: serviceOf("gossip") as GossipService,
            signer: identity,
            logStore,
            topicStore,
          }),
      });
    }
    const lifecycleOptions = options.lifecycle ?? false;
    if (lifecycleOptions !== false) {
      const builtOn = slots.map((slot) => slot.name).filter((n) => n !== "sync");
      slots.push({
        name: "lifecycle",
        dependsOn: builtOn,
        create: (serviceOf) =>
          new LifecycleRecovery({
            ...lifecycleOptions,
            endpoint,
            addressBook,
            runtime,
            discovery: builtOn.includes("discovery")
              ? (serviceOf("discovery") as DiscoveryService)
              : undefined,
            gossip: builtOn.includes("gossip") ? (serviceOf("gossip") as GossipService) : undefined,
          }),
      });
    }
    for (const name of custom) {
      const factory = factories[name as keyof S] as (c: NodeComponents<E, B>) => NodeService;
      slots.push({ name, dependsOn: [], create: () => factory(components) });
    }
    const supervisor = new ServiceSupervisor(options.supervisor);
    const node = new P2pandaNode<E, B, S>(
      { identity, addressBook, endpoint, runtime, owned: [...owned], supervisor },
      slots,
      custom,
    );
    // The node owns them now: it releases them on stop (also after a failed start).
    owned.length = 0;
    if (options.start !== false) await node.start();
    return node;
  } catch (error) {
    // Stores that were still opening when something before them failed: closed once open.
    if (storesOpening !== undefined && !storesOwned) {
      await storesOpening.then((opened) => opened.close?.()).catch(() => {});
    }
    await release();
    throw error;
  }
}

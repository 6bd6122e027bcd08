import { AddressBook, memoryAddressBookStore } from "@p2panda-web/address-book";
import { filter, firstValueFrom, type Observable, timeout } from "rxjs";
import { createNode } from "../../src/composition/create-node.ts";
import type { NodeSyncOptions } from "../../src/composition/node-options.ts";
import type { P2pandaNode } from "../../src/composition/p2panda-node.ts";
import { type MemoryEndpoint, MemoryNetwork } from "../../src/endpoint/memory-network.ts";
import type { GossipConfigInput } from "../../src/gossip/config.ts";
import type {
  GossipDelivery,
  GossipHandle,
  GossipService,
  GossipServiceEvent,
  GossipServiceOptions,
} from "../../src/gossip/gossip-service.ts";
import type { Identity } from "../../src/identity/identity.ts";
import type { NodeId } from "../../src/ids/node-id.ts";
import type { Topic } from "../../src/ids/topic.ts";
import { seededRng } from "../../src/random.ts";
import { createNodeInfo } from "../../src/records/node-info.ts";
import type { Runtime } from "../../src/runtime/runtime.ts";
import { seededIdentity } from "../sync/helpers.ts";

/** One node of a {@link GossipCluster}. */
export interface ClusterNode {
  readonly node: P2pandaNode<MemoryEndpoint, AddressBook>;
  readonly identity: Identity;
  readonly id: NodeId;
  readonly book: AddressBook;
  readonly gossip: GossipService;
  /** Every event since creation. */
  readonly events: GossipServiceEvent[];
}

/**
 * Nodes with gossip (and sync when asked) made by createNode on an in-process
 * {@link MemoryNetwork}, each with its own address book. The nodes are not started: as before
 * the node existed, each service starts when the test first streams a topic on it.
 */
export class GossipCluster {
  readonly network = new MemoryNetwork();
  readonly nodes: ClusterNode[] = [];
  /** Timers and clock of every node (each keeps its own seeded rng); default: the system's. */
  readonly runtime: Runtime | undefined;

  constructor(options: { runtime?: Runtime } = {}) {
    this.runtime = options.runtime;
  }

  async add(
    options: {
      config?: GossipConfigInput;
      healIntervalMs?: number;
      maxQueuedPerLink?: number;
      /** Default: an identity seeded by the node's position in the cluster. */
      identity?: Identity;
      /** Any other option of the service (timeouts, link cap). */
      service?: Partial<GossipServiceOptions>;
      /** Run sync on the node too, with these options. */
      sync?: NodeSyncOptions;
    } = {},
  ) {
    const identity = options.identity ?? (await seededIdentity(this.nodes.length + 1));
    const book = await AddressBook.open(memoryAddressBookStore());
    const node = await createNode({
      identity,
      addressBook: book,
      endpoint: this.network.endpoint(identity.nodeId),
      ...(this.runtime !== undefined ? { runtime: this.runtime } : {}),
      discovery: false,
      gossip: {
        rng: seededRng(this.nodes.length + 1),
        healIntervalMs: options.healIntervalMs ?? 200,
        ...(options.maxQueuedPerLink !== undefined
          ? { maxQueuedPerLink: options.maxQueuedPerLink }
          : {}),
        ...(options.config !== undefined ? { config: options.config } : {}),
        ...options.service,
      },
      sync: options.sync ?? false,
      start: false,
    });
    const gossip = node.gossip;
    const member: ClusterNode = { node, identity, id: identity.nodeId, book, gossip, events: [] };
    gossip.events$.subscribe((e) => member.events.push(e));
    this.nodes.push(member);
    return member;
  }

  /** `who` learns (as discovery would tell it) that `about` is interested in `topic`. */
  async learn(who: ClusterNode, about: ClusterNode, topic: Topic): Promise<void> {
    if (who.book.nodeInfo(about.id) === undefined) {
      await who.book.insertNodeInfo(createNodeInfo(about.id));
    }
    await who.book.addTopic(about.id, topic);
  }

  /** Takes a node off the network: its links break, dials to it fail. */
  offline(node: ClusterNode): void {
    this.network.setOffline(node.id, true);
  }

  async stop(): Promise<void> {
    for (const member of this.nodes) await member.node.stop();
    for (const member of this.nodes) await member.book.close();
  }
}

/** The first value of `source` matching `predicate`, failing after `ms`. */
export function next<T>(source: Observable<T>, predicate: (v: T) => boolean, ms = 5_000) {
  return firstValueFrom(source.pipe(filter(predicate), timeout(ms)));
}

/** Resolves when `handle` received a message with this text. */
export function receivedText(handle: GossipHandle, text: string, ms = 5_000) {
  return next(
    handle.messages$,
    (m: GossipDelivery) => new TextDecoder().decode(m.content) === text,
    ms,
  );
}

/** Waits until every handle has at least `n` neighbours. */
export async function allJoined(handles: readonly GossipHandle[]): Promise<void> {
  await Promise.all(handles.map((h) => h.joined()));
}

export const text = (s: string) => new TextEncoder().encode(s);

import { AddressBook, memoryAddressBookStore } from "@p2panda-web/address-book";
import { filter, firstValueFrom, type Observable, timeout } from "rxjs";
import { MemoryNetwork } from "../../src/endpoint/memory-network.ts";
import type { GossipConfigInput } from "../../src/gossip/config.ts";
import {
  type GossipDelivery,
  type GossipHandle,
  GossipService,
  type GossipServiceEvent,
  type GossipServiceOptions,
} from "../../src/gossip/gossip-service.ts";
import type { NodeId } from "../../src/ids/node-id.ts";
import type { Topic } from "../../src/ids/topic.ts";
import { seededRng } from "../../src/random.ts";
import { createNodeInfo } from "../../src/records/node-info.ts";
import type { Runtime } from "../../src/runtime/runtime.ts";
import { nodeId } from "./helpers.ts";

/** One node of a {@link GossipCluster}. */
export interface ClusterNode {
  readonly id: NodeId;
  readonly book: AddressBook;
  readonly gossip: GossipService;
  /** Every event since creation. */
  readonly events: GossipServiceEvent[];
}

/** Gossip services on an in-process {@link MemoryNetwork}, each with its own address book. */
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
      id?: NodeId;
      /** Any other option of the service (timeouts, link cap). */
      service?: Partial<GossipServiceOptions>;
    } = {},
  ) {
    const id = options.id ?? nodeId(this.nodes.length);
    const book = await AddressBook.open(memoryAddressBookStore());
    const gossip = new GossipService({
      endpoint: this.network.endpoint(id),
      addressBook: book,
      ...(this.runtime !== undefined ? { runtime: this.runtime } : {}),
      rng: seededRng(this.nodes.length + 1),
      healIntervalMs: options.healIntervalMs ?? 200,
      ...(options.maxQueuedPerLink !== undefined
        ? { maxQueuedPerLink: options.maxQueuedPerLink }
        : {}),
      ...(options.config !== undefined ? { config: options.config } : {}),
      ...options.service,
    });
    const node: ClusterNode = { id, book, gossip, events: [] };
    gossip.events$.subscribe((e) => node.events.push(e));
    this.nodes.push(node);
    return node;
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
    for (const node of this.nodes) await node.gossip.stop();
    for (const node of this.nodes) await node.book.close();
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

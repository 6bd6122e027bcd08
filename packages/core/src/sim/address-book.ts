import type { DiscoveryAddressBookView } from "../discovery/discovery-manager.ts";
import type { NodeId } from "../ids/node-id.ts";
import type { Topic } from "../ids/topic.ts";

/** What a simulated address book keeps per node. */
export interface SimBookEntry<Info> {
  info?: Info;
  bootstrap: boolean;
  topics?: ReadonlySet<Topic>;
  lastOk?: number;
  lastFail?: number;
}

/**
 * One simulated node's address book: synchronous and in memory, with the rules of the real one
 * that the protocol cores depend on (last write wins by timestamp, a node is stale when its last
 * connection attempt failed, bootstrap nodes never are). It is the view the discovery manager
 * reads and the store its results go to.
 */
export class SimAddressBook<Info extends { readonly timestamp: number }>
  implements DiscoveryAddressBookView
{
  readonly entries = new Map<NodeId, SimBookEntry<Info>>();
  readonly infos = new Map<NodeId, Info>();
  /** The keys of `infos` in the order they were first stored (infos are never removed). */
  readonly infoIds: NodeId[] = [];
  readonly bootstraps: NodeId[] = [];
  readonly byTopic = new Map<Topic, Set<NodeId>>();

  /** Every node known. */
  get allNodeIds(): Iterable<NodeId> {
    return this.entries.keys();
  }

  /** The bootstrap nodes known. */
  get bootstrapIds(): Iterable<NodeId> {
    return this.bootstraps;
  }

  /** Spec §2: the last connection attempt failed (bootstrap nodes never are stale). */
  isStale(id: NodeId): boolean {
    const e = this.entries.get(id);
    if (e === undefined || e.bootstrap || e.lastFail === undefined) return false;
    return e.lastOk === undefined || e.lastOk < e.lastFail;
  }

  /** Adds `id` as a bootstrap node with its transport info. */
  addBootstrap(id: NodeId, info: Info): void {
    const e = this.#entry(id);
    if (!e.bootstrap) this.bootstraps.push(id);
    e.bootstrap = true;
    this.insertInfo(id, info);
  }

  /** Last write wins; true when `info` is now the stored one and was not before. */
  insertInfo(id: NodeId, info: Info): boolean {
    const e = this.#entry(id);
    if (e.info !== undefined && e.info.timestamp >= info.timestamp) return false;
    if (e.info === undefined) this.infoIds.push(id);
    e.info = info;
    this.infos.set(id, info);
    return true;
  }

  /** Topics `id` is known to share with us (replaces what was known). */
  setTopics(id: NodeId, topics: ReadonlySet<Topic>): void {
    const e = this.#entry(id);
    for (const t of e.topics ?? []) this.byTopic.get(t)?.delete(id);
    e.topics = topics;
    for (const t of topics) {
      let set = this.byTopic.get(t);
      if (set === undefined) {
        set = new Set();
        this.byTopic.set(t, set);
      }
      set.add(id);
    }
  }

  /** Records a connection attempt with `id` (staleness). */
  reportConnection(id: NodeId, ok: boolean, now: number): void {
    const e = this.#entry(id);
    if (ok) e.lastOk = now;
    else e.lastFail = now;
  }

  /** Whether `id` is known to share one of `topics`. */
  sharesAny(id: NodeId, topics: ReadonlySet<Topic>): boolean {
    for (const t of this.entries.get(id)?.topics ?? []) if (topics.has(t)) return true;
    return false;
  }

  /** Nodes known to share one of `topics` (a node may come once per topic). */
  *nodesByTopics(topics: ReadonlySet<Topic>): Iterable<NodeId> {
    for (const t of topics) yield* this.byTopic.get(t) ?? [];
  }

  #entry(id: NodeId): SimBookEntry<Info> {
    let e = this.entries.get(id);
    if (e === undefined) {
      e = { bootstrap: false };
      this.entries.set(id, e);
    }
    return e;
  }
}

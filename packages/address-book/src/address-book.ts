import {
  type AuthenticatedTransportInfo,
  bytesEqual,
  type Clock,
  createNodeInfo,
  cryptoRng,
  InvalidInputError,
  isNewerTransportInfo,
  isStale,
  NodeId,
  type NodeInfo,
  pick,
  type Rng,
  systemClock,
  Topic,
  type TransportInfo,
  verifyTransportInfo,
  withConnectionReport,
} from "@p2panda-web/core";
import type { Observable } from "rxjs";
import { AddressBookClosedError, TopicLimitError } from "./errors.ts";
import type { AddressBookStore } from "./store.ts";
import { WatchRegistry } from "./watch-registry.ts";

/** Default of {@link AddressBookOptions.maxNodes}. */
export const DEFAULT_MAX_NODES = 10_000;
/** Default of {@link AddressBookOptions.maxTopicsPerNode}. */
export const DEFAULT_MAX_TOPICS_PER_NODE = 1_024;

/** What a watcher emits: the new value and how it differs from the previous one. */
export interface Change<T, D> {
  readonly value: T;
  readonly difference: D;
}

/** Emitted by {@link AddressBook.watchNodeInfo}. */
export type NodeInfoChange = Change<NodeInfo | undefined, { previous: NodeInfo | undefined }>;
/** Emitted by {@link AddressBook.watchTopic}: the nodes interested in a topic. */
export type TopicNodesChange = Change<ReadonlySet<NodeId>, { added: NodeId[]; removed: NodeId[] }>;
/** Emitted by {@link AddressBook.watchNodeTopics}: the topics of a node. */
export type NodeTopicsChange = Change<ReadonlySet<Topic>, { added: Topic[]; removed: Topic[] }>;

/** Options of the `watch…` methods. */
export interface WatchOptions {
  /**
   * Emit the current value right away on subscription (with a difference relative to "nothing":
   * `previous: undefined`, or every member `added`). Default `false`: only later changes.
   */
  readonly emitCurrent?: boolean;
}

/** Options of {@link AddressBook.open}. */
export interface AddressBookOptions {
  /** Randomness for {@link AddressBook.randomBootstrapNode}; default {@link cryptoRng}. */
  readonly rng?: Rng;
  /** Time of connection reports ({@link AddressBook.reportConnection}); default system clock. */
  readonly clock?: Clock;
  /**
   * Most node records the untrusted path ({@link AddressBook.insertTransportInfo}) may grow the
   * book to. When full, a new node evicts a stale non-bootstrap node (the one that has been
   * stale longest in this session; after a reopen, the one whose last failure is oldest) or is
   * refused (counted in {@link AddressBookMetrics.nodesRefusedFull}). Trusted inserts are never refused. Default
   * {@link DEFAULT_MAX_NODES} (10,000).
   */
  readonly maxNodes?: number;
  /**
   * Most topics one node may have; more throws {@link TopicLimitError}. Default
   * {@link DEFAULT_MAX_TOPICS_PER_NODE} (1,024).
   */
  readonly maxTopicsPerNode?: number;
}

/** Counters of what the address book accepted and refused since it was opened. */
export interface AddressBookMetrics {
  /** Transport infos from the untrusted path that were stored. */
  transportInfosAccepted: number;
  /** Untrusted transport infos with a bad signature or another node's `/p2p/` id. */
  transportInfosInvalid: number;
  /** Untrusted transport infos not newer than the stored one. */
  transportInfosOutdated: number;
  /** New nodes refused because the book was full and no stale node could be evicted. */
  nodesRefusedFull: number;
  /** Stale nodes evicted to make room for new ones. */
  nodesEvicted: number;
  /** Topic writes refused by `maxTopicsPerNode`. */
  topicLimitExceeded: number;
  /** Stored entries that could not be decoded when the book was opened (skipped). */
  corruptRecordsSkipped: number;
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new InvalidInputError(`${name} must be a positive integer`);
  }
  return value;
}

function sameTransportInfo(a: TransportInfo, b: AuthenticatedTransportInfo): boolean {
  return (
    a.kind === "authenticated" &&
    a.timestamp.equals(b.timestamp) &&
    bytesEqual(a.signature, b.signature) &&
    a.addresses.length === b.addresses.length &&
    a.addresses.every((address, i) => address === b.addresses[i])
  );
}

function assertNodeId(id: unknown): asserts id is NodeId {
  if (!NodeId.is(id)) throw new InvalidInputError("not a node id (64 lower-case hex characters)");
}

function assertTopic(topic: unknown): asserts topic is Topic {
  if (!Topic.is(topic)) throw new InvalidInputError("not a topic (64 lower-case hex characters)");
}

/**
 * The nodes this node knows: their records ({@link NodeInfo}: transport info, bootstrap flag,
 * connection health) and the topics they are interested in (spec §2).
 *
 * The whole book lives in memory, loaded once by {@link AddressBook.open}, so every read is
 * synchronous. Every write changes the memory state (and notifies watchers) at once, then
 * resolves when the {@link AddressBookStore} has it durably. If the store fails, the write
 * rejects but the in-memory state keeps the change for this session.
 *
 * Two ways in:
 * - **trusted** ({@link AddressBook.insertNodeInfo}, the topic methods): local code, config,
 *   QR codes. Overwrites.
 * - **untrusted** ({@link AddressBook.insertTransportInfo}): infos relayed by other nodes.
 *   Verified, last-write-wins, and bounded by {@link AddressBookOptions.maxNodes}.
 */
export class AddressBook {
  readonly #store: AddressBookStore;
  readonly #rng: Rng;
  readonly #clock: Clock;
  readonly #maxNodes: number;
  readonly #maxTopicsPerNode: number;

  readonly #nodes = new Map<NodeId, NodeInfo>();
  readonly #nodeTopics = new Map<NodeId, Set<Topic>>();
  readonly #topicNodes = new Map<Topic, Set<NodeId>>();
  readonly #bootstraps = new Set<NodeId>();
  /** Stale non-bootstrap nodes, in the order they became stale: the eviction candidates. */
  readonly #evictable = new Set<NodeId>();

  readonly #nodeWatchers = new WatchRegistry<NodeId, NodeInfoChange>();
  readonly #topicWatchers = new WatchRegistry<Topic, TopicNodesChange>();
  readonly #nodeTopicWatchers = new WatchRegistry<NodeId, NodeTopicsChange>();

  readonly #metrics: AddressBookMetrics = {
    transportInfosAccepted: 0,
    transportInfosInvalid: 0,
    transportInfosOutdated: 0,
    nodesRefusedFull: 0,
    nodesEvicted: 0,
    topicLimitExceeded: 0,
    corruptRecordsSkipped: 0,
  };
  #closed = false;

  private constructor(store: AddressBookStore, options: AddressBookOptions) {
    this.#store = store;
    this.#rng = options.rng ?? cryptoRng;
    this.#clock = options.clock ?? systemClock;
    this.#maxNodes = positiveInteger("maxNodes", options.maxNodes, DEFAULT_MAX_NODES);
    this.#maxTopicsPerNode = positiveInteger(
      "maxTopicsPerNode",
      options.maxTopicsPerNode,
      DEFAULT_MAX_TOPICS_PER_NODE,
    );
  }

  /**
   * Loads everything from `store` and returns the address book over it. The book owns the store
   * from now on: {@link AddressBook.close} closes it.
   *
   * Entries the store cannot decode are skipped and counted in
   * {@link AddressBookMetrics.corruptRecordsSkipped}.
   *
   * @throws InvalidInputError on invalid options; whatever the store's `load` throws.
   */
  static async open(
    store: AddressBookStore,
    options: AddressBookOptions = {},
  ): Promise<AddressBook> {
    const book = new AddressBook(store, options);
    const stored = await store.load();
    // Eviction order does not survive a restart (when a node became stale is not stored): the
    // stale nodes are queued by their latest failure, oldest first.
    const byLastFailure = [...stored.nodes].sort(
      (a, b) => (a.metrics.lastFailureAt ?? 0) - (b.metrics.lastFailureAt ?? 0),
    );
    for (const info of byLastFailure) book.#index(info.nodeId, info);
    for (const [id, topics] of stored.topics) book.#indexTopics(id, new Set(topics));
    book.#metrics.corruptRecordsSkipped = stored.corrupt;
    return book;
  }

  /** A snapshot of the counters (see {@link AddressBookMetrics}). */
  get metrics(): Readonly<AddressBookMetrics> {
    return { ...this.#metrics };
  }

  /** How many node records the book holds. */
  get size(): number {
    return this.#nodes.size;
  }

  /** The record of `id`, if known. */
  nodeInfo(id: NodeId): NodeInfo | undefined {
    return this.#nodes.get(id);
  }

  /** Every node record. */
  allNodeInfos(): NodeInfo[] {
    return [...this.#nodes.values()];
  }

  /** How many records have `bootstrap: true`. */
  allBootstrapNodesCount(): number {
    return this.#bootstraps.size;
  }

  /**
   * A uniformly random bootstrap node (using the injected `rng`), other than `exclude` (usually
   * our own id); `undefined` if there is none.
   */
  randomBootstrapNode(exclude?: NodeId): NodeInfo | undefined {
    const candidates: NodeId[] = [];
    for (const id of this.#bootstraps) if (id !== exclude) candidates.push(id);
    const id = pick(this.#rng, candidates);
    return id === undefined ? undefined : this.#nodes.get(id);
  }

  /**
   * Trusted insert (local code, configuration, a QR code): stores `info` as given, replacing any
   * record of that node (bootstrap flag, metrics and transports included). An attached
   * authenticated transport info is verified first. Never refused by `maxNodes`.
   *
   * @returns `true` if the node was not known before.
   * @throws InvalidSignatureError / NodeIdMismatchError if `info.transports` is authenticated
   *   and does not verify (nothing is stored); InvalidInputError on a malformed node id;
   *   AddressBookClosedError after {@link AddressBook.close}; a store error if the write fails.
   */
  async insertNodeInfo(info: NodeInfo): Promise<boolean> {
    this.#assertOpen();
    assertNodeId(info.nodeId);
    if (info.transports?.kind === "authenticated") {
      await verifyTransportInfo(info.nodeId, info.transports);
      this.#assertOpen();
    }
    const previous = this.#nodes.get(info.nodeId);
    this.#setNode(info.nodeId, previous, info);
    await this.#store.putNode(info);
    return previous === undefined;
  }

  /**
   * Untrusted insert of a transport info that came from the network (discovery): verifies it
   * against `id`, then keeps it only if it is newer than the stored one (last write wins by
   * hybrid timestamp). Creates the node record if `id` is unknown; if the book is at `maxNodes`
   * a stale non-bootstrap node is evicted for it, or, if there is none, it is refused.
   *
   * Rejections: an invalid info **throws** (the caller should end the session that delivered
   * it); an outdated info or a full book **returns `false`**. All are counted in
   * {@link AddressBook.metrics} and never stored.
   *
   * @returns `true` iff `info` is the stored transport info afterwards (also when an identical
   *   info was already stored, without any write); `false` if it was outdated or refused.
   * @throws InvalidSignatureError (`INVALID_SIGNATURE`) or NodeIdMismatchError
   *   (`NODE_ID_MISMATCH`) from `verifyTransportInfo`; InvalidInputError on a malformed id;
   *   AddressBookClosedError after {@link AddressBook.close}; a store error if the write fails.
   */
  async insertTransportInfo(id: NodeId, info: AuthenticatedTransportInfo): Promise<boolean> {
    this.#assertOpen();
    assertNodeId(id);
    // Cheap checks first, so floods of old or unwanted infos cost no signature verification.
    const early = this.#transportInfoVerdict(id, info);
    if (early !== undefined) return early;
    try {
      await verifyTransportInfo(id, info);
    } catch (error) {
      this.#metrics.transportInfosInvalid++;
      throw error;
    }
    this.#assertOpen();
    // The state may have changed while we verified: decide again.
    const verdict = this.#transportInfoVerdict(id, info);
    if (verdict !== undefined) return verdict;

    const writes: Promise<void>[] = [];
    const current = this.#nodes.get(id);
    let next: NodeInfo;
    if (current === undefined) {
      if (this.#nodes.size >= this.#maxNodes) {
        const victim = this.#evictable.values().next().value as NodeId;
        this.#metrics.nodesEvicted++;
        writes.push(this.#removeNode(victim));
      }
      next = createNodeInfo(id, { transports: info });
    } else if (isStale(current)) {
      // The node published new addresses since our last attempt failed: that failure says
      // nothing about them. Forget when it happened (the count stays) so it is tried again now.
      const { lastFailureAt: _forgotten, ...metrics } = current.metrics;
      next = { ...current, transports: info, metrics };
    } else {
      next = { ...current, transports: info };
    }
    this.#setNode(id, current, next);
    this.#metrics.transportInfosAccepted++;
    writes.push(this.#store.putNode(next));
    await Promise.all(writes);
    return true;
  }

  /**
   * Removes a node's record and topics (trusted; e.g. a user "forget this node").
   * @returns whether there was anything to remove.
   * @throws AddressBookClosedError after {@link AddressBook.close}; a store error.
   */
  async removeNode(id: NodeId): Promise<boolean> {
    this.#assertOpen();
    if (!this.#nodes.has(id) && !this.#nodeTopics.has(id)) return false;
    await this.#removeNode(id);
    return true;
  }

  /**
   * Records the outcome of a connection attempt (in or out) with `id` at the clock's time; this
   * decides whether the node is stale (spec §2). Unknown nodes are ignored: a report must not
   * create records.
   * @throws AddressBookClosedError after {@link AddressBook.close}; a store error.
   */
  async reportConnection(id: NodeId, ok: boolean): Promise<void> {
    this.#assertOpen();
    const current = this.#nodes.get(id);
    if (current === undefined) return;
    const next = withConnectionReport(current, ok, this.#clock.now());
    this.#setNode(id, current, next);
    await this.#store.putNode(next);
  }

  /** Records of the nodes interested in any of `topics` (each node once). */
  nodeInfosByTopics(topics: Iterable<Topic>): NodeInfo[] {
    const seen = new Set<NodeId>();
    const result: NodeInfo[] = [];
    for (const topic of topics) {
      const ids = this.#topicNodes.get(topic);
      if (ids === undefined) continue;
      for (const id of ids) {
        if (seen.has(id)) continue;
        seen.add(id);
        const info = this.#nodes.get(id);
        if (info !== undefined) result.push(info);
      }
    }
    return result;
  }

  /** The topics of `id` (empty if none). The set is a copy. */
  nodeTopics(id: NodeId): ReadonlySet<Topic> {
    return new Set(this.#nodeTopics.get(id));
  }

  /**
   * Replaces the topics of `id` (which need not have a record: our own id usually has none).
   * @throws TopicLimitError beyond `maxTopicsPerNode` (nothing changes); InvalidInputError on a
   *   malformed id or topic; AddressBookClosedError; a store error.
   */
  async setTopics(id: NodeId, topics: Iterable<Topic>): Promise<void> {
    this.#assertOpen();
    assertNodeId(id);
    const next = new Set<Topic>();
    for (const topic of topics) {
      assertTopic(topic);
      next.add(topic);
    }
    await this.#writeTopics(id, next);
  }

  /**
   * Adds `topic` to the topics of `id`, keeping the others.
   * @throws TopicLimitError beyond `maxTopicsPerNode`; InvalidInputError;
   *   AddressBookClosedError; a store error.
   */
  async addTopic(id: NodeId, topic: Topic): Promise<void> {
    this.#assertOpen();
    assertNodeId(id);
    assertTopic(topic);
    const current = this.#nodeTopics.get(id);
    if (current?.has(topic)) return;
    const next = new Set(current);
    next.add(topic);
    await this.#writeTopics(id, next);
  }

  /**
   * Removes `topic` from the topics of `id`, keeping the others.
   * @throws AddressBookClosedError; a store error.
   */
  async removeTopic(id: NodeId, topic: Topic): Promise<void> {
    this.#assertOpen();
    const current = this.#nodeTopics.get(id);
    if (current === undefined || !current.has(topic)) return;
    const next = new Set(current);
    next.delete(topic);
    await this.#writeTopics(id, next);
  }

  /**
   * Changes of the record of `id` (inserted, updated, connection reported, removed), as
   * `{ value, difference: { previous } }`. Completes on {@link AddressBook.close}.
   */
  watchNodeInfo(id: NodeId, options: WatchOptions = {}): Observable<NodeInfoChange> {
    return this.#nodeWatchers.observe(
      id,
      options.emitCurrent === true
        ? () => ({ value: this.#nodes.get(id), difference: { previous: undefined } })
        : undefined,
    );
  }

  /**
   * Changes of the set of nodes interested in `topic`, as `{ value, difference: { added,
   * removed } }`. Completes on {@link AddressBook.close}.
   */
  watchTopic(topic: Topic, options: WatchOptions = {}): Observable<TopicNodesChange> {
    return this.#topicWatchers.observe(
      topic,
      options.emitCurrent === true
        ? () => {
            const value = new Set(this.#topicNodes.get(topic));
            return { value, difference: { added: [...value], removed: [] } };
          }
        : undefined,
    );
  }

  /**
   * Changes of the topics of `id`, as `{ value, difference: { added, removed } }`. Completes on
   * {@link AddressBook.close}.
   */
  watchNodeTopics(id: NodeId, options: WatchOptions = {}): Observable<NodeTopicsChange> {
    return this.#nodeTopicWatchers.observe(
      id,
      options.emitCurrent === true
        ? () => {
            const value = new Set(this.#nodeTopics.get(id));
            return { value, difference: { added: [...value], removed: [] } };
          }
        : undefined,
    );
  }

  /**
   * Completes every watcher, waits for pending writes and closes the store. Later writes throw
   * {@link AddressBookClosedError}; reads keep answering from memory. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#nodeWatchers.complete();
    this.#topicWatchers.complete();
    this.#nodeTopicWatchers.complete();
    await this.#store.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new AddressBookClosedError();
  }

  /**
   * The outcome of an untrusted insert that needs no verification, or `undefined` if it must be
   * verified and stored.
   */
  #transportInfoVerdict(id: NodeId, info: AuthenticatedTransportInfo): boolean | undefined {
    const current = this.#nodes.get(id);
    if (current?.transports !== undefined) {
      if (sameTransportInfo(current.transports, info)) return true;
      if (!isNewerTransportInfo(info, current.transports)) {
        this.#metrics.transportInfosOutdated++;
        return false;
      }
    }
    if (current === undefined && this.#nodes.size >= this.#maxNodes && this.#evictable.size === 0) {
      this.#metrics.nodesRefusedFull++;
      return false;
    }
    return undefined;
  }

  #setNode(id: NodeId, previous: NodeInfo | undefined, next: NodeInfo | undefined): void {
    this.#index(id, next);
    if (this.#nodeWatchers.watched(id)) {
      this.#nodeWatchers.emit(id, { value: next, difference: { previous } });
    }
  }

  #index(id: NodeId, next: NodeInfo | undefined): void {
    if (next === undefined) {
      this.#nodes.delete(id);
      this.#bootstraps.delete(id);
      this.#evictable.delete(id);
      return;
    }
    this.#nodes.set(id, next);
    if (next.bootstrap) this.#bootstraps.add(id);
    else this.#bootstraps.delete(id);
    // Set order is "first became stale": a node that stays stale keeps its place in the queue.
    if (!next.bootstrap && isStale(next)) this.#evictable.add(id);
    else this.#evictable.delete(id);
  }

  #removeNode(id: NodeId): Promise<void> {
    const previous = this.#nodes.get(id);
    if (previous !== undefined) this.#setNode(id, previous, undefined);
    if (this.#nodeTopics.has(id)) this.#applyTopics(id, new Set());
    return this.#store.deleteNode(id);
  }

  async #writeTopics(id: NodeId, next: Set<Topic>): Promise<void> {
    if (next.size > this.#maxTopicsPerNode) {
      this.#metrics.topicLimitExceeded++;
      throw new TopicLimitError(this.#maxTopicsPerNode);
    }
    if (!this.#applyTopics(id, next)) return;
    await this.#store.putTopics(id, [...next]);
  }

  /** Updates the topic indexes and notifies watchers; returns whether anything changed. */
  #applyTopics(id: NodeId, next: Set<Topic>): boolean {
    const previous = this.#nodeTopics.get(id) ?? new Set<Topic>();
    const added: Topic[] = [];
    const removed: Topic[] = [];
    for (const topic of next) if (!previous.has(topic)) added.push(topic);
    for (const topic of previous) if (!next.has(topic)) removed.push(topic);
    if (added.length === 0 && removed.length === 0) return false;
    this.#indexTopics(id, next);
    for (const topic of added) this.#emitTopic(topic, [id], []);
    for (const topic of removed) this.#emitTopic(topic, [], [id]);
    if (this.#nodeTopicWatchers.watched(id)) {
      this.#nodeTopicWatchers.emit(id, {
        value: new Set(next),
        difference: { added, removed },
      });
    }
    return true;
  }

  #indexTopics(id: NodeId, next: Set<Topic>): void {
    const previous = this.#nodeTopics.get(id);
    if (previous !== undefined) {
      for (const topic of previous) {
        if (next.has(topic)) continue;
        const ids = this.#topicNodes.get(topic);
        ids?.delete(id);
        if (ids?.size === 0) this.#topicNodes.delete(topic);
      }
    }
    for (const topic of next) {
      let ids = this.#topicNodes.get(topic);
      if (ids === undefined) {
        ids = new Set();
        this.#topicNodes.set(topic, ids);
      }
      ids.add(id);
    }
    if (next.size === 0) this.#nodeTopics.delete(id);
    else this.#nodeTopics.set(id, next);
  }

  #emitTopic(topic: Topic, added: NodeId[], removed: NodeId[]): void {
    if (!this.#topicWatchers.watched(topic)) return;
    this.#topicWatchers.emit(topic, {
      value: new Set(this.#topicNodes.get(topic)),
      difference: { added, removed },
    });
  }
}

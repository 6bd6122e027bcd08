import { toHex } from "../bytes.ts";
import { hash } from "../hash.ts";
import type { NodeId } from "../ids/node-id.ts";
import type { PlumTreeConfig } from "./config.ts";
import { DelayEstimate } from "./delay-estimate.ts";
import type { GossipPayloadMessage, TopicMessage } from "./messages.ts";

/** Timers of the broadcast layer. `id` is the hex message id. */
export type PlumTreeTimer =
  | { readonly kind: "graft"; readonly id: string }
  | { readonly kind: "dispatch-ihave" }
  | { readonly kind: "evict" };

/** Where {@link PlumTree} puts what it decides. */
export interface PlumTreeSink {
  /** Send `message` to the neighbour `to`. */
  send(to: NodeId, message: TopicMessage): void;
  /** Call `timerFired(timer)` after `delayMs`. */
  setTimer(delayMs: number, timer: PlumTreeTimer): void;
  /** A message seen for the first time; `deliveredBy` is the link it came over. */
  deliver(message: GossipPayloadMessage, deliveredBy: NodeId): void;
}

/** Counters of one {@link PlumTree}. */
export interface PlumTreeMetrics {
  /** Full messages sent (our broadcasts, forwards and graft answers). */
  payloadsSent: number;
  /** First receipts delivered to the application. */
  delivered: number;
  /** Full messages received that we already had. */
  duplicates: number;
  graftsSent: number;
  prunesSent: number;
  ihaveEntriesSent: number;
}

interface Seen {
  readonly at: number;
  readonly round: number;
  /** Who delivered it (undefined: our own broadcast). */
  readonly from: NodeId | undefined;
  /**
   * Set while a message that a graft answer delivered may still arrive over the eager path: when
   * it was first announced, and whom we grafted. Its late arrival is a sample of the eager delay.
   */
  lateEager?: { readonly announcedAt: number; readonly grafted: ReadonlyMap<NodeId, number> };
}

interface Missing {
  readonly id: Uint8Array;
  /** Announcers not grafted yet, in the order they announced. */
  readonly announcers: { peer: NodeId; round: number }[];
  /** When the first announcement arrived. */
  readonly announcedAt: number;
  /** How long the running graft timer waits. */
  waitMs: number;
  /** The announcer the running graft timer waits for (undefined: the eager path). */
  waitingFor: NodeId | undefined;
  /** Announcers grafted for it, and when. */
  readonly grafted: Map<NodeId, number>;
}

/** Lower-case hex of a message id, used as map key. */
export function messageKey(id: Uint8Array): string {
  return toHex(id);
}

/**
 * PlumTree epidemic broadcast of one topic (spec §5.3), pure. Messages travel over a spanning
 * tree of eager links (full payloads); the other neighbours are lazy and only get batched `ihave`
 * announcements. A duplicate prunes the link it came over (eager → lazy); a message announced
 * but not received in time is grafted from an announcer (lazy → eager), which repairs the tree.
 *
 * A message is identified by BLAKE3(content): broadcasting the same bytes twice within the id
 * retention is delivered once. Apps that repeat content add a nonce or timestamp.
 */
export class PlumTree {
  readonly #config: PlumTreeConfig;
  readonly #maxRound: number;
  readonly #maxIHaveEntries: number;
  readonly #sink: PlumTreeSink;
  readonly #eager = new Set<NodeId>();
  readonly #lazy = new Set<NodeId>();
  /** Ids seen, oldest first (insertion order = time order, which eviction relies on). */
  readonly #seen = new Map<string, Seen>();
  /** Full messages to answer grafts, oldest first. */
  readonly #cache = new Map<string, { message: GossipPayloadMessage; at: number }>();
  readonly #missing = new Map<string, Missing>();
  readonly #graftArmed = new Set<string>();
  readonly #lazyQueue = new Map<NodeId, [Uint8Array, number][]>();
  /**
   * From a message's first announcement to its arrival over the eager path. One estimate for
   * all links: it is bounded by how long the tree takes between two neighbours, whichever link
   * announced.
   */
  readonly #eagerDelay = new DelayEstimate();
  /** From a graft to its answer, per neighbour (a link's round trip), and over all links. */
  readonly #graftRoundTrips = new Map<NodeId, DelayEstimate>();
  readonly #graftRoundTrip = new DelayEstimate();
  #lastFailureAt: number | undefined;
  #dispatchArmed = false;
  #evictArmed = false;
  readonly metrics: PlumTreeMetrics = {
    payloadsSent: 0,
    delivered: 0,
    duplicates: 0,
    graftsSent: 0,
    prunesSent: 0,
    ihaveEntriesSent: 0,
  };

  constructor(
    config: PlumTreeConfig,
    limits: { maxRound: number; maxIHaveEntries: number },
    sink: PlumTreeSink,
  ) {
    this.#config = config;
    this.#maxRound = limits.maxRound;
    this.#maxIHaveEntries = limits.maxIHaveEntries;
    this.#sink = sink;
  }

  /** Neighbours that get full messages. */
  get eagerPeers(): NodeId[] {
    return [...this.#eager];
  }

  /** Neighbours that get announcements only. */
  get lazyPeers(): NodeId[] {
    return [...this.#lazy];
  }

  /** Whether the message with this hex id was seen (and is still remembered). */
  hasSeen(key: string): boolean {
    return this.#seen.has(key);
  }

  /**
   * The graft timeouts (ms), measured: `first`, how long a message announced by a lazy
   * neighbour may take to arrive over the eager path before the announcer is grafted (mean + 4
   * deviations of the delays observed from announcement to eager arrival, within
   * [`graftTimeout1Ms`, `graftTimeoutMaxMs`]); `next`, how long a graft to `peer` may take to be
   * answered before the next announcer is grafted (the same of the round trips of grafts to
   * `peer`, or to anyone while `peer` has none, within [`graftTimeout2Ms`, `graftTimeoutMaxMs`]).
   */
  graftTimeouts(peer?: NodeId): { first: number; next: number } {
    const max = this.#config.graftTimeoutMaxMs;
    const own = peer === undefined ? undefined : this.#graftRoundTrips.get(peer);
    const roundTrip = own !== undefined && own.samples > 0 ? own : this.#graftRoundTrip;
    return {
      first: this.#eagerDelay.timeout(this.#config.graftTimeout1Ms, max),
      next: roundTrip.timeout(this.#config.graftTimeout2Ms, max),
    };
  }

  /** Number of full messages cached. */
  get cachedMessages(): number {
    return this.#cache.size;
  }

  /**
   * A neighbour's link failed (not a graceful leave): the tree is being repaired, so the
   * neighbours that replace it hear of recent messages (see `announceRecentToNewNeighbourMs`).
   */
  neighbourFailed(now: number): void {
    this.#lastFailureAt = now;
  }

  /**
   * A new neighbour starts eager. While the tree is being repaired (a neighbour failed within
   * `announceRecentToNewNeighbourMs`), it also hears (`ihave`) of the messages we received in
   * that time, so one that was in flight through the failed node still reaches it. A node that
   * simply joins gets no old messages.
   */
  neighbourUp(peer: NodeId, now: number): void {
    this.#lazy.delete(peer);
    this.#eager.add(peer);
    const window = this.#config.announceRecentToNewNeighbourMs;
    if (window <= 0 || this.#lastFailureAt === undefined || now - this.#lastFailureAt > window) {
      return;
    }
    const recent: [Uint8Array, number][] = [];
    for (const { message, at } of this.#cache.values()) {
      if (now - at <= window) recent.push([message.id, message.round]);
    }
    if (recent.length === 0) return;
    const queue = this.#lazyQueue.get(peer) ?? [];
    queue.push(...recent);
    this.#lazyQueue.set(peer, queue);
    if (!this.#dispatchArmed) {
      this.#dispatchArmed = true;
      this.#sink.setTimer(this.#config.dispatchTimeoutMs, { kind: "dispatch-ihave" });
    }
  }

  /** A neighbour left: forget it (announcements it made stay, grafting it fails harmlessly). */
  neighbourDown(peer: NodeId): void {
    this.#eager.delete(peer);
    this.#lazy.delete(peer);
    this.#lazyQueue.delete(peer);
    this.#graftRoundTrips.delete(peer);
  }

  /** Broadcasts `content` (size checked by the caller). Returns the message id. */
  broadcast(content: Uint8Array, now: number): Uint8Array {
    const id = hash(content);
    const key = messageKey(id);
    if (this.#seen.has(key)) return id;
    const message: GossipPayloadMessage = { type: "gossip", id, content, round: 0 };
    this.#remember(key, message, now, undefined);
    this.#push(message, undefined);
    return id;
  }

  /** Handles a broadcast message from `from` (an authenticated link). */
  handleMessage(from: NodeId, message: TopicMessage, now: number): void {
    switch (message.type) {
      case "gossip":
        this.#onGossip(from, message, now);
        break;
      case "ihave":
        for (const [id, round] of message.entries) this.#onAnnouncement(from, id, round, now);
        break;
      case "graft": {
        this.#makeEager(from);
        if (message.id === null) break;
        const cached = this.#cache.get(messageKey(message.id));
        if (cached === undefined) break;
        this.metrics.payloadsSent++;
        this.#sink.send(from, { ...cached.message, round: message.round });
        break;
      }
      case "prune":
        if (this.#eager.delete(from)) this.#lazy.add(from);
        break;
      default:
        break;
    }
  }

  /** A timer set through the sink fired. */
  timerFired(timer: PlumTreeTimer, now: number): void {
    switch (timer.kind) {
      case "graft":
        this.#onGraftTimer(timer.id, now);
        break;
      case "dispatch-ihave":
        this.#dispatch();
        break;
      case "evict":
        this.#evict(now);
        break;
    }
  }

  #onGossip(from: NodeId, message: GossipPayloadMessage, now: number): void {
    const key = messageKey(message.id);
    const seen = this.#seen.get(key);
    if (seen !== undefined) {
      this.metrics.duplicates++;
      const late = seen.lateEager;
      if (late !== undefined && from !== seen.from && !late.grafted.has(from)) {
        // The eager path did deliver, only later than the graft timeout: a sample of how long
        // eager paths take, without which the estimate would only ever see the fast ones.
        seen.lateEager = undefined;
        this.#eagerDelay.sample(now - late.announcedAt);
      }
      if (this.#eager.delete(from)) {
        this.#lazy.add(from);
        this.metrics.prunesSent++;
        this.#sink.send(from, { type: "prune" });
      }
      return;
    }
    const missing = this.#missing.get(key);
    this.#missing.delete(key);
    this.#remember(key, message, now, from);
    if (missing !== undefined) this.#measure(missing, from, now, this.#seen.get(key) as Seen);
    this.metrics.delivered++;
    this.#sink.deliver(message, from);
    const round = Math.min(message.round + 1, this.#maxRound);
    this.#push({ ...message, round }, from);
    this.#makeEager(from);
    // Tree optimisation (iroh-gossip's): the announcer of the lowest round is the better parent
    // when the message came at least `optimizationThreshold` hops longer than it.
    if (missing !== undefined) {
      let best: { peer: NodeId; round: number } | undefined;
      for (const a of missing.announcers) if (best === undefined || a.round < best.round) best = a;
      if (best !== undefined && message.round - best.round >= this.#config.optimizationThreshold) {
        this.#swapParent(best.peer, from, best.round);
      }
    }
  }

  /** A message that was announced before it arrived: what it tells about the delays. */
  #measure(missing: Missing, from: NodeId, now: number, seen: Seen): void {
    const graftedAt = missing.grafted.get(from);
    if (graftedAt === undefined) {
      this.#eagerDelay.sample(now - missing.announcedAt);
      return;
    }
    let own = this.#graftRoundTrips.get(from);
    if (own === undefined) {
      own = new DelayEstimate();
      this.#graftRoundTrips.set(from, own);
    }
    own.sample(now - graftedAt);
    this.#graftRoundTrip.sample(now - graftedAt);
    seen.lateEager = { announcedAt: missing.announcedAt, grafted: missing.grafted };
  }

  #onAnnouncement(from: NodeId, id: Uint8Array, round: number, now: number): void {
    const key = messageKey(id);
    const seen = this.#seen.get(key);
    if (seen !== undefined) {
      if (
        seen.from !== undefined &&
        seen.from !== from &&
        seen.round - round >= this.#config.optimizationThreshold
      ) {
        this.#swapParent(from, seen.from, round);
      }
      return;
    }
    let missing = this.#missing.get(key);
    if (missing === undefined) {
      missing = {
        id,
        announcers: [],
        announcedAt: now,
        waitMs: 0,
        waitingFor: undefined,
        grafted: new Map(),
      };
      this.#missing.set(key, missing);
    }
    if (missing.announcers.some((a) => a.peer === from)) return;
    missing.announcers.push({ peer: from, round });
    if (!this.#graftArmed.has(key)) {
      this.#graftArmed.add(key);
      // Measured, not fixed: an eager path that merely takes longer than 80 ms is not a lost
      // message, and grafting it would add a payload and reshape the tree for nothing.
      missing.waitMs = this.graftTimeouts().first;
      missing.waitingFor = undefined;
      this.#sink.setTimer(missing.waitMs, { kind: "graft", id: key });
    }
  }

  #onGraftTimer(key: string, now: number): void {
    this.#graftArmed.delete(key);
    const missing = this.#missing.get(key);
    if (missing === undefined) return;
    if (this.#seen.has(key)) {
      this.#missing.delete(key);
      return;
    }
    // The wait was too short for the eager path or the graft (or the message was lost there).
    if (missing.waitingFor !== undefined) {
      this.#graftRoundTrips.get(missing.waitingFor)?.expired(missing.waitMs);
      this.#graftRoundTrip.expired(missing.waitMs);
    } else if (missing.grafted.size === 0) {
      this.#eagerDelay.expired(missing.waitMs);
    }
    const next = missing.announcers.shift();
    // With no announcer left the entry stays (without a timer) until the answer comes, a new
    // announcer arrives, or eviction: the answer's round trip is measured from it.
    if (next === undefined) {
      this.#armEviction();
      return;
    }
    if (missing.announcers.length > 0) {
      this.#graftArmed.add(key);
      missing.waitMs = this.graftTimeouts(next.peer).next;
      missing.waitingFor = next.peer;
      this.#sink.setTimer(missing.waitMs, { kind: "graft", id: key });
    }
    missing.grafted.set(next.peer, now);
    this.#makeEager(next.peer);
    this.metrics.graftsSent++;
    this.#sink.send(next.peer, { type: "graft", id: missing.id, round: next.round });
  }

  #swapParent(better: NodeId, worse: NodeId, round: number): void {
    if (!this.#lazy.has(better) || !this.#eager.has(worse)) return;
    this.#makeEager(better);
    this.metrics.graftsSent++;
    this.#sink.send(better, { type: "graft", id: null, round });
    this.#eager.delete(worse);
    this.#lazy.add(worse);
    this.metrics.prunesSent++;
    this.#sink.send(worse, { type: "prune" });
  }

  /** Only neighbours change sides; a message from a non-neighbour leaves the sets alone. */
  #makeEager(peer: NodeId): void {
    if (this.#lazy.delete(peer)) this.#eager.add(peer);
  }

  #push(message: GossipPayloadMessage, except: NodeId | undefined): void {
    for (const peer of this.#eager) {
      if (peer === except) continue;
      this.metrics.payloadsSent++;
      this.#sink.send(peer, message);
    }
    let queued = false;
    for (const peer of this.#lazy) {
      if (peer === except) continue;
      let queue = this.#lazyQueue.get(peer);
      if (queue === undefined) {
        queue = [];
        this.#lazyQueue.set(peer, queue);
      }
      queue.push([message.id, message.round]);
      queued = true;
    }
    if (queued && !this.#dispatchArmed) {
      this.#dispatchArmed = true;
      this.#sink.setTimer(this.#config.dispatchTimeoutMs, { kind: "dispatch-ihave" });
    }
  }

  #dispatch(): void {
    this.#dispatchArmed = false;
    for (const [peer, queue] of this.#lazyQueue) {
      for (let i = 0; i < queue.length; i += this.#maxIHaveEntries) {
        const entries = queue.slice(i, i + this.#maxIHaveEntries);
        this.metrics.ihaveEntriesSent += entries.length;
        this.#sink.send(peer, { type: "ihave", entries });
      }
    }
    this.#lazyQueue.clear();
  }

  #remember(
    key: string,
    message: GossipPayloadMessage,
    now: number,
    from: NodeId | undefined,
  ): void {
    this.#seen.set(key, { at: now, round: message.round, from });
    this.#cache.set(key, { message, at: now });
    this.#armEviction();
  }

  #armEviction(): void {
    if (this.#evictArmed) return;
    this.#evictArmed = true;
    this.#sink.setTimer(this.#config.cacheEvictIntervalMs, { kind: "evict" });
  }

  #evict(now: number): void {
    this.#evictArmed = false;
    for (const [key, entry] of this.#cache) {
      if (entry.at + this.#config.messageCacheRetentionMs > now) break;
      this.#cache.delete(key);
    }
    for (const [key, entry] of this.#seen) {
      if (entry.at + this.#config.messageIdRetentionMs > now) break;
      this.#seen.delete(key);
    }
    // A graft that was never answered: after the cache retention no answer is coming.
    for (const [key, entry] of this.#missing) {
      if (entry.announcedAt + this.#config.messageCacheRetentionMs > now) break;
      this.#missing.delete(key);
    }
    if (this.#seen.size > 0 || this.#missing.size > 0) this.#armEviction();
  }
}

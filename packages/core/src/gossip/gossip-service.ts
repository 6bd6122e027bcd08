import { EventStream } from "@p2panda-web/events";
import type { Observable, Subscription } from "rxjs";
import type { Clock } from "../clock.ts";
import { DEFAULT_FRAME_TIMEOUT_MS, type MessageChannelOptions } from "../codec/message-channel.ts";
import type { PayloadKey } from "../crypto/payload-key.ts";
import type { ProtocolEndpoint } from "../endpoint/protocol-endpoint.ts";
import { ProtocolName } from "../ids/network-id.ts";
import type { NodeId } from "../ids/node-id.ts";
import type { Topic } from "../ids/topic.ts";
import { type Rng, shuffle } from "../random.ts";
import { isStale, type NodeInfo } from "../records/node-info.ts";
import { Lifecycle, type LifecycleState, type Startable } from "../runtime/lifecycle.ts";
import { type Runtime, systemRuntime } from "../runtime/runtime.ts";
import type { ScheduledTimer, Timers } from "../runtime/timers.ts";
import type { GossipConfigInput } from "./config.ts";
import { GossipStoppedError } from "./errors.ts";
import { GossipHandle } from "./gossip-handle.ts";
import {
  type GossipMetrics,
  type GossipOutput,
  GossipState,
  type GossipStateEvent,
  type GossipTimer,
} from "./gossip-state.ts";
import { LinkTable, type LinkTableMetrics } from "./link-table.ts";
import { OverlayHealer, type OverlayHealerConfig } from "./overlay-healer.ts";

/**
 * What gossip needs of the address book: the `AddressBook` of `@p2panda-web/address-book` fits
 * (core does not depend on that package).
 */
export interface GossipAddressBook {
  /** Nodes known to share any of `topics`: whom a topic's overlay is entered through. */
  nodeInfosByTopics(topics: Iterable<Topic>): NodeInfo[];
  /** The topics `id` is known to share with us. */
  nodeTopics(id: NodeId): ReadonlySet<Topic>;
  /** Records that `id` (ourselves, for a joined topic) is in `topic`. */
  addTopic(id: NodeId, topic: Topic): Promise<void>;
  /** Records that `id` left `topic`. */
  removeTopic(id: NodeId, topic: Topic): Promise<void>;
  /** The nodes of `topic` (with `emitCurrent`, those known now) and those added later. */
  watchTopic(
    topic: Topic,
    options?: { emitCurrent?: boolean },
  ): Observable<{ readonly difference: { readonly added: readonly NodeId[] } }>;
}

// The handle and its deliveries have their own module; kept importable from here for modules
// that import them with the service.
export { type GossipDelivery, GossipHandle } from "./gossip-handle.ts";

/** Options of {@link GossipService}. */
export interface GossipServiceOptions {
  endpoint: ProtocolEndpoint;
  addressBook: GossipAddressBook;
  /** Overlay parameters and input limits; upstream defaults (see `gossipConfig`). */
  config?: GossipConfigInput;
  /**
   * How often idle links are swept and every overlay is healed even when nothing happened
   * (healing also runs when the address book learns a node of the topic, when a neighbour is
   * lost, and when a peer's retry is due). Default 5,000 ms.
   */
  healIntervalMs?: number;
  /**
   * How soon a known co-topic peer that is not a neighbour is asked again (0.5 s, doubling to
   * 30 s by default), while the overlay has room. See {@link OverlayHealer}.
   */
  healer?: Partial<OverlayHealerConfig>;
  /** Links (peers with an open gossip stream) at most; further incoming ones are refused. Default 128. */
  maxLinks?: number;
  /**
   * Messages waiting to be written to one peer at most; a peer that reads slower than this is
   * treated as failed and disconnected. Default 1,024.
   */
  maxQueuedPerLink?: number;
  /**
   * A link that has written nothing for this long sends a keep-alive, so its peer can tell a
   * quiet neighbour from a vanished or hostile one. Default 15,000 ms.
   */
  keepAliveIntervalMs?: number;
  /**
   * How long past the keep-alive interval a link may stay silent (not even a keep-alive) before
   * it is closed as failed. Default 10,000 ms (a link is dropped after 25 s of silence).
   */
  linkGraceMs?: number;
  /**
   * An incoming gossip stream must bring its first message within this time (the dialling side
   * opens it because it has something to send, so an honest peer sends at once); otherwise it
   * is closed. Default 5,000 ms.
   */
  firstMessageTimeoutMs?: number;
  /**
   * A link that no overlay needs (not an active-view neighbour of any topic) and that carried no
   * message for this long is closed; it is dialled again when there is something to send.
   * Default 60,000 ms.
   */
  idleLinkTimeoutMs?: number;
  /**
   * A frame that has started must complete within this time; a peer that stalls mid-frame is
   * refused (`stalled-mid-frame`). Default 10,000 ms.
   */
  frameTimeoutMs?: number;
  /**
   * Clock, timers and randomness. Default {@link systemRuntime}; tests pass a `VirtualRuntime`
   * to run healing, overlay timers and idle sweeps in virtual time. (A link's receive deadlines
   * and keep-alives belong to its channel, which keeps its own timers.)
   */
  runtime?: Runtime;
  /** Randomness of the overlays; overrides the runtime's. */
  rng?: Rng;
  /** Clock of events, overlays and link ranking; overrides the runtime's. */
  clock?: Clock;
}

/** Options of {@link GossipService.stream}. */
export interface GossipStreamOptions {
  /**
   * The topic added to our own topics (so discovery finds us for it) and used to find nodes to
   * join and heal through in the address book. Default: the gossip topic itself. The sync
   * manager gossips on a derived topic but discovers peers through the real one.
   */
  discoveryTopic?: Topic;
  /**
   * Encrypts what this handle publishes and decrypts what it receives (see
   * `TopicSecret.payloadKey`). Per handle: without one, content travels and arrives as given.
   * A sealed message is `SEALED_PAYLOAD_OVERHEAD` (41) bytes longer than its plaintext.
   */
  payloadKey?: PayloadKey;
}

/** Events of the gossip service: the overlays' events plus refused peers. */
export type GossipServiceEvent = GossipStateEvent;

/** One topic's overlay as {@link GossipService.overlay} reports it (copies, not live views). */
export interface GossipOverlay {
  /** Neighbours: the peers messages are exchanged with. */
  readonly active: readonly NodeId[];
  /** Known peers kept in reserve to replace a neighbour that fails. */
  readonly passive: readonly NodeId[];
  /** Neighbours full messages are pushed to (the broadcast tree's branches). */
  readonly eager: readonly NodeId[];
  /** Neighbours only told message ids (`ihave`), to repair the tree. */
  readonly lazy: readonly NodeId[];
}

/** Counters of a {@link GossipService}: the protocol's plus the links'. */
export interface GossipServiceMetrics extends GossipMetrics, LinkTableMetrics {}

/** Default of {@link GossipServiceOptions.healIntervalMs}. */
export const DEFAULT_GOSSIP_HEAL_INTERVAL_MS = 5_000;
/** Default of {@link GossipServiceOptions.maxLinks}. */
export const DEFAULT_GOSSIP_MAX_LINKS = 128;
/** Default of {@link GossipServiceOptions.maxQueuedPerLink}. */
export const DEFAULT_GOSSIP_MAX_QUEUED = 1_024;
/** Default of {@link GossipServiceOptions.keepAliveIntervalMs}. */
export const DEFAULT_GOSSIP_KEEP_ALIVE_MS = 15_000;
/** Default of {@link GossipServiceOptions.linkGraceMs}. */
export const DEFAULT_GOSSIP_LINK_GRACE_MS = 10_000;
/** Default of {@link GossipServiceOptions.firstMessageTimeoutMs}. */
export const DEFAULT_GOSSIP_FIRST_MESSAGE_TIMEOUT_MS = 5_000;
/** Default of {@link GossipServiceOptions.idleLinkTimeoutMs}. */
export const DEFAULT_GOSSIP_IDLE_LINK_TIMEOUT_MS = 60_000;
/**
 * Largest gossip frame: a full `ihave` batch (256 × ~45 bytes) or a 4 KiB message with its
 * envelope fit many times over; the message-size limit itself is checked after decoding.
 */
export const GOSSIP_MAX_FRAME_SIZE = 64 * 1024;

interface TopicEntry {
  readonly topic: Topic;
  readonly discoveryTopic: Topic;
  readonly handles: Set<GossipHandle>;
  /** Watches the address book for nodes of the discovery topic. */
  readonly bookWatch: Subscription;
}

/**
 * Gossip over a network (spec §5): one {@link GossipState} (HyParView + PlumTree per topic)
 * driven by the runtime's timers and one long-lived gossip stream per neighbour (its
 * {@link LinkTable}), shared by all topics.
 * Topics are entered through the nodes discovery put in the address book for them and
 * re-entered through them whenever the overlay loses every neighbour.
 *
 * Use {@link GossipService.stream} to join a topic; every handle of a topic shares its overlay,
 * and the last one to close leaves it. Nothing a remote sends throws out of the service:
 * malformed or oversized input and floods disconnect the peer (`gossip:peer-refused`, metrics).
 */
export class GossipService implements Startable {
  readonly #lifecycle = new Lifecycle("gossip", () => new GossipStoppedError());
  readonly #endpoint: ProtocolEndpoint;
  readonly #book: GossipAddressBook;
  readonly #clock: Clock;
  readonly #state: GossipState;
  readonly #events: EventStream<GossipServiceEvent>;
  readonly #links: LinkTable;
  readonly #topics = new Map<Topic, TopicEntry>();
  readonly #ownTopicRefs = new Map<Topic, number>();
  /** Own topics gossip added itself (and so removes again); the app's own stay. */
  readonly #addedOwnTopics = new Set<Topic>();
  readonly #timerSource: Timers;
  readonly #timers = new Set<ScheduledTimer>();
  readonly #healInterval: number;
  readonly #channelOptions: MessageChannelOptions;
  readonly #idleLinkTimeout: number;
  readonly #rng: Rng;
  #healTimer: ScheduledTimer | undefined;
  readonly #healer: OverlayHealer;
  #healWake: { at: number; timer: ScheduledTimer } | undefined;
  #running = false;
  #stopping = false;
  #stopped = false;

  constructor(options: GossipServiceOptions) {
    this.#endpoint = options.endpoint;
    this.#book = options.addressBook;
    const runtime = options.runtime ?? systemRuntime;
    this.#clock = options.clock ?? runtime.clock;
    this.#rng = options.rng ?? runtime.rng;
    this.#timerSource = runtime.timers;
    this.#state = new GossipState(options.endpoint.nodeId, this.#rng, options.config);
    this.#events = new EventStream<GossipServiceEvent>(() => this.#clock.now());
    this.#healInterval = options.healIntervalMs ?? DEFAULT_GOSSIP_HEAL_INTERVAL_MS;
    this.#healer = new OverlayHealer(options.healer);
    const keepAlive = options.keepAliveIntervalMs ?? DEFAULT_GOSSIP_KEEP_ALIVE_MS;
    this.#channelOptions = {
      maxFrameSize: GOSSIP_MAX_FRAME_SIZE,
      receiveTimeoutMs: keepAlive + (options.linkGraceMs ?? DEFAULT_GOSSIP_LINK_GRACE_MS),
      frameTimeoutMs: options.frameTimeoutMs ?? DEFAULT_FRAME_TIMEOUT_MS,
      keepAliveIntervalMs: keepAlive,
    };
    this.#links = new LinkTable({
      endpoint: options.endpoint,
      clock: this.#clock,
      host: {
        state: this.#state,
        apply: (outputs) => this.#apply(outputs),
        isAccepting: () => this.#running,
        isStopped: () => this.#stopped,
      },
      maxLinks: options.maxLinks ?? DEFAULT_GOSSIP_MAX_LINKS,
      maxQueuedPerLink: options.maxQueuedPerLink ?? DEFAULT_GOSSIP_MAX_QUEUED,
      channelOptions: this.#channelOptions,
      firstMessageTimeoutMs:
        options.firstMessageTimeoutMs ?? DEFAULT_GOSSIP_FIRST_MESSAGE_TIMEOUT_MS,
    });
    this.#idleLinkTimeout = options.idleLinkTimeoutMs ?? DEFAULT_GOSSIP_IDLE_LINK_TIMEOUT_MS;
  }

  /** This node's id. */
  get nodeId(): NodeId {
    return this.#endpoint.nodeId;
  }

  /** Largest message `publish` accepts (bytes). */
  get maxMessageSize(): number {
    return this.#state.config.limits.maxMessageSize;
  }

  /**
   * Joined / neighbour-up / neighbour-down / received / left of every topic, and
   * `gossip:peer-refused`. Hot; completed on stop.
   */
  get events$(): Observable<GossipServiceEvent> {
    return this.#events.events$;
  }

  /** Counters of the protocol and the links. */
  get metrics(): Readonly<GossipServiceMetrics> {
    return { ...this.#state.metrics, ...this.#links.metrics };
  }

  /** Topics with at least one open handle. */
  get topics(): Topic[] {
    return [...this.#topics.keys()];
  }

  /** The overlay neighbours (active view) of `topic` now; empty when not joined. */
  neighbours(topic: Topic): NodeId[] {
    return this.#state.topic(topic)?.neighbours ?? [];
  }

  /**
   * The overlay of `topic` now, for tools that show it (the inspector): HyParView's active and
   * passive views and PlumTree's eager and lazy peers. Undefined when not joined.
   */
  overlay(topic: Topic): GossipOverlay | undefined {
    const overlay = this.#state.topic(topic);
    if (overlay === undefined) return undefined;
    return {
      active: overlay.membership.activeView,
      passive: overlay.membership.passiveView,
      eager: overlay.broadcastTree.eagerPeers,
      lazy: overlay.broadcastTree.lazyPeers,
    };
  }

  /** Where the service is in its {@link Startable} lifecycle. */
  get state(): LifecycleState {
    return this.#lifecycle.state;
  }

  /**
   * Starts accepting gossip streams. Idempotent; {@link GossipService.stream} calls it.
   *
   * @throws GossipStoppedError after {@link GossipService.stop}: a stopped service stays stopped.
   */
  start(): Promise<void> {
    return this.#lifecycle.start(() => {
      this.#running = true;
      this.#endpoint.accept(
        ProtocolName.gossip,
        (channel) => this.#links.accept(channel),
        this.#channelOptions,
      );
      this.#healTimer = this.#timerSource.every(this.#healInterval, () => this.#heal());
    });
  }

  /**
   * Joins `topic`'s overlay and returns a handle to publish and receive on it. A topic that is
   * already joined is shared (reference counted), with the options of its first stream (a
   * different `discoveryTopic` later is ignored; `payloadKey` is the handle's own). The discovery topic is added to our own topics
   * in the address book, so discovery announces us for it, and removed with the last handle
   * unless the app had added it itself.
   *
   * @throws GossipStoppedError after {@link GossipService.stop}.
   */
  async stream(topic: Topic, options: GossipStreamOptions = {}): Promise<GossipHandle> {
    await this.start();
    // A stop() may have begun while the start above settled.
    this.#lifecycle.assertNotStopped();
    let entry = this.#topics.get(topic);
    if (entry === undefined) {
      const discoveryTopic = options.discoveryTopic ?? topic;
      const me = this.nodeId;
      entry = {
        topic,
        discoveryTopic,
        handles: new Set(),
        bookWatch: this.#book.watchTopic(discoveryTopic).subscribe(({ difference }) => {
          if (difference.added.some((n) => n !== me) && this.#topics.has(topic)) {
            this.#healOverlays();
          }
        }),
      };
      this.#topics.set(topic, entry);
      const handle = new GossipHandle(this, topic, options.payloadKey);
      entry.handles.add(handle);
      await this.#addOwnTopic(discoveryTopic);
      this.#apply(this.#state.join(topic, [], this.#clock.now()));
      this.#healOverlays();
      return handle;
    }
    const handle = new GossipHandle(this, topic, options.payloadKey);
    entry.handles.add(handle);
    return handle;
  }

  /**
   * Leaves every topic, closes every link and completes `events$` and all handles' streams.
   * Idempotent and final.
   */
  stop(): Promise<void> {
    return this.#lifecycle.stop(() => this.#stop());
  }

  async #stop(): Promise<void> {
    this.#stopping = true;
    // Leave every overlay first, so neighbours get a goodbye (`disconnect`) instead of a broken
    // link; the links are closed after those messages went out.
    const now = this.#clock.now();
    for (const entry of [...this.#topics.values()]) {
      for (const handle of entry.handles) handle._end();
      await this.#leave(entry, now);
    }
    this.#stopped = true;
    if (this.#running) await this.#endpoint.unaccept?.(ProtocolName.gossip);
    this.#running = false;
    this.#healTimer?.cancel();
    this.#healWake?.timer.cancel();
    for (const timer of this.#timers) timer.cancel();
    this.#timers.clear();
    await this.#links.closeAll();
    this.#events.complete();
  }

  /** @internal {@link GossipHandle.publish}. */
  _publish(topic: Topic, content: Uint8Array): Uint8Array {
    if (this.#stopping) throw new GossipStoppedError();
    const { id, outputs } = this.#state.broadcast(topic, content, this.#clock.now());
    this.#apply(outputs);
    return id;
  }

  /** @internal {@link GossipHandle.close}. */
  async _release(handle: GossipHandle): Promise<void> {
    const entry = this.#topics.get(handle.topic);
    if (entry === undefined || !entry.handles.delete(handle)) return;
    if (entry.handles.size === 0) await this.#leave(entry, this.#clock.now());
  }

  /** @internal Deliveries and events of one topic, for handles. */
  _events(topic: Topic): Observable<GossipServiceEvent> {
    return this.#events.where((e) => "topic" in e && e.topic === topic);
  }

  async #leave(entry: TopicEntry, now: number): Promise<void> {
    this.#topics.delete(entry.topic);
    entry.bookWatch.unsubscribe();
    this.#healer.forget(entry.topic);
    this.#apply(this.#state.quit(entry.topic, now));
    await this.#removeOwnTopic(entry.discoveryTopic);
  }

  async #addOwnTopic(topic: Topic): Promise<void> {
    const refs = this.#ownTopicRefs.get(topic) ?? 0;
    this.#ownTopicRefs.set(topic, refs + 1);
    if (refs === 0 && !this.#book.nodeTopics(this.nodeId).has(topic)) {
      this.#addedOwnTopics.add(topic);
      await this.#book.addTopic(this.nodeId, topic);
    }
  }

  async #removeOwnTopic(topic: Topic): Promise<void> {
    const refs = (this.#ownTopicRefs.get(topic) ?? 1) - 1;
    if (refs > 0) {
      this.#ownTopicRefs.set(topic, refs);
      return;
    }
    this.#ownTopicRefs.delete(topic);
    if (!this.#addedOwnTopics.delete(topic)) return;
    await this.#book.removeTopic(this.nodeId, topic).catch(() => {});
  }

  /** Nodes known to share a topic, reachable ones first, each group in random order. */
  #candidates(discoveryTopic: Topic): NodeId[] {
    const me = this.nodeId;
    const nodes = this.#book.nodeInfosByTopics([discoveryTopic]).filter((n) => n.nodeId !== me);
    const fresh = shuffle(
      this.#rng,
      nodes.filter((n) => !isStale(n)),
    );
    const stale = shuffle(
      this.#rng,
      nodes.filter((n) => isStale(n)),
    );
    return [...fresh, ...stale].map((n) => n.nodeId);
  }

  /**
   * Asks every known co-topic peer again now, as if none had failed before, to fill the
   * overlays: what lifecycle recovery does when the node comes back from being offline or
   * frozen (its neighbours are gone, and the healer's backoff could otherwise keep it waiting
   * up to 30 s). Sync follows the new neighbours and catches up. No-op unless running.
   */
  healNow(): void {
    if (!this.#running || this.#stopping) return;
    this.#healer.retryAllNow();
    this.#healOverlays();
  }

  /** Closes links no overlay needs that have been idle too long, then heals the overlays. */
  #heal(): void {
    if (!this.#running) return;
    const now = this.#clock.now();
    this.#links.evictIdle(now, this.#idleLinkTimeout);
    this.#healOverlays();
  }

  /**
   * Asks the {@link OverlayHealer} whom each overlay should ask to be its neighbour now, does
   * it, and looks again when the healer says a waiting peer is due.
   */
  #healOverlays(): void {
    if (!this.#running || this.#stopping) return;
    const now = this.#clock.now();
    const capacity = this.#state.config.membership.activeViewCapacity;
    const views = [...this.#topics.values()].map((entry) => ({
      topic: entry.topic,
      neighbours: this.neighbours(entry.topic),
      capacity,
      candidates: this.#candidates(entry.discoveryTopic),
    }));
    const plan = this.#healer.plan(views, now);
    for (const action of plan.actions) {
      this.#apply(
        action.how === "join"
          ? this.#state.join(action.topic, action.peers, now)
          : this.#state.requestNeighbours(action.topic, action.peers, now),
      );
    }
    this.#healAt(plan.wakeAt);
  }

  /** Arms the one healing timer for `at` (earlier wins), or leaves it as it is. */
  #healAt(at: number | undefined): void {
    if (at === undefined || this.#stopped) return;
    if (this.#healWake !== undefined && this.#healWake.at <= at) return;
    this.#healWake?.timer.cancel();
    const timer = this.#timerSource.after(Math.max(0, at - this.#clock.now()), () => {
      this.#healWake = undefined;
      this.#healOverlays();
    });
    this.#healWake = { at, timer };
  }

  /**
   * A neighbour came up in an overlay: it proved it knows the overlay's topic, so the address
   * book learns it as a node of the discovery topic (sync, gossip and the app see it at once,
   * without a discovery session of their own with it). Neighbours lost are looked for again.
   */
  #onNeighbourEvent(event: GossipStateEvent): void {
    if (event.type === "gossip:neighbour-up") {
      this.#healer.neighbourUp(event.topic, event.node);
      const entry = this.#topics.get(event.topic);
      if (entry !== undefined && !this.#book.nodeTopics(event.node).has(entry.discoveryTopic)) {
        this.#book.addTopic(event.node, entry.discoveryTopic).catch(() => {});
      }
    } else if (event.type === "gossip:neighbour-down") {
      this.#healAt(this.#clock.now());
    }
  }

  #apply(outputs: readonly GossipOutput[]): void {
    for (const output of outputs) {
      switch (output.type) {
        case "send":
          this.#links.send(output.to, output.message);
          break;
        case "set-timer":
          this.#setTimer(output.timer, output.delayMs);
          break;
        case "disconnect":
          this.#links.disconnect(output.peer, output.error);
          break;
        case "event":
          this.#onNeighbourEvent(output.event);
          this.#events.emit(output.event);
          break;
      }
    }
  }

  #setTimer(timer: GossipTimer, delayMs: number): void {
    if (this.#stopped) return;
    const scheduled = this.#timerSource.after(delayMs, () => {
      this.#timers.delete(scheduled);
      if (this.#stopped) return;
      this.#apply(this.#state.timerFired(timer, this.#clock.now()));
    });
    this.#timers.add(scheduled);
  }
}

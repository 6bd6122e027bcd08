import { EventStream } from "@p2panda-web/events";
import { filter, type Observable, type Subscription } from "rxjs";
import type { Clock } from "../clock.ts";
import { DecodeError } from "../codec/cbor.ts";
import { FrameTooLargeError } from "../codec/framing.ts";
import {
  DEFAULT_FRAME_TIMEOUT_MS,
  type MessageChannel,
  type MessageChannelOptions,
  StreamStalledError,
} from "../codec/message-channel.ts";
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
import {
  GossipLinkEvictedError,
  GossipLinkRefusedError,
  GossipProtocolError,
  GossipSlowPeerError,
  GossipStoppedError,
} from "./errors.ts";
import { GossipHandle } from "./gossip-handle.ts";
import {
  type GossipMetrics,
  type GossipOutput,
  GossipState,
  type GossipStateEvent,
  type GossipTimer,
} from "./gossip-state.ts";
import { idleLinks, type LinkUsage, linkToEvict } from "./link-policy.ts";
import type { GossipMessage } from "./messages.ts";
import { OverlayHealer, type OverlayHealerConfig } from "./overlay-healer.ts";

/**
 * What gossip needs of the address book: the `AddressBook` of `@p2panda-web/address-book` fits
 * (core does not depend on that package).
 */
export interface GossipAddressBook {
  nodeInfosByTopics(topics: Iterable<Topic>): NodeInfo[];
  nodeTopics(id: NodeId): ReadonlySet<Topic>;
  addTopic(id: NodeId, topic: Topic): Promise<void>;
  removeTopic(id: NodeId, topic: Topic): Promise<void>;
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
}

/** Events of the gossip service: the overlays' events plus refused peers. */
export type GossipServiceEvent = GossipStateEvent;

/** Counters of a {@link GossipService}: the protocol's plus the links'. */
export interface GossipServiceMetrics extends GossipMetrics {
  /** Gossip streams opened by us / accepted from others. */
  linksDialed: number;
  linksAccepted: number;
  /** Dials that failed (the overlay treats the peer as failed). */
  dialsFailed: number;
  /** Incoming streams refused: link cap reached or peer on cool-down. */
  linksRefused: number;
  /** Links that broke (stream reset, remote vanished, write failed). */
  linksFailed: number;
  /** Peers disconnected because too many messages to them were waiting. */
  slowPeers: number;
  /** Links closed because their peer sent nothing (not even a keep-alive) in time. */
  linksTimedOut: number;
  /** Links no overlay needed, closed to make room for a new one or after being idle. */
  linksEvicted: number;
  messagesSent: number;
  messagesReceived: number;
}

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

interface Channel {
  readonly channel: MessageChannel;
  readonly dialed: boolean;
}

interface Link {
  readonly peer: NodeId;
  readonly channels: Channel[];
  dialing: boolean;
  /** Messages waiting for the dial to finish. */
  readonly pending: GossipMessage[];
  /** Writes run one after the other. */
  chain: Promise<void>;
  queued: number;
  abort: AbortController;
  /** When the last message arrived (or the link opened): what the link policy ranks by. */
  lastMessageAt: number;
}

interface TopicEntry {
  readonly topic: Topic;
  readonly discoveryTopic: Topic;
  readonly handles: Set<GossipHandle>;
  /** Watches the address book for nodes of the discovery topic. */
  readonly bookWatch: Subscription;
}

/**
 * Gossip over a network (spec §5): one {@link GossipState} (HyParView + PlumTree per topic)
 * driven by real timers and one long-lived gossip stream per neighbour, shared by all topics.
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
  readonly #links = new Map<NodeId, Link>();
  readonly #topics = new Map<Topic, TopicEntry>();
  readonly #ownTopicRefs = new Map<Topic, number>();
  /** Own topics gossip added itself (and so removes again); the app's own stay. */
  readonly #addedOwnTopics = new Set<Topic>();
  readonly #timerSource: Timers;
  readonly #timers = new Set<ScheduledTimer>();
  readonly #healInterval: number;
  readonly #maxLinks: number;
  readonly #maxQueued: number;
  readonly #channelOptions: MessageChannelOptions;
  readonly #firstMessageTimeout: number;
  readonly #idleLinkTimeout: number;
  readonly #rng: Rng;
  #healTimer: ScheduledTimer | undefined;
  readonly #healer: OverlayHealer;
  #healWake: { at: number; timer: ScheduledTimer } | undefined;
  #running = false;
  #stopping = false;
  #stopped = false;
  readonly #metrics = {
    linksDialed: 0,
    linksAccepted: 0,
    dialsFailed: 0,
    linksRefused: 0,
    linksFailed: 0,
    slowPeers: 0,
    linksTimedOut: 0,
    linksEvicted: 0,
    messagesSent: 0,
    messagesReceived: 0,
  };

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
    this.#maxLinks = options.maxLinks ?? DEFAULT_GOSSIP_MAX_LINKS;
    this.#maxQueued = options.maxQueuedPerLink ?? DEFAULT_GOSSIP_MAX_QUEUED;
    const keepAlive = options.keepAliveIntervalMs ?? DEFAULT_GOSSIP_KEEP_ALIVE_MS;
    this.#channelOptions = {
      maxFrameSize: GOSSIP_MAX_FRAME_SIZE,
      receiveTimeoutMs: keepAlive + (options.linkGraceMs ?? DEFAULT_GOSSIP_LINK_GRACE_MS),
      frameTimeoutMs: options.frameTimeoutMs ?? DEFAULT_FRAME_TIMEOUT_MS,
      keepAliveIntervalMs: keepAlive,
    };
    this.#firstMessageTimeout =
      options.firstMessageTimeoutMs ?? DEFAULT_GOSSIP_FIRST_MESSAGE_TIMEOUT_MS;
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
    return { ...this.#state.metrics, ...this.#metrics };
  }

  /** Topics with at least one open handle. */
  get topics(): Topic[] {
    return [...this.#topics.keys()];
  }

  /** The overlay neighbours (active view) of `topic` now; empty when not joined. */
  neighbours(topic: Topic): NodeId[] {
    return this.#state.topic(topic)?.neighbours ?? [];
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
        (channel) => this.#accept(channel),
        this.#channelOptions,
      );
      this.#healTimer = this.#timerSource.every(this.#healInterval, () => this.#heal());
    });
  }

  /**
   * Joins `topic`'s overlay and returns a handle to publish and receive on it. A topic that is
   * already joined is shared (reference counted), with the options of its first stream (a
   * different `discoveryTopic` later is ignored). The discovery topic is added to our own topics
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
      const handle = new GossipHandle(this, topic);
      entry.handles.add(handle);
      await this.#addOwnTopic(discoveryTopic);
      this.#apply(this.#state.join(topic, [], this.#clock.now()));
      this.#healOverlays();
      return handle;
    }
    const handle = new GossipHandle(this, topic);
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
    const closing: Promise<void>[] = [];
    for (const link of this.#links.values()) closing.push(this.#closeLink(link));
    this.#links.clear();
    await Promise.allSettled(closing);
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
    return this.#events.events$.pipe(filter((e) => "topic" in e && e.topic === topic));
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

  /** Closes links no overlay needs that have been idle too long, then heals the overlays. */
  #heal(): void {
    if (!this.#running) return;
    const now = this.#clock.now();
    for (const peer of idleLinks(this.#linkUsage(), now, this.#idleLinkTimeout)) {
      this.#evict(peer);
    }
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
          this.#send(output.to, output.message);
          break;
        case "set-timer":
          this.#setTimer(output.timer, output.delayMs);
          break;
        case "disconnect": {
          const link = this.#links.get(output.peer);
          if (link !== undefined) {
            this.#links.delete(output.peer);
            if (output.error !== undefined) this.#abortLink(link, output.error);
            else this.#closeLink(link).catch(() => {});
          }
          break;
        }
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

  #send(peer: NodeId, message: GossipMessage): void {
    if (this.#stopped) return;
    let link = this.#links.get(peer);
    if (link === undefined) {
      link = this.#newLink(peer);
      this.#links.set(peer, link);
    }
    if (link.channels.length === 0) {
      link.pending.push(message);
      if (!link.dialing) {
        this.#dial(link).catch((error: unknown) => this.#linkFailed(link, asError(error)));
      }
      return;
    }
    this.#write(link, message);
  }

  #newLink(peer: NodeId): Link {
    return {
      peer,
      channels: [],
      dialing: false,
      pending: [],
      chain: Promise.resolve(),
      queued: 0,
      abort: new AbortController(),
      lastMessageAt: this.#clock.now(),
    };
  }

  #write(link: Link, message: GossipMessage): void {
    if (link.queued >= this.#maxQueued) {
      this.#metrics.slowPeers++;
      this.#linkFailed(link, new GossipSlowPeerError(link.peer, this.#maxQueued));
      return;
    }
    link.queued++;
    link.chain = link.chain.then(async () => {
      link.queued--;
      const channel = this.#preferred(link);
      if (channel === undefined) return;
      try {
        await channel.send(message);
        this.#metrics.messagesSent++;
      } catch (error) {
        this.#linkFailed(link, asError(error));
      }
    });
  }

  /**
   * When both nodes opened a stream to each other, both write on the one dialled by the node
   * with the smaller id, so each side reads one ordered sequence again once both exist.
   */
  #preferred(link: Link): MessageChannel | undefined {
    const weDial = this.nodeId < link.peer;
    return (link.channels.find((c) => c.dialed === weDial) ?? link.channels[0])?.channel;
  }

  async #dial(link: Link): Promise<void> {
    link.dialing = true;
    let channel: MessageChannel;
    try {
      channel = await this.#endpoint.connect(link.peer, ProtocolName.gossip, {
        ...this.#channelOptions,
        signal: link.abort.signal,
      });
    } catch {
      link.dialing = false;
      if (this.#links.get(link.peer) !== link) return;
      this.#metrics.dialsFailed++;
      if (link.channels.length > 0) {
        // The peer's own stream arrived while we dialled: the link exists, use that.
        for (const message of link.pending.splice(0)) this.#write(link, message);
        return;
      }
      this.#links.delete(link.peer);
      if (!this.#stopped) this.#apply(this.#state.peerDisconnected(link.peer, this.#clock.now()));
      return;
    }
    link.dialing = false;
    if (this.#stopped || this.#links.get(link.peer) !== link) {
      // Left or replaced while dialling: flush what was meant for the peer, then close.
      for (const message of link.pending.splice(0)) await channel.send(message).catch(() => {});
      await channel.close().catch(() => {});
      return;
    }
    this.#metrics.linksDialed++;
    await this.#attach(link, { channel, dialed: true });
  }

  async #accept(channel: MessageChannel): Promise<void> {
    const peer = channel.remote;
    const now = this.#clock.now();
    let link = this.#links.get(peer);
    if (this.#running && link === undefined && this.#links.size >= this.#maxLinks) {
      // Full: make room by closing the link no overlay needs that has been quiet longest.
      const evict = linkToEvict(this.#linkUsage());
      if (evict !== undefined) this.#evict(evict);
    }
    if (
      !this.#running ||
      this.#state.isRefused(peer, now) ||
      (link === undefined && this.#links.size >= this.#maxLinks)
    ) {
      this.#metrics.linksRefused++;
      channel.abort(new GossipLinkRefusedError(peer));
      return;
    }
    if (link === undefined) {
      link = this.#newLink(peer);
      this.#links.set(peer, link);
    }
    this.#metrics.linksAccepted++;
    await this.#attach(link, { channel, dialed: false });
  }

  /**
   * Adds a channel to a link and reads it until it ends. Messages that waited for our own dial
   * go out at once on the first channel, whichever side opened it.
   */
  #attach(link: Link, entry: Channel): Promise<void> {
    link.channels.push(entry);
    for (const message of link.pending.splice(0)) this.#write(link, message);
    return this.#read(link, entry);
  }

  async #read(link: Link, entry: Channel): Promise<void> {
    const { channel } = entry;
    const peer = link.peer;
    // The side that dialled has something to send: an accepted stream that brings nothing
    // soon is someone holding a link slot.
    let timeoutMs = entry.dialed ? undefined : this.#firstMessageTimeout;
    for (;;) {
      let value: unknown;
      try {
        value = await channel.receive({ timeoutMs });
      } catch (error) {
        this.#detach(link, entry);
        if (this.#stopped || this.#links.get(peer) !== link) return;
        const refusal = codecRefusal(error);
        if (refusal !== undefined) {
          this.#apply(this.#state.refuse(peer, refusal, this.#clock.now()));
          return;
        }
        if (error instanceof StreamStalledError) {
          this.#metrics.linksTimedOut++;
          // After simultaneous dials both sides write on one of the two streams; the other
          // may never carry a message. Its silence says nothing about the link.
          if (link.channels.length > 0 || link.dialing) return;
        }
        this.#linkFailed(link, asError(error));
        return;
      }
      if (value === undefined) break;
      if (this.#stopped) return;
      timeoutMs = undefined;
      const now = this.#clock.now();
      link.lastMessageAt = now;
      this.#metrics.messagesReceived++;
      let outputs: GossipOutput[];
      try {
        outputs = this.#state.handleMessage(peer, value, now);
      } catch (error) {
        // The state machine refuses bad input itself; anything it still throws was caused by
        // this remote's message, and ends only this remote's link.
        this.#detach(link, entry);
        channel.abort(asError(error));
        const reason = error instanceof Error ? error.message : String(error);
        this.#apply(
          this.#state.refuse(peer, new GossipProtocolError("malformed-message", reason), now),
        );
        return;
      }
      this.#apply(outputs);
    }
    // The remote closed its side: close ours after what is queued.
    this.#detach(link, entry);
    await link.chain;
    await channel.close().catch(() => {});
    if (this.#links.get(peer) === link && link.channels.length === 0 && !link.dialing) {
      this.#links.delete(peer);
      if (!this.#stopped) this.#apply(this.#state.peerDisconnected(peer, this.#clock.now()));
    }
  }

  #detach(link: Link, entry: Channel): void {
    const i = link.channels.indexOf(entry);
    if (i >= 0) link.channels.splice(i, 1);
  }

  #linkFailed(link: Link, error: Error): void {
    if (this.#links.get(link.peer) !== link) return;
    this.#metrics.linksFailed++;
    this.#links.delete(link.peer);
    this.#abortLink(link, error);
    if (!this.#stopped) this.#apply(this.#state.peerDisconnected(link.peer, this.#clock.now()));
  }

  #abortLink(link: Link, error: Error): void {
    link.abort.abort(error);
    // Sends queued before the abort (e.g. a `disconnect`) are flushed first.
    link.chain
      .then(() => {
        for (const { channel } of link.channels.splice(0)) channel.abort(error);
      })
      .catch(() => {});
  }

  /** Closes a link no overlay needs (to make room, or because it is idle); not a failure. */
  #evict(peer: NodeId): void {
    const link = this.#links.get(peer);
    if (link === undefined) return;
    this.#metrics.linksEvicted++;
    this.#links.delete(peer);
    this.#abortLink(link, new GossipLinkEvictedError(peer));
    if (!this.#stopped) this.#apply(this.#state.peerDisconnected(peer, this.#clock.now()));
  }

  #linkUsage(): LinkUsage[] {
    const usage: LinkUsage[] = [];
    for (const link of this.#links.values()) {
      usage.push({
        peer: link.peer,
        lastMessageAt: link.lastMessageAt,
        neighbour: this.#state.isNeighbour(link.peer),
      });
    }
    return usage;
  }

  /**
   * Closes a link gracefully after what is queued. A dial still running is left to finish (and
   * is then closed by `#dial`): aborting it would count as a failed connection to a healthy node.
   */
  async #closeLink(link: Link): Promise<void> {
    await link.chain;
    await Promise.allSettled(link.channels.map(({ channel }) => channel.close()));
  }
}

function codecRefusal(error: unknown): GossipProtocolError | undefined {
  if (error instanceof FrameTooLargeError) {
    return new GossipProtocolError("message-too-large", error.message);
  }
  if (error instanceof StreamStalledError && error.midFrame) {
    return new GossipProtocolError("stalled-mid-frame", error.message);
  }
  if (error instanceof DecodeError)
    return new GossipProtocolError("malformed-message", error.message);
  return undefined;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

import type { Clock } from "../clock.ts";
import { DecodeError } from "../codec/cbor.ts";
import { FrameTooLargeError } from "../codec/framing.ts";
import {
  type MessageChannel,
  type MessageChannelOptions,
  StreamStalledError,
} from "../codec/message-channel.ts";
import type { ProtocolEndpoint } from "../endpoint/protocol-endpoint.ts";
import { ProtocolName } from "../ids/network-id.ts";
import type { NodeId } from "../ids/node-id.ts";
import {
  GossipLinkEvictedError,
  GossipLinkRefusedError,
  GossipProtocolError,
  GossipSlowPeerError,
} from "./errors.ts";
import type { GossipOutput, GossipState } from "./gossip-state.ts";
import { idleLinks, type LinkUsage, linkToEvict } from "./link-policy.ts";
import type { GossipMessage } from "./messages.ts";

/** Counters of a {@link LinkTable}. */
export interface LinkTableMetrics {
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

/**
 * What the link table needs of the gossip service: the pure core it feeds (messages, refusals,
 * lost peers) and where that core's outputs go, and whether the service still runs.
 */
export interface LinkTableHost {
  readonly state: GossipState;
  apply(outputs: readonly GossipOutput[]): void;
  /** Whether incoming streams are taken (started and not stopped). */
  isAccepting(): boolean;
  /** Whether the service has stopped: nothing is dialled or reported any more. */
  isStopped(): boolean;
}

/** Options of a {@link LinkTable}. */
export interface LinkTableOptions {
  readonly endpoint: ProtocolEndpoint;
  readonly clock: Clock;
  readonly host: LinkTableHost;
  /** Links at most; further incoming ones are refused. */
  readonly maxLinks: number;
  /** Messages waiting to be written to one peer at most; beyond, the peer is dropped. */
  readonly maxQueuedPerLink: number;
  /** Channel options of every gossip stream (frame size, deadlines, keep-alive). */
  readonly channelOptions: MessageChannelOptions;
  /** An accepted stream must bring its first message within this long. */
  readonly firstMessageTimeoutMs: number;
}

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

/**
 * The gossip service's links: one long-lived gossip stream per peer, shared by every topic,
 * dialled when there is something to send and accepted up to a cap. It writes in order with a
 * bounded queue, reads and hands each message to the {@link GossipState}, and reports a link
 * that breaks, stalls or misbehaves as a lost or refused peer. Which links to keep is the pure
 * link policy's (`link-policy.ts`); this class only does the I/O.
 */
export class LinkTable {
  readonly #endpoint: ProtocolEndpoint;
  readonly #nodeId: NodeId;
  readonly #clock: Clock;
  readonly #host: LinkTableHost;
  readonly #links = new Map<NodeId, Link>();
  readonly #maxLinks: number;
  readonly #maxQueued: number;
  readonly #channelOptions: MessageChannelOptions;
  readonly #firstMessageTimeout: number;
  readonly #metrics: LinkTableMetrics = {
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

  constructor(options: LinkTableOptions) {
    this.#endpoint = options.endpoint;
    this.#nodeId = options.endpoint.nodeId;
    this.#clock = options.clock;
    this.#host = options.host;
    this.#maxLinks = options.maxLinks;
    this.#maxQueued = options.maxQueuedPerLink;
    this.#channelOptions = options.channelOptions;
    this.#firstMessageTimeout = options.firstMessageTimeoutMs;
  }

  /** A copy of the counters. */
  get metrics(): Readonly<LinkTableMetrics> {
    return { ...this.#metrics };
  }

  /** Closes `peer`'s link: aborted with `error` (a refusal), or gracefully after its queue. */
  disconnect(peer: NodeId, error?: Error): void {
    const link = this.#links.get(peer);
    if (link === undefined) return;
    this.#links.delete(peer);
    if (error !== undefined) this.#abortLink(link, error);
    else this.#closeLink(link).catch(() => {});
  }

  /** Closes the links no overlay needs that carried no message for `idleMs`. */
  evictIdle(now: number, idleMs: number): void {
    for (const peer of idleLinks(this.#linkUsage(), now, idleMs)) this.#evict(peer);
  }

  /** Closes every link gracefully, after what is queued on each. */
  async closeAll(): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const link of this.#links.values()) closing.push(this.#closeLink(link));
    this.#links.clear();
    await Promise.allSettled(closing);
  }

  /** Sends `message` to `peer` over its link, dialling one if there is none. */
  send(peer: NodeId, message: GossipMessage): void {
    if (this.#host.isStopped()) return;
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
    const weDial = this.#nodeId < link.peer;
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
      this.#peerLost(link.peer);
      return;
    }
    link.dialing = false;
    if (this.#host.isStopped() || this.#links.get(link.peer) !== link) {
      // Left or replaced while dialling: flush what was meant for the peer, then close.
      for (const message of link.pending.splice(0)) await channel.send(message).catch(() => {});
      await channel.close().catch(() => {});
      return;
    }
    this.#metrics.linksDialed++;
    await this.#attach(link, { channel, dialed: true });
  }

  /**
   * Takes an incoming gossip stream: refused (and counted) when the table is not accepting,
   * the peer is refused by the overlay, or the table is full and no link can be evicted.
   */
  async accept(channel: MessageChannel): Promise<void> {
    const peer = channel.remote;
    const now = this.#clock.now();
    let link = this.#links.get(peer);
    if (this.#host.isAccepting() && link === undefined && this.#links.size >= this.#maxLinks) {
      // Full: make room by closing the link no overlay needs that has been quiet longest.
      const evict = linkToEvict(this.#linkUsage());
      if (evict !== undefined) this.#evict(evict);
    }
    if (
      !this.#host.isAccepting() ||
      this.#host.state.isRefused(peer, now) ||
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
        if (this.#host.isStopped() || this.#links.get(peer) !== link) return;
        const refusal = codecRefusal(error);
        if (refusal !== undefined) {
          this.#host.apply(this.#host.state.refuse(peer, refusal, this.#clock.now()));
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
      if (this.#host.isStopped()) return;
      timeoutMs = undefined;
      const now = this.#clock.now();
      link.lastMessageAt = now;
      this.#metrics.messagesReceived++;
      let outputs: GossipOutput[];
      try {
        outputs = this.#host.state.handleMessage(peer, value, now);
      } catch (error) {
        // The state machine refuses bad input itself; anything it still throws was caused by
        // this remote's message, and ends only this remote's link.
        this.#detach(link, entry);
        channel.abort(asError(error));
        const reason = error instanceof Error ? error.message : String(error);
        this.#host.apply(
          this.#host.state.refuse(peer, new GossipProtocolError("malformed-message", reason), now),
        );
        return;
      }
      this.#host.apply(outputs);
    }
    // The remote closed its side: close ours after what is queued.
    this.#detach(link, entry);
    await link.chain;
    await channel.close().catch(() => {});
    if (this.#links.get(peer) === link && link.channels.length === 0 && !link.dialing) {
      this.#links.delete(peer);
      this.#peerLost(peer);
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
    this.#peerLost(link.peer);
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
    this.#peerLost(peer);
  }

  /** The overlay learns that `peer` is gone (unless the service stopped). */
  #peerLost(peer: NodeId): void {
    if (!this.#host.isStopped()) {
      this.#host.apply(this.#host.state.peerDisconnected(peer, this.#clock.now()));
    }
  }

  #linkUsage(): LinkUsage[] {
    const usage: LinkUsage[] = [];
    for (const link of this.#links.values()) {
      usage.push({
        peer: link.peer,
        lastMessageAt: link.lastMessageAt,
        neighbour: this.#host.state.isNeighbour(link.peer),
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

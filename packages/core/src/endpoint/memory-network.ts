import {
  framedChannel,
  type MessageChannel,
  type MessageChannelOptions,
  memoryDuplexPair,
} from "../codec/message-channel.ts";
import type { NodeId } from "../ids/node-id.ts";
import { DialFailedError, EndpointStoppedError, ProtocolNotSupportedError } from "./errors.ts";
import type { ProtocolEndpoint, ProtocolHandler } from "./protocol-endpoint.ts";

/**
 * An in-process network of {@link ProtocolEndpoint}s for fast tests and simulations: sessions
 * are in-memory pipes with the real framing and CBOR codec, so protocol code runs unchanged.
 * Nodes can be taken offline to test failures. No libp2p is involved, which makes it cheap
 * enough for hundreds of nodes; `createMemoryEndpoint` runs the real libp2p stack over an
 * in-memory transport instead.
 */
export class MemoryNetwork {
  readonly #endpoints = new Map<NodeId, MemoryEndpoint>();
  readonly #offline = new Set<NodeId>();
  readonly #cut = new Set<string>();
  /** Open sessions, so that taking a node off the network breaks them as a real outage would. */
  readonly #open = new Set<{
    readonly nodes: readonly NodeId[];
    readonly channels: MessageChannel[];
  }>();
  /** Sessions opened so far, per protocol name (for assertions in tests). */
  readonly sessionsOpened = new Map<string, number>();

  /** The endpoint of `nodeId` on this network (created on first use). */
  endpoint(nodeId: NodeId): MemoryEndpoint {
    let endpoint = this.#endpoints.get(nodeId);
    if (endpoint === undefined) {
      endpoint = new MemoryEndpoint(this, nodeId);
      this.#endpoints.set(nodeId, endpoint);
    }
    return endpoint;
  }

  /**
   * Takes a node off the network (`true`) or brings it back: dials to and from it fail, and its
   * open sessions break (both ends see a reset stream).
   */
  setOffline(nodeId: NodeId, offline: boolean): void {
    if (offline) {
      this.#offline.add(nodeId);
      this.breakSessions(nodeId);
    } else {
      this.#offline.delete(nodeId);
    }
  }

  /**
   * Cuts (`false`) or restores the link between two nodes only: dials between them fail and
   * their open sessions break; both stay reachable by everyone else.
   */
  setReachable(a: NodeId, b: NodeId, reachable: boolean): void {
    const key = pairKey(a, b);
    if (reachable) {
      this.#cut.delete(key);
      return;
    }
    this.#cut.add(key);
    for (const session of this.#open) {
      if (!(session.nodes.includes(a) && session.nodes.includes(b))) continue;
      this.#open.delete(session);
      const error = new DialFailedError(b, "link cut on the memory network");
      for (const channel of session.channels) channel.abort(error);
    }
  }

  /** @internal Resets every open session of `nodeId`. */
  breakSessions(nodeId: NodeId): void {
    for (const session of this.#open) {
      if (!session.nodes.includes(nodeId)) continue;
      this.#open.delete(session);
      const error = new DialFailedError(nodeId, "node left the memory network");
      for (const channel of session.channels) channel.abort(error);
    }
  }

  /** @internal Opens a session from `from` to `to`. */
  async open(
    from: NodeId,
    to: NodeId,
    protocolName: string,
    options: MessageChannelOptions | undefined,
  ): Promise<MessageChannel> {
    const target = this.#endpoints.get(to);
    if (
      target === undefined ||
      target.stopped ||
      this.#offline.has(to) ||
      this.#offline.has(from) ||
      this.#cut.has(pairKey(from, to))
    ) {
      throw new DialFailedError(to, "node is not reachable on the memory network");
    }
    const accepted = target.handlerOf(protocolName);
    if (accepted === undefined) throw new ProtocolNotSupportedError(to, protocolName);
    const [ours, theirs] = memoryDuplexPair();
    const inbound = framedChannel(from, theirs, accepted.options);
    const outbound = framedChannel(to, ours, options);
    this.#open.add({ nodes: [from, to], channels: [inbound, outbound] });
    this.sessionsOpened.set(protocolName, (this.sessionsOpened.get(protocolName) ?? 0) + 1);
    queueMicrotask(() => {
      Promise.resolve()
        .then(() => accepted.handler(inbound))
        .catch((error: unknown) =>
          inbound.abort(error instanceof Error ? error : new Error(String(error))),
        );
    });
    return outbound;
  }
}

/** One node's {@link ProtocolEndpoint} on a {@link MemoryNetwork}. */
export class MemoryEndpoint implements ProtocolEndpoint {
  readonly nodeId: NodeId;
  readonly #network: MemoryNetwork;
  readonly #handlers = new Map<
    string,
    { handler: ProtocolHandler; options: MessageChannelOptions }
  >();
  #stopped = false;

  constructor(network: MemoryNetwork, nodeId: NodeId) {
    this.#network = network;
    this.nodeId = nodeId;
  }

  /** Whether {@link MemoryEndpoint.stop} was called. */
  get stopped(): boolean {
    return this.#stopped;
  }

  accept(
    protocolName: string,
    handler: ProtocolHandler,
    options: MessageChannelOptions = {},
  ): void {
    this.#handlers.set(protocolName, { handler, options });
  }

  unaccept(protocolName: string): void {
    this.#handlers.delete(protocolName);
  }

  /**
   * The handler this endpoint accepts `protocolName` with, if any: how the network delivers a
   * connection. For the {@link MemoryNetwork} only.
   * @internal
   */
  handlerOf(
    protocolName: string,
  ): { handler: ProtocolHandler; options: MessageChannelOptions } | undefined {
    return this.#handlers.get(protocolName);
  }

  connect(
    nodeId: NodeId,
    protocolName: string,
    options?: MessageChannelOptions,
  ): Promise<MessageChannel> {
    if (this.#stopped) return Promise.reject(new EndpointStoppedError());
    return this.#network.open(this.nodeId, nodeId, protocolName, options);
  }

  /** Leaves the network: later dials to and from this node fail. */
  stop(): void {
    this.#stopped = true;
    this.#handlers.clear();
    this.#network.breakSessions(this.nodeId);
  }
}

function pairKey(a: NodeId, b: NodeId): string {
  return a < b ? `${a}:${b}` : `${b}:${a}`;
}

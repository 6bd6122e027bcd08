import { circuitRelayServer } from "@libp2p/circuit-relay-v2";
import {
  type Connection,
  KEEP_ALIVE,
  type Libp2pEvents,
  type PeerId,
  type PeerStore,
  type Startable,
  type TypedEventTarget,
} from "@libp2p/interface";
import { type Multiaddr, multiaddr } from "@multiformats/multiaddr";
import type { ServiceFactoryMap } from "libp2p";
import { InvalidInputError } from "../errors.ts";
import { NodeId } from "../ids/node-id.ts";

/** The circuit relay v2 protocol a relay serves (libp2p's `RELAY_V2_HOP_CODEC`). */
const HOP_PROTOCOL = "/libp2p/circuit/relay/0.2.0/hop";
/** The tag libp2p's relay client puts on a relay it reserved on, so that it is redialled. */
const RELAY_KEEP_ALIVE_TAG = `${KEEP_ALIVE}-circuit-relay`;

/**
 * How a browser node relays WebRTC signalling for its direct neighbours, and has them relay
 * for it, so that a new connection to another member of an overlay needs no bootstrap. Every
 * bound is tight: a neighbour's relay only has to carry one SDP offer, one answer and their ICE
 * candidates.
 */
export interface OverlayRelayOptions {
  /** Most neighbours we hold a reservation on (and so advertise a circuit through). Default 4. */
  readonly maxRelays?: number;
  /** Most neighbours that may hold a reservation on us. Default 8. */
  readonly maxReservations?: number;
  /** How long a reservation on us lasts before it is renewed. Default 30 min. */
  readonly reservationTtlMs?: number;
  /** Longest a circuit through us may stay open. Default 30 s. */
  readonly connectionDurationLimitMs?: number;
  /** Most bytes a circuit through us may carry, both ways together. Default 64 KiB. */
  readonly connectionDataLimitBytes?: number;
  /** Most relay requests served at once. Default 8. */
  readonly maxInboundHopStreams?: number;
}

/**
 * Defaults of {@link OverlayRelayOptions}. Signalling one WebRTC connection (Noise and identify
 * on the circuit, the offer, the answer and a dozen candidates) measured well under 16 KiB and a
 * second on a loaded machine; 64 KiB and 30 s leave room for a retry and nothing for data.
 */
export const DEFAULT_OVERLAY_RELAY_OPTIONS: Required<OverlayRelayOptions> = Object.freeze({
  maxRelays: 4,
  maxReservations: 8,
  reservationTtlMs: 30 * 60_000,
  connectionDurationLimitMs: 30_000,
  connectionDataLimitBytes: 64 * 1024,
  maxInboundHopStreams: 8,
});

/** Fills in and checks {@link OverlayRelayOptions}. @throws InvalidInputError */
export function overlayRelayOptions(
  options: OverlayRelayOptions = {},
): Required<OverlayRelayOptions> {
  const filled = { ...DEFAULT_OVERLAY_RELAY_OPTIONS, ...options };
  for (const [name, value] of Object.entries(filled)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new InvalidInputError(`overlay relay option ${name} must be a positive integer`);
    }
  }
  return filled;
}

/** What {@link overlaySignalling} gives the browser endpoint (`overlaySignalling` option). */
export interface OverlaySignalling {
  /** The neighbours we hold a reservation on. */
  readonly relays: OverlayRelays;
  /** The libp2p services: a tightly limited relay server and the reservation service. */
  readonly services: ServiceFactoryMap;
}

/**
 * Signalling through the overlay, for the browser endpoint's `overlaySignalling` option: the
 * node relays WebRTC signalling (never data) for its direct WebRTC neighbours and reserves a slot
 * on up to `maxRelays` of them, advertising `/p2p/<neighbour>/p2p-circuit/webrtc/p2p/<us>`, so
 * a node connected to one of those neighbours sets up a direct connection with us through it,
 * with no bootstrap. It is passed in rather than switched on by a flag so that an app which does
 * not use it does not ship libp2p's relay server.
 * @throws InvalidInputError on an option that is not a positive integer.
 */
export function overlaySignalling(options: OverlayRelayOptions = {}): OverlaySignalling {
  const o = overlayRelayOptions(options);
  const relays = new OverlayRelays(o.maxRelays);
  return {
    relays,
    services: {
      relay: circuitRelayServer({
        maxInboundHopStreams: o.maxInboundHopStreams,
        reservations: {
          maxReservations: o.maxReservations,
          reservationTtl: o.reservationTtlMs,
          applyDefaultLimit: true,
          defaultDurationLimit: o.connectionDurationLimitMs,
          defaultDataLimit: BigInt(o.connectionDataLimitBytes),
        },
      }),
      overlayRelays: relays.service(),
    },
  };
}

/** What the overlay relay service needs of libp2p's components. */
export interface OverlayRelayComponents {
  readonly events: TypedEventTarget<Libp2pEvents>;
  readonly peerStore: PeerStore;
  readonly transportManager: { listen(addresses: Multiaddr[]): Promise<void> };
  readonly connectionManager: { getConnections(peerId?: PeerId): Connection[] };
}

/**
 * The neighbours we hold a relay reservation on: once a direct WebRTC connection to a node that
 * relays (a browser node with its overlay relay on) is identified, we reserve a slot on it, up
 * to `maxRelays`, and advertise `/p2p/<neighbour>/p2p-circuit/webrtc/p2p/<us>`. A node connected
 * to that neighbour can then set up WebRTC with us through it, without the bootstrap.
 *
 * libp2p's relay client tags a relay so it is redialled when the connection drops; a neighbour
 * is not worth that (the idle-connection sweep closes connections it no longer needs, and the
 * overlay picks new neighbours), so the tag is taken off again.
 */
export class OverlayRelays {
  readonly maxRelays: number;
  /** Called when the set of relays changes (the endpoint re-publishes its addresses). */
  onChange: () => void = () => {};
  readonly #held = new Set<NodeId>();
  readonly #pending = new Set<NodeId>();

  constructor(maxRelays: number) {
    this.maxRelays = maxRelays;
  }

  /** Neighbours we hold a reservation on. */
  list(): NodeId[] {
    return [...this.#held];
  }

  /** Whether we hold a reservation on `id`. */
  has(id: NodeId): boolean {
    return this.#held.has(id);
  }

  /** The libp2p service that makes and tracks the reservations. */
  service(): (components: OverlayRelayComponents) => Startable {
    return (components) => new OverlayRelayService(this, components, this.#held, this.#pending);
  }
}

class OverlayRelayService implements Startable {
  readonly #relays: OverlayRelays;
  readonly #components: OverlayRelayComponents;
  readonly #held: Set<NodeId>;
  readonly #pending: Set<NodeId>;
  #running = false;

  constructor(
    relays: OverlayRelays,
    components: OverlayRelayComponents,
    held: Set<NodeId>,
    pending: Set<NodeId>,
  ) {
    this.#relays = relays;
    this.#components = components;
    this.#held = held;
    this.#pending = pending;
  }

  start(): void {
    this.#running = true;
    const events = this.#components.events;
    events.addEventListener("peer:identify", this.#onIdentify);
    events.addEventListener("connection:close", this.#onClose);
    events.addEventListener("peer:update", this.#onPeerUpdate);
  }

  stop(): void {
    this.#running = false;
    const events = this.#components.events;
    events.removeEventListener("peer:identify", this.#onIdentify);
    events.removeEventListener("connection:close", this.#onClose);
    events.removeEventListener("peer:update", this.#onPeerUpdate);
    this.#held.clear();
    this.#pending.clear();
  }

  readonly #onIdentify = (event: Libp2pEvents["peer:identify"]): void => {
    const { peerId, protocols, connection } = event.detail;
    // Only neighbours we reach over a direct WebRTC connection: the bootstrap (over WebSockets)
    // is reserved on by libp2p's own relay search, and a relay through a relay is refused.
    if (connection.limits !== undefined || !isWebRtc(connection.remoteAddr)) return;
    if (!protocols.includes(HOP_PROTOCOL)) return;
    let id: NodeId;
    try {
      id = NodeId.fromPeerId(peerId);
    } catch {
      return;
    }
    if (this.#held.has(id) || this.#pending.has(id)) return;
    if (this.#held.size + this.#pending.size >= this.#relays.maxRelays) return;
    this.#pending.add(id);
    this.#reserve(peerId)
      .then(() => {
        if (!this.#running || !this.#connected(peerId)) return;
        this.#held.add(id);
        this.#untag(peerId);
        this.#relays.onChange();
      })
      // Refused (the neighbour is full, or holds us to its rate) or the connection went: we
      // try again when a connection to it is identified anew.
      .catch(() => {})
      .finally(() => this.#pending.delete(id));
  };

  readonly #onClose = (event: Libp2pEvents["connection:close"]): void => {
    const connection = event.detail;
    let id: NodeId;
    try {
      id = NodeId.fromPeerId(connection.remotePeer);
    } catch {
      return;
    }
    // The reservation lived on that connection (libp2p drops it with the connection).
    if (!this.#held.has(id) || this.#connected(connection.remotePeer)) return;
    this.#held.delete(id);
    this.#relays.onChange();
  };

  readonly #onPeerUpdate = (event: Libp2pEvents["peer:update"]): void => {
    const { peer } = event.detail;
    let id: NodeId;
    try {
      id = NodeId.fromPeerId(peer.id);
    } catch {
      return;
    }
    // A renewed reservation tags the neighbour again.
    if (this.#held.has(id) && peer.tags.has(RELAY_KEEP_ALIVE_TAG)) this.#untag(peer.id);
  };

  /**
   * libp2p's relay transport makes a reservation when it is asked to listen on a circuit
   * through a given relay; it reuses our open connection to it. Its relay search tries every
   * new node that relays, and a request for a node it is trying joins that attempt, which fails
   * (`HadEnoughRelaysError`: the search needs no more relays, reported to us only as text):
   * then we ask again, a little later.
   */
  async #reserve(peerId: PeerId): Promise<void> {
    const address = multiaddr(`/p2p/${peerId.toString()}/p2p-circuit`);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#components.transportManager.listen([address]);
        return;
      } catch (error) {
        if (attempt >= RESERVE_ATTEMPTS || !this.#running) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    }
  }

  #connected(peerId: PeerId): boolean {
    return this.#components.connectionManager
      .getConnections(peerId)
      .some((c) => c.status === "open" && c.limits === undefined);
  }

  #untag(peerId: PeerId): void {
    this.#components.peerStore
      .merge(peerId, { tags: { [RELAY_KEEP_ALIVE_TAG]: undefined } })
      .catch(() => {});
  }
}

/** Reservation attempts on one neighbour per identified connection. */
const RESERVE_ATTEMPTS = 3;

function isWebRtc(address: Multiaddr): boolean {
  return address.getComponents().some((c) => c.name === "webrtc");
}

/**
 * The address through which a neighbour relays for `self`: `/p2p/<relay>/p2p-circuit/webrtc/p2p/<self>`.
 * It names no transport to the relay, so only nodes already connected to the relay can use it.
 */
export function overlayRelayAddress(relay: NodeId, self: NodeId): string {
  const peer = (id: NodeId): string => NodeId.toPeerId(id).toString();
  return `/p2p/${peer(relay)}/p2p-circuit/webrtc/p2p/${peer(self)}`;
}

/**
 * The relay of an overlay relay address (one that starts with `/p2p/<relay>/p2p-circuit`, with
 * no transport before it), or undefined for any other address.
 */
export function overlayRelayOf(address: string): NodeId | undefined {
  let components: ReturnType<Multiaddr["getComponents"]>;
  try {
    components = multiaddr(address).getComponents();
  } catch {
    return undefined;
  }
  const [relay, circuit] = components;
  if (relay?.name !== "p2p" || relay.value === undefined || circuit?.name !== "p2p-circuit") {
    return undefined;
  }
  try {
    return NodeId.fromPeerId(relay.value);
  } catch {
    return undefined;
  }
}

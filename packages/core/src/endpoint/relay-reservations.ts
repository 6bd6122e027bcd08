import type { Multiaddr } from "@multiformats/multiaddr";
import { NodeId } from "../ids/node-id.ts";

/** What changed in our reservations since the last {@link RelayReservations.update}. */
export interface RelayChanges {
  readonly gained: readonly NodeId[];
  readonly lost: readonly NodeId[];
}

/**
 * The relays we hold a reservation on, as our own addresses show them: libp2p adds a
 * `…/p2p/<relay>/p2p-circuit` address for each reservation and drops it when the reservation
 * ends, so reading the addresses is the one source that cannot disagree with what we advertise.
 */
export class RelayReservations {
  #relays = new Set<NodeId>();

  /** Whether we hold a reservation on `id`. */
  has(id: NodeId): boolean {
    return this.#relays.has(id);
  }

  /** Relays we hold a reservation on. */
  list(): NodeId[] {
    return [...this.#relays];
  }

  /** Takes our current addresses; returns the relays gained and lost since the last call. */
  update(addresses: Iterable<Multiaddr>): RelayChanges {
    const now = new Set<NodeId>();
    for (const address of addresses) {
      const relay = circuitRelayOf(address);
      if (relay !== undefined) now.add(relay);
    }
    const gained = [...now].filter((relay) => !this.#relays.has(relay));
    const lost = [...this.#relays].filter((relay) => !now.has(relay));
    this.#relays = now;
    return { gained, lost };
  }
}

/**
 * The relay of a circuit address (the `/p2p/<id>` right before `/p2p-circuit`), or undefined
 * when `address` is not a circuit or its relay is not an Ed25519 peer (not one of ours).
 */
export function circuitRelayOf(address: Multiaddr): NodeId | undefined {
  const components = address.getComponents();
  const circuit = components.findIndex((c) => c.name === "p2p-circuit");
  const relay = circuit > 0 ? components[circuit - 1] : undefined;
  if (relay?.name !== "p2p" || relay.value === undefined) return undefined;
  try {
    return NodeId.fromPeerId(relay.value);
  } catch {
    return undefined;
  }
}

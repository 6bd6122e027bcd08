import type { NodeId } from "../ids/node-id.ts";

/** What the idle rule needs to know of one open connection. */
export interface ConnectionActivity {
  /** libp2p's connection id. */
  readonly id: string;
  readonly remote: NodeId;
  /** Open streams of our protocols (libp2p's own, such as ping, do not count). */
  readonly sessions: number;
  /** A relayed connection (signalling only) or one to a node we keep (bootstrap, our relay). */
  readonly exempt: boolean;
}

/**
 * Decides which connections have been idle long enough to close. A discovery session leaves a
 * direct connection behind once it ends; without this, a tab on a busy topic collects one per
 * node its walkers met and a browser cannot hold hundreds. Connections that carry a session
 * (a gossip link, a live sync) are never idle; bootstrap and relay connections are exempt.
 *
 * Sans-IO: the endpoint samples its connections and feeds them in with the time.
 */
export class IdleConnections {
  readonly idleMs: number;
  readonly #idleSince = new Map<string, number>();

  constructor(idleMs: number) {
    this.idleMs = idleMs;
  }

  /** The ids of the connections to close now. */
  sweep(connections: Iterable<ConnectionActivity>, now: number): string[] {
    const seen = new Set<string>();
    const close: string[] = [];
    for (const connection of connections) {
      seen.add(connection.id);
      if (connection.exempt || connection.sessions > 0) {
        this.#idleSince.delete(connection.id);
        continue;
      }
      const since = this.#idleSince.get(connection.id);
      if (since === undefined) this.#idleSince.set(connection.id, now);
      else if (now - since >= this.idleMs) close.push(connection.id);
    }
    for (const id of this.#idleSince.keys()) if (!seen.has(id)) this.#idleSince.delete(id);
    return close;
  }
}

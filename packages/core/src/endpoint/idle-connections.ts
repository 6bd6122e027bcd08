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
  /**
   * A relayed connection with no stream open (its WebRTC signalling is over) to a node we hold
   * a direct connection to: it has done its job and is closed after {@link SUPERSEDED_GRACE_MS}.
   * Left open, each one holds a circuit on the relay until the relay's duration limit ends it
   * (2 min on our bootstrap), so a tab on a topic of n tabs kept n − 1 circuits there for nothing.
   */
  readonly superseded?: boolean;
}

/**
 * How long a superseded relayed connection stays open. Not at once: the side that answered a
 * WebRTC set-up closes its signalling stream before the dialling side has closed its own, and a
 * relayed connection closed in that moment failed the dialler's set-up after it had connected.
 */
export const SUPERSEDED_GRACE_MS = 5_000;

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
  /** Most non-exempt connections kept while some of them are idle; `0` = no cap. */
  readonly maxKept: number;
  readonly #idleSince = new Map<string, number>();
  readonly #supersededSince = new Map<string, number>();

  /**
   * `maxKept`: beyond this many non-exempt connections, idle ones are closed at once, longest
   * idle first, without waiting for `idleMs` (a busy connection is never closed for the cap).
   * In a topic of 16 tabs, each tab's walkers met every other tab within 30 s, and every tab
   * held 11 direct connections 40 s later.
   */
  constructor(idleMs: number, maxKept = 0) {
    this.idleMs = idleMs;
    this.maxKept = maxKept;
  }

  /** The ids of the connections to close now. */
  sweep(connections: Iterable<ConnectionActivity>, now: number): string[] {
    const seen = new Set<string>();
    const close: string[] = [];
    const idleKept: { id: string; since: number }[] = [];
    let kept = 0;
    for (const connection of connections) {
      seen.add(connection.id);
      if (connection.superseded === true) {
        const since = this.#supersededSince.get(connection.id) ?? now;
        this.#supersededSince.set(connection.id, since);
        if (now - since >= SUPERSEDED_GRACE_MS) {
          this.#idleSince.delete(connection.id);
          this.#supersededSince.delete(connection.id);
          close.push(connection.id);
          continue;
        }
      } else {
        this.#supersededSince.delete(connection.id);
      }
      if (connection.exempt) {
        this.#idleSince.delete(connection.id);
        continue;
      }
      if (connection.sessions > 0) {
        this.#idleSince.delete(connection.id);
        kept++;
        continue;
      }
      const since = this.#idleSince.get(connection.id) ?? now;
      this.#idleSince.set(connection.id, since);
      if (now - since >= this.idleMs) {
        close.push(connection.id);
      } else {
        kept++;
        idleKept.push({ id: connection.id, since });
      }
    }
    for (const id of this.#idleSince.keys()) if (!seen.has(id)) this.#idleSince.delete(id);
    for (const id of this.#supersededSince.keys()) {
      if (!seen.has(id)) this.#supersededSince.delete(id);
    }
    if (this.maxKept > 0 && kept > this.maxKept) {
      idleKept.sort((a, b) => a.since - b.since);
      for (const { id } of idleKept.slice(0, kept - this.maxKept)) close.push(id);
    }
    return close;
  }
}

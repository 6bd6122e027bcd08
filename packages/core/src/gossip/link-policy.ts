import type { NodeId } from "../ids/node-id.ts";

/** What the link policy needs to know of one open gossip link. */
export interface LinkUsage {
  readonly peer: NodeId;
  /** When the last message (not a keep-alive) arrived on the link, or when it opened. */
  readonly lastMessageAt: number;
  /** Whether any joined topic has the peer in its active view (the overlay needs the link). */
  readonly neighbour: boolean;
}

/**
 * Which link to close so that a new incoming one fits under the link cap, or `undefined` to
 * refuse the newcomer. Links the overlays need (active-view neighbours) are never evicted; of
 * the rest, the one quiet for the longest goes. Links cost a remote nothing to open, so without
 * eviction a crowd of silent identities could hold every slot and keep honest peers out; with
 * it, an honest peer's `join` always finds room and, once it is a neighbour, keeps it.
 */
export function linkToEvict(links: Iterable<LinkUsage>): NodeId | undefined {
  let oldest: LinkUsage | undefined;
  for (const link of links) {
    if (link.neighbour) continue;
    if (oldest === undefined || link.lastMessageAt < oldest.lastMessageAt) oldest = link;
  }
  return oldest?.peer;
}

/**
 * Links to close because no overlay needs them and they have carried no message for
 * `idleMs`: transient links (a shuffle, a forward-join) and peers that only send keep-alives.
 * They are dialled again when there is something to send.
 */
export function idleLinks(links: Iterable<LinkUsage>, now: number, idleMs: number): NodeId[] {
  const idle: NodeId[] = [];
  for (const link of links) {
    if (!link.neighbour && now - link.lastMessageAt >= idleMs) idle.push(link.peer);
  }
  return idle;
}

// The discovery section's map: this node in the middle, every known node on rings around it
// (as many rings as the count needs, so it scales from 2 to thousands of nodes), walkers on the
// node they are at with their trails, co-topic nodes highlighted, and this node's connections
// drawn as links coloured by transport. Labels are tooltips (<title>): with many nodes, printed
// labels would overlap.
import type { NodeId } from "@p2panda-web/core";
import { escapeHtml } from "./html.ts";

/** A point of the map, in its 0…SIZE square. */
export interface MapPoint {
  readonly x: number;
  readonly y: number;
}

/** The map's side in SVG units (it is scaled to its box). */
export const MAP_SIZE = 300;
/** Nodes on the first ring; ring k holds k times as many (its circumference grows with k). */
const FIRST_RING = 8;
const CENTRE: MapPoint = { x: MAP_SIZE / 2, y: MAP_SIZE / 2 };

/**
 * Places `ids` on rings around the centre: sorted, so a node keeps its place while others come
 * and go behind it; the outermost ring is spread evenly over the nodes it holds.
 */
export function layoutRings(ids: readonly NodeId[]): Map<NodeId, MapPoint> {
  const sorted = [...ids].sort();
  let rings = 0;
  for (let capacity = 0; capacity < sorted.length; ) capacity += FIRST_RING * ++rings;
  const step = (MAP_SIZE / 2 - 14) / Math.max(1, rings);
  const points = new Map<NodeId, MapPoint>();
  let index = 0;
  for (let ring = 1; ring <= rings; ring++) {
    const onRing = Math.min(FIRST_RING * ring, sorted.length - index);
    const radius = ring * step;
    // Each ring is turned a little against the one inside it, so spokes do not line up.
    const offset = ring * 0.37;
    for (let i = 0; i < onRing; i++) {
      const angle = offset + (2 * Math.PI * i) / onRing;
      points.set(sorted[index++] as NodeId, {
        x: CENTRE.x + radius * Math.cos(angle),
        y: CENTRE.y + radius * Math.sin(angle),
      });
    }
  }
  return points;
}

/** What the map draws. */
export interface NetworkMapInput {
  readonly me: NodeId;
  readonly known: readonly NodeId[];
  /** Known nodes that share a topic with this node. */
  readonly coTopic: ReadonlySet<NodeId>;
  readonly bootstrap: ReadonlySet<NodeId>;
  readonly stale: ReadonlySet<NodeId>;
  /** Open connections: remote and transport (several to one node: the first is drawn). */
  readonly links: readonly { readonly remote: NodeId; readonly transport: string }[];
  /** Each walker's node and trail (oldest first). */
  readonly walkers: readonly {
    readonly walker: number;
    readonly at?: NodeId;
    readonly trail: readonly NodeId[];
  }[];
}

const WALKER_COLOURS = ["#e8590c", "#7048e8", "#0ca678", "#d6336c", "#1c7ed6", "#f59f00"];

function round(n: number): string {
  return n.toFixed(1);
}

/** The map as an SVG string. */
export function renderNetworkMap(input: NetworkMapInput): string {
  const points = layoutRings(input.known.filter((id) => id !== input.me));
  const at = (id: NodeId): MapPoint | undefined => (id === input.me ? CENTRE : points.get(id));
  const parts: string[] = [];
  const linked = new Set<NodeId>();
  for (const link of input.links) {
    const p = points.get(link.remote);
    if (p === undefined || linked.has(link.remote)) continue;
    linked.add(link.remote);
    parts.push(
      `<line class="link transport-${escapeHtml(link.transport)}" x1="${CENTRE.x}" y1="${CENTRE.y}" x2="${round(p.x)}" y2="${round(p.y)}"><title>${escapeHtml(link.transport)}</title></line>`,
    );
  }
  for (const w of input.walkers) {
    const trail = w.trail.map(at).filter((p): p is MapPoint => p !== undefined);
    if (trail.length > 1) {
      const colour = WALKER_COLOURS[w.walker % WALKER_COLOURS.length];
      parts.push(
        `<polyline class="trail" stroke="${colour}" points="${trail.map((p) => `${round(p.x)},${round(p.y)}`).join(" ")}"/>`,
      );
    }
  }
  for (const [id, p] of points) {
    const classes = [
      "node",
      input.coTopic.has(id) ? "co-topic" : "",
      input.bootstrap.has(id) ? "bootstrap" : "",
      input.stale.has(id) ? "stale" : "",
    ]
      .filter((c) => c !== "")
      .join(" ");
    parts.push(
      `<circle class="${classes}" data-testid="inspector-map-node" data-node-id="${escapeHtml(id)}" cx="${round(p.x)}" cy="${round(p.y)}" r="5"><title>${escapeHtml(id)}</title></circle>`,
    );
  }
  parts.push(
    `<circle class="node me" cx="${CENTRE.x}" cy="${CENTRE.y}" r="7"><title>${escapeHtml(input.me)} (this node)</title></circle>`,
  );
  for (const w of input.walkers) {
    const p = w.at === undefined ? undefined : at(w.at);
    if (p === undefined) continue;
    // Walkers on one node fan out around it, so each stays visible.
    const angle = (w.walker * 2 * Math.PI) / 6;
    const colour = WALKER_COLOURS[w.walker % WALKER_COLOURS.length];
    parts.push(
      `<circle class="walker" data-testid="inspector-map-walker" data-at="${escapeHtml(w.at as string)}" fill="${colour}" cx="${round(p.x + 8 * Math.cos(angle))}" cy="${round(p.y + 8 * Math.sin(angle))}" r="3"><title>walker ${w.walker}</title></circle>`,
    );
  }
  return `<svg class="map" viewBox="0 0 ${MAP_SIZE} ${MAP_SIZE}" role="img" aria-label="network map">${parts.join("")}</svg>`;
}

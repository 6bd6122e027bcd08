// The network map of the discovery panel, drawn from plain data: this node in the middle, the
// nodes it knows on rings around it (map-layout.ts), its open connections as links coloured by
// transport, nodes that share the topic highlighted, and each random walker where it is with a
// trail of its last steps. Walker dots are kept between redraws so the browser animates a step.

import {
  CENTRE,
  LABEL_FONT_SIZE,
  layoutRings,
  MAP_SIZE,
  nodeRadius,
  placeLabels,
} from "./map-layout.ts";

const SVG = "http://www.w3.org/2000/svg";
/** Walker colours are CSS classes walker-0 … walker-3 (style.css). */
const WALKER_CLASSES = 4;

/** One known node as the map shows it. */
export interface MapNode {
  readonly id: string;
  readonly bootstrap: boolean;
  readonly stale: boolean;
  /** Shares the page's topic. */
  readonly coTopic: boolean;
}

/** What the map draws. */
export interface MapInput {
  readonly me: string;
  readonly nodes: readonly MapNode[];
  /** Open connections (several to one node: a direct one is drawn over a relayed one). */
  readonly links: readonly {
    readonly remote: string;
    readonly transport: string;
    readonly limited: boolean;
  }[];
  /** Each walker's node and trail (oldest first). */
  readonly walkers: readonly {
    readonly walker: number;
    readonly at?: string | undefined;
    readonly trail: readonly string[];
    readonly inSession: boolean;
  }[];
}

/** The label of a node: the start of its id. */
export function nodeLabel(id: string): string {
  return id.slice(0, 6);
}

/** Draws `input` into `svg` (its content is the map's: replaced on every call but the walkers). */
export function drawNetworkMap(svg: SVGSVGElement, input: MapInput): void {
  svg.setAttribute("viewBox", `0 0 ${MAP_SIZE} ${MAP_SIZE}`);
  const nodes = input.nodes.filter((n) => n.id !== input.me);
  const points = layoutRings(nodes.map((n) => n.id));
  const radius = nodeRadius(nodes.length);
  const labels = placeLabels(points, new Map(nodes.map((n) => [n.id, nodeLabel(n.id)])), radius);
  const at = (id: string | undefined) =>
    id === input.me ? CENTRE : id === undefined ? undefined : points.get(id);

  const links = layer(svg, "links");
  // Direct before relayed, unlimited before limited: the first link to a node is drawn.
  const ordered = [...input.links].sort(
    (a, b) =>
      Number(a.limited) - Number(b.limited) ||
      Number(a.transport === "relayed") - Number(b.transport === "relayed"),
  );
  const linked = new Set<string>();
  for (const link of ordered) {
    const p = points.get(link.remote);
    if (p === undefined || linked.has(link.remote)) continue;
    linked.add(link.remote);
    const line = element("line", {
      class: `link transport-${link.limited ? "relayed" : link.transport}`,
      "data-transport": link.transport,
      x1: CENTRE.x,
      y1: CENTRE.y,
      x2: round(p.x),
      y2: round(p.y),
    });
    line.append(title(link.limited ? `${link.transport} (limited)` : link.transport));
    links.append(line);
  }

  const trails = layer(svg, "trails");
  for (const w of input.walkers) {
    const trail = w.trail.map((id) => at(id)).filter((p) => p !== undefined);
    if (trail.length < 2) continue;
    trails.append(
      element("polyline", {
        class: `walker-trail walker-${w.walker % WALKER_CLASSES}`,
        points: trail.map((p) => `${round(p.x)},${round(p.y)}`).join(" "),
      }),
    );
  }

  const dots = layer(svg, "nodes");
  for (const n of nodes) {
    const p = points.get(n.id);
    if (p === undefined) continue;
    const g = element("g", {
      "data-testid": "known-node",
      "data-node-id": n.id,
      "data-bootstrap": String(n.bootstrap),
      class: [
        "known-node",
        n.bootstrap ? "bootstrap" : "",
        n.stale ? "stale" : "",
        n.coTopic ? "shares-topic" : "",
      ]
        .filter((c) => c !== "")
        .join(" "),
      transform: `translate(${round(p.x)} ${round(p.y)})`,
    });
    g.append(
      n.bootstrap
        ? element("rect", { x: -radius, y: -radius, width: 2 * radius, height: 2 * radius })
        : element("circle", { r: radius }),
      title(`${n.id}${n.bootstrap ? " (bootstrap)" : ""}${n.coTopic ? " · shares the topic" : ""}`),
    );
    const label = labels.get(n.id);
    if (label !== undefined) {
      const text = element("text", {
        class: "map-label",
        x: round(label.centre.x - p.x),
        y: round(label.centre.y - p.y),
        "font-size": LABEL_FONT_SIZE,
        "text-anchor": "middle",
        "dominant-baseline": "central",
      });
      text.textContent = nodeLabel(n.id);
      g.append(text);
    }
    dots.append(g);
  }
  const self = element("g", {
    class: "self-node",
    transform: `translate(${CENTRE.x} ${CENTRE.y})`,
  });
  self.append(element("circle", { r: radius + 2 }), title(`${input.me} (this node)`));
  dots.append(self);

  // Walker dots stay in the document between redraws, so a step is a CSS transition.
  const walkers = layer(svg, "walkers");
  const existing = new Map(
    [...walkers.querySelectorAll<SVGCircleElement>("circle.walker")].map((c) => [
      c.dataset.walker,
      c,
    ]),
  );
  const kept = new Set<SVGCircleElement>();
  for (const w of input.walkers) {
    const dot =
      existing.get(String(w.walker)) ??
      element("circle", { "data-testid": "walker", "data-walker": String(w.walker), r: 4 });
    dot.setAttribute("data-at", w.at ?? "");
    dot.setAttribute(
      "class",
      `walker walker-${w.walker % WALKER_CLASSES}${w.inSession ? " in-session" : ""}`,
    );
    const p = at(w.at) ?? CENTRE;
    // Walkers on one node fan out around it, so each stays visible.
    const angle = (w.walker * 2 * Math.PI) / 6 - Math.PI / 4;
    const offset = radius + 4;
    dot.style.transform = `translate(${round(p.x + offset * Math.cos(angle))}px, ${round(p.y + offset * Math.sin(angle))}px)`;
    kept.add(dot);
    if (dot.parentNode !== walkers) walkers.append(dot);
  }
  for (const dot of existing.values()) if (!kept.has(dot)) dot.remove();
}

function round(n: number): string {
  return n.toFixed(1);
}

/** Layers in drawing order: links under trails under nodes under walkers. */
const LAYERS = ["links", "trails", "nodes", "walkers"];

/**
 * The map's layer `name`, made on first use (all four, in order); every layer but the walkers'
 * comes back empty, to be drawn again.
 */
function layer(svg: SVGSVGElement, name: string): SVGGElement {
  if (svg.querySelector(":scope > g.walkers") === null) {
    svg.replaceChildren(...LAYERS.map((l) => element("g", { class: l })));
  }
  const g = svg.querySelector<SVGGElement>(`:scope > g.${name}`) as SVGGElement;
  if (name !== "walkers") g.replaceChildren();
  return g;
}

function title(text: string): SVGTitleElement {
  const t = document.createElementNS(SVG, "title");
  t.textContent = text;
  return t;
}

/** An SVG element with these attributes. */
export function element<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number>,
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) el.setAttribute(name, String(value));
  return el;
}

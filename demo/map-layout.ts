// Where the network map puts its nodes and their labels: pure geometry, no DOM. Nodes sit on
// rings around this node (ring k holds 8k of them, so the map scales from two nodes to hundreds
// without a force simulation that would move them on every redraw); each label takes the first
// free spot around its node, and a label with no free spot is left out (the node keeps its
// tooltip), so labels never overlap.

/** A point in the map's square, in SVG units. */
export interface Point {
  readonly x: number;
  readonly y: number;
}

/** An axis-aligned box, in SVG units. */
export interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** The map's side in SVG units (the SVG scales it to its box). */
export const MAP_SIZE = 400;
/** Label font size and the width of one of its (monospace) characters, in SVG units. */
export const LABEL_FONT_SIZE = 11;
/** 0.6 em is the advance of common monospace fonts; a little more leaves room for the others. */
const CHAR_WIDTH = LABEL_FONT_SIZE * 0.68;
const LABEL_HEIGHT = LABEL_FONT_SIZE * 1.3;
/** Nodes on the first ring. */
const FIRST_RING = 8;
/** Room kept at the map's edge for the outer ring's labels. */
const EDGE = 34;

/** The centre, where this node is drawn. */
export const CENTRE: Point = { x: MAP_SIZE / 2, y: MAP_SIZE / 2 };

/** Radius of a node's dot: smaller as the map fills. */
export function nodeRadius(count: number): number {
  return Math.max(3, Math.min(8, 9 - count / 20));
}

/**
 * Places `ids` on rings around the centre. Sorted, so a node keeps its place while nodes sorted
 * after it come and go; each ring is turned against the one inside so spokes do not line up.
 */
export function layoutRings(ids: readonly string[]): Map<string, Point> {
  const sorted = [...ids].sort();
  let rings = 0;
  for (let capacity = 0; capacity < sorted.length; ) capacity += FIRST_RING * ++rings;
  const step = (MAP_SIZE / 2 - EDGE) / Math.max(1, rings);
  const points = new Map<string, Point>();
  let index = 0;
  for (let ring = 1; ring <= rings; ring++) {
    const onRing = Math.min(FIRST_RING * ring, sorted.length - index);
    const radius = ring * step;
    const offset = -Math.PI / 2 + ring * 0.37;
    for (let i = 0; i < onRing; i++) {
      const angle = offset + (2 * Math.PI * i) / onRing;
      points.set(sorted[index++] as string, {
        x: CENTRE.x + radius * Math.cos(angle),
        y: CENTRE.y + radius * Math.sin(angle),
      });
    }
  }
  return points;
}

/** A label placed: its text's centre and the box it takes. */
export interface PlacedLabel {
  readonly centre: Point;
  readonly box: Box;
}

/** The box a label of `text` takes when centred on `centre`. */
export function labelBox(text: string, centre: Point): Box {
  const width = text.length * CHAR_WIDTH + 4;
  return {
    x: centre.x - width / 2,
    y: centre.y - LABEL_HEIGHT / 2,
    width,
    height: LABEL_HEIGHT,
  };
}

export function overlaps(a: Box, b: Box): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

function inside(box: Box): boolean {
  return (
    box.x >= 0 && box.y >= 0 && box.x + box.width <= MAP_SIZE && box.y + box.height <= MAP_SIZE
  );
}

/**
 * Places a label for each node in `texts` (node id → text) next to its point: outward from the
 * centre first, then to either side, then inward. A spot is free when it stays in the map and
 * covers no dot and no label placed before; nodes without a free spot get no label.
 */
export function placeLabels(
  points: ReadonlyMap<string, Point>,
  texts: ReadonlyMap<string, string>,
  radius: number,
): Map<string, PlacedLabel> {
  const dots: Box[] = [
    {
      x: CENTRE.x - radius - 2,
      y: CENTRE.y - radius - 2,
      width: 2 * radius + 4,
      height: 2 * radius + 4,
    },
  ];
  for (const p of points.values()) {
    dots.push({ x: p.x - radius, y: p.y - radius, width: 2 * radius, height: 2 * radius });
  }
  const placed = new Map<string, PlacedLabel>();
  const taken: Box[] = [];
  // Inner rings first: they are the fewest and the most looked at.
  const order = [...points].sort(
    ([, a], [, b]) => distance(a, CENTRE) - distance(b, CENTRE) || a.y - b.y || a.x - b.x,
  );
  for (const [id, p] of order) {
    const text = texts.get(id);
    if (text === undefined) continue;
    const outward = Math.atan2(p.y - CENTRE.y, p.x - CENTRE.x);
    const size = labelBox(text, p);
    for (const turn of [0, Math.PI / 2, -Math.PI / 2, Math.PI / 4, -Math.PI / 4, Math.PI]) {
      const angle = outward + turn;
      // Far enough along `angle` that the box clears the dot, whichever side it is on.
      // (The gap leaves room for the walker dots that sit around a node.)
      const reach =
        radius +
        9 +
        Math.min(
          Math.abs(size.width / 2 / (Math.cos(angle) || 1e-9)),
          Math.abs(size.height / 2 / (Math.sin(angle) || 1e-9)),
        );
      const centre = { x: p.x + reach * Math.cos(angle), y: p.y + reach * Math.sin(angle) };
      const box = labelBox(text, centre);
      if (!inside(box) || dots.some((d) => overlaps(d, box)) || taken.some((t) => overlaps(t, box)))
        continue;
      placed.set(id, { centre, box });
      taken.push(box);
      break;
    }
  }
  return placed;
}

function distance(a: Point, b: Point): number {
  return Math.hypot(a.x - b.x, a.y - b.y);
}

// Checks of the demo page's layout, measured in the page: what a person would see as broken
// (a page wider than the window, a panel cut off, map labels on top of each other).
import type { Page } from "@playwright/test";

/** Two rectangles share more than half a pixel each way. */
interface Rect {
  readonly left: number;
  readonly top: number;
  readonly right: number;
  readonly bottom: number;
}

/**
 * What is wrong with the page's layout at its current viewport, as sentences (empty: nothing):
 * horizontal overflow of the page or of a panel, and map labels whose boxes intersect.
 */
export function layoutProblems(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const problems: string[] = [];
    const width = window.innerWidth;
    const doc = document.documentElement;
    if (doc.scrollWidth > width) problems.push(`page is ${doc.scrollWidth} px wide in ${width}`);
    for (const panel of document.querySelectorAll<HTMLElement>(".panel")) {
      const r = panel.getBoundingClientRect();
      if (r.left < -0.5 || r.right > width + 0.5) {
        problems.push(`#${panel.id} spans ${Math.round(r.left)}…${Math.round(r.right)} px`);
      }
      if (panel.scrollWidth > panel.clientWidth + 1) {
        problems.push(`#${panel.id} overflows: ${panel.scrollWidth} px in ${panel.clientWidth}`);
      }
    }
    const labels = [
      ...document.querySelectorAll<SVGTextElement>('[data-testid="network-map"] .map-label'),
    ];
    const boxes: Rect[] = labels.map((l) => l.getBoundingClientRect());
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i] as Rect;
        const b = boxes[j] as Rect;
        const apart =
          a.right <= b.left + 0.5 ||
          b.right <= a.left + 0.5 ||
          a.bottom <= b.top + 0.5 ||
          b.bottom <= a.top + 0.5;
        if (!apart) {
          problems.push(
            `map labels ${labels[i]?.textContent} and ${labels[j]?.textContent} overlap`,
          );
        }
      }
    }
    return problems;
  });
}

/**
 * Draws the demo's network map (demo/network-map.ts, loaded from the demo's dev server) with
 * `count` made-up nodes into a new SVG as large as the page's map, measures its labels and
 * removes it. Returns how many labels were drawn, and the pairs that overlap or leave the map.
 */
export function crowdedMapLabels(
  page: Page,
  count: number,
): Promise<{ nodes: number; labels: number; problems: string[] }> {
  return page.evaluate(async (count) => {
    const module = "/network-map.ts";
    const { drawNetworkMap } = (await import(/* @vite-ignore */ module)) as {
      drawNetworkMap: (svg: SVGSVGElement, input: unknown) => void;
    };
    // A multiplicative hash spreads the made-up ids over the ring order (odd factor: unique).
    const hex = (i: number) =>
      (Math.imul(i, 2_654_435_761) >>> 0).toString(16).padStart(8, "0").repeat(8);
    const map = document.querySelector<SVGSVGElement>('[data-testid="network-map"]');
    const size = map?.getBoundingClientRect().width ?? 400;
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("class", "network-map");
    svg.style.cssText = `position:fixed;left:0;top:0;width:${size}px;height:${size}px`;
    document.body.append(svg);
    const nodes = Array.from({ length: count }, (_, i) => ({
      id: hex(i + 1),
      bootstrap: i === 0,
      stale: i % 7 === 3,
      coTopic: i % 3 === 0,
    }));
    drawNetworkMap(svg, {
      me: "ff".repeat(32),
      nodes,
      links: nodes.slice(0, 6).map((n, i) => ({
        remote: n.id,
        transport: ["webrtc", "websockets", "relayed"][i % 3],
        limited: false,
      })),
      walkers: [
        { walker: 0, at: nodes[1]?.id, trail: nodes.slice(1, 5).map((n) => n.id), inSession: true },
      ],
    });
    const outer = svg.getBoundingClientRect();
    const labels = [...svg.querySelectorAll<SVGTextElement>(".map-label")];
    const boxes = labels.map((l) => l.getBoundingClientRect());
    const problems: string[] = [];
    for (let i = 0; i < boxes.length; i++) {
      const a = boxes[i] as DOMRect;
      if (
        a.left < outer.left - 0.5 ||
        a.right > outer.right + 0.5 ||
        a.top < outer.top - 0.5 ||
        a.bottom > outer.bottom + 0.5
      ) {
        problems.push(`label ${labels[i]?.textContent} leaves the map`);
      }
      for (let j = i + 1; j < boxes.length; j++) {
        const b = boxes[j] as DOMRect;
        const apart =
          a.right <= b.left + 0.5 ||
          b.right <= a.left + 0.5 ||
          a.bottom <= b.top + 0.5 ||
          b.bottom <= a.top + 0.5;
        if (!apart)
          problems.push(`labels ${labels[i]?.textContent} and ${labels[j]?.textContent} overlap`);
      }
    }
    const drawn = svg.querySelectorAll('[data-testid="known-node"]').length;
    svg.remove();
    return { nodes: drawn, labels: labels.length, problems };
  }, count);
}

/** The relative luminance (0 black … 1 white) of an element's computed background colour. */
export function backgroundLuminance(page: Page, selector: string): Promise<number> {
  return page.evaluate((selector) => {
    const element = document.querySelector(selector);
    if (element === null) throw new Error(`no ${selector}`);
    const [r, g, b] = (getComputedStyle(element).backgroundColor.match(/[\d.]+/g) ?? []).map(
      Number,
    );
    const channel = (c: number) => {
      const s = c / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * channel(r ?? 0) + 0.7152 * channel(g ?? 0) + 0.0722 * channel(b ?? 0);
  }, selector);
}

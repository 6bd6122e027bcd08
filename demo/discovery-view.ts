// The discovery panel: the network this node knows (from its address book), where each random
// walker is with a trail of its last steps, a log of sessions, and a live plot of sessions per
// second and newly learned nodes. Everything is drawn from the address book and the discovery
// service's events; nothing here talks to the network.
import type { AddressBook } from "@p2panda-web/address-book";
import { isStale, type NodeId, type Topic } from "@p2panda-web/core";
import type { DiscoveryEvent, DiscoveryService, WalkerPosition } from "@p2panda-web/core/discovery";

const SVG = "http://www.w3.org/2000/svg";
const SIZE = 320;
const RADIUS = 130;
const LOG_LENGTH = 60;
const PLOT_SECONDS = 60;

export interface DiscoveryViewElements {
  map: SVGSVGElement;
  log: HTMLElement;
  plot: SVGSVGElement;
  summary: HTMLElement;
}

/** Draws the panel and keeps it current until the service stops. */
export function renderDiscovery(
  discovery: DiscoveryService,
  addressBook: AddressBook,
  me: NodeId,
  topic: Topic,
  elements: DiscoveryViewElements,
): void {
  const perSecond: { sessions: number; learned: number }[] = [];
  let bucket = { sessions: 0, learned: 0 };

  const positions = (): Map<NodeId, { x: number; y: number }> => {
    const nodes = addressBook
      .allNodeInfos()
      .map((n) => n.nodeId)
      .filter((id) => id !== me)
      .sort();
    const out = new Map<NodeId, { x: number; y: number }>();
    out.set(me, { x: SIZE / 2, y: SIZE / 2 });
    nodes.forEach((id, i) => {
      const angle = (2 * Math.PI * i) / Math.max(nodes.length, 1) - Math.PI / 2;
      out.set(id, {
        x: SIZE / 2 + RADIUS * Math.cos(angle),
        y: SIZE / 2 + RADIUS * Math.sin(angle),
      });
    });
    return out;
  };

  const drawMap = (walkers: readonly WalkerPosition[]): void => {
    const at = positions();
    const children: SVGElement[] = [];
    for (const info of addressBook.allNodeInfos()) {
      if (info.nodeId === me) continue;
      const p = at.get(info.nodeId);
      if (p === undefined) continue;
      const g = svg("g", {
        "data-testid": "known-node",
        "data-node-id": info.nodeId,
        "data-bootstrap": String(info.bootstrap),
        class: [
          "known-node",
          info.bootstrap ? "bootstrap" : "",
          isStale(info) ? "stale" : "",
          addressBook.nodeTopics(info.nodeId).has(topic) ? "shares-topic" : "",
        ].join(" "),
        transform: `translate(${p.x} ${p.y})`,
      });
      g.append(
        info.bootstrap
          ? svg("rect", { x: -7, y: -7, width: 14, height: 14 })
          : svg("circle", { r: 7 }),
      );
      const label = svg("text", { y: 20, "text-anchor": "middle" });
      label.textContent = info.nodeId.slice(0, 6);
      g.append(label);
      children.push(g);
    }
    const self = svg("g", {
      class: "self-node",
      transform: `translate(${SIZE / 2} ${SIZE / 2})`,
    });
    self.append(svg("circle", { r: 9 }));
    children.push(self);
    for (const w of walkers) {
      const trail = w.trail.map((id) => at.get(id)).filter((p) => p !== undefined);
      if (trail.length > 1) {
        children.push(
          svg("polyline", {
            class: `walker-trail walker-${w.walker}`,
            points: trail.map((p) => `${p.x},${p.y}`).join(" "),
          }),
        );
      }
      const p = (w.at !== undefined ? at.get(w.at) : undefined) ?? { x: SIZE / 2, y: SIZE / 2 };
      const dot = svg("circle", {
        "data-testid": "walker",
        "data-walker": String(w.walker),
        "data-at": w.at ?? "",
        class: `walker walker-${w.walker}${w.inSession ? " in-session" : ""}`,
        r: 5,
      });
      // Moved with a CSS transform so the browser animates the step.
      dot.style.transform = `translate(${p.x + (w.walker ? 6 : -6)}px, ${p.y - 6}px)`;
      children.push(dot);
    }
    elements.map.replaceChildren(...children);
    const known = addressBook.allNodeInfos().filter((n) => n.nodeId !== me);
    const sharing = known.filter((n) => addressBook.nodeTopics(n.nodeId).has(topic)).length;
    elements.summary.textContent = `${known.length} known, ${sharing} share the topic`;
  };

  const log = (event: DiscoveryEvent): void => {
    const li = document.createElement("li");
    li.dataset.testid = "session-log-entry";
    li.dataset.type = event.type;
    const time = new Date(event.at).toLocaleTimeString();
    switch (event.type) {
      case "discovery:session-ended":
        li.textContent = `${time} ${event.role} ${event.remoteNodeId.slice(0, 8)}: ${event.result.topics.size} shared topic(s), ${event.newlyLearned} new node(s), ${Math.round(event.durationMs)} ms`;
        break;
      case "discovery:session-failed":
        li.className = "failed";
        // The reason, and what went wrong underneath (a dial that failed, a stream reset, …).
        li.textContent = `${time} ${event.role} ${event.remoteNodeId.slice(0, 8)} failed: ${event.reason} (${event.error.message})`;
        break;
      default:
        return;
    }
    elements.log.prepend(li);
    while (elements.log.childElementCount > LOG_LENGTH) elements.log.lastElementChild?.remove();
  };

  const drawPlot = (): void => {
    const series = [...perSecond, bucket];
    const max = Math.max(1, ...series.map((s) => Math.max(s.sessions, s.learned)));
    const line = (pick: (s: { sessions: number; learned: number }) => number) =>
      series.map((s, i) => `${(i / PLOT_SECONDS) * 300},${60 - (pick(s) / max) * 56}`).join(" ");
    elements.plot.replaceChildren(
      svg("polyline", { class: "plot-sessions", points: line((s) => s.sessions) }),
      svg("polyline", { class: "plot-learned", points: line((s) => s.learned) }),
    );
  };

  discovery.events$.subscribe((event) => {
    if (event.type === "discovery:session-ended") {
      bucket.sessions++;
      bucket.learned += event.newlyLearned;
    } else if (event.type === "discovery:session-failed") {
      bucket.sessions++;
    }
    log(event);
    drawMap(discovery.walkers());
  });
  discovery.walkers$.subscribe((walkers) => drawMap(walkers));
  const tick = setInterval(() => {
    perSecond.push(bucket);
    if (perSecond.length > PLOT_SECONDS) perSecond.shift();
    bucket = { sessions: 0, learned: 0 };
    drawPlot();
    // Staleness and topics change without a discovery event (connection reports, watchers).
    drawMap(discovery.walkers());
  }, 1_000);
  discovery.walkers$.subscribe({ complete: () => clearInterval(tick) });
}

function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number>,
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) el.setAttribute(name, String(value));
  return el;
}

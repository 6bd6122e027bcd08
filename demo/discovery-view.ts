// The discovery panel: the network this node knows (from its address book) on a map
// (network-map.ts) with this node's connections and where each random walker is, a log of
// sessions, and a live plot of sessions per second and newly learned nodes. Everything is drawn
// from the address book, the endpoint's connection list and the discovery service's events;
// nothing here talks to the network.
import type { AddressBook } from "@p2panda-web/address-book";
import { isStale, type NodeId, type Topic } from "@p2panda-web/core";
import type { DiscoveryEvent, DiscoveryService, WalkerPosition } from "@p2panda-web/core/discovery";
import type { ConnectionSummary } from "@p2panda-web/core/endpoint";
import { drawNetworkMap, element as svg } from "./network-map.ts";

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
  /** The node's open connections, drawn as links (the endpoint's `connections()`). */
  connections: () => readonly ConnectionSummary[] = () => [],
): void {
  const perSecond: { sessions: number; learned: number }[] = [];
  let bucket = { sessions: 0, learned: 0 };

  const drawMap = (walkers: readonly WalkerPosition[]): void => {
    const known = addressBook.allNodeInfos().filter((n) => n.nodeId !== me);
    const nodes = known.map((info) => ({
      id: info.nodeId,
      bootstrap: info.bootstrap,
      stale: isStale(info),
      coTopic: addressBook.nodeTopics(info.nodeId).has(topic),
    }));
    drawNetworkMap(elements.map, { me, nodes, links: connections(), walkers });
    const sharing = nodes.filter((n) => n.coTopic).length;
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

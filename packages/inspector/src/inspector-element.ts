import type { Subscription } from "rxjs";
import { eventsToJson } from "./event-json.ts";
import type { InspectedNode } from "./inspected-node.ts";
import { InspectorState, type MessageOrigin } from "./inspector-state.ts";
import type { InspectorLimits } from "./limits.ts";
import {
  type NodeSnapshot,
  renderAddressBook,
  renderConnections,
  renderDiscovery,
  renderErrors,
  renderGossip,
  renderNode,
  renderSync,
} from "./render.ts";
import { INSPECTOR_CSS } from "./styles.ts";

/** See {@link P2pandaInspectorElement.renderStats}. */
export interface InspectorRenderStats {
  /** Redraws so far. */
  readonly count: number;
  /** Time spent in them, in ms. */
  readonly totalMs: number;
  /** The longest one, in ms. */
  readonly maxMs: number;
}

/** The sections, in the order shown; each is a `<section data-section=…>`. */
const SECTIONS = ["node", "connections", "address-book", "discovery", "gossip", "sync", "errors"];

/** How often ages and the polled parts (address book, walkers, views) are redrawn, in ms. */
const TICK_MS = 1_000;

/**
 * `<p2panda-inspector>`: shows a node live (addresses, connections, address book, discovery,
 * gossip overlays, sync sessions, errors) in its own shadow root. Set {@link node} to attach it.
 * Redraws are coalesced to at most one per animation frame however many events arrive, and
 * every list is bounded ({@link InspectorLimits}). It reads only the node's public API.
 */
export class P2pandaInspectorElement extends HTMLElement {
  #node: InspectedNode | undefined;
  #state = new InspectorState();
  #limits: Partial<InspectorLimits> = {};
  #messageOrigin: MessageOrigin | undefined;
  #subscription: Subscription | undefined;
  #frame: number | undefined;
  #tick: ReturnType<typeof setInterval> | undefined;
  #sections = new Map<string, HTMLElement>();
  /** The HTML each section was last drawn from (innerHTML read back is normalised). */
  #drawn = new Map<string, string>();
  #renders = 0;
  #renderMs = 0;
  #maxRenderMs = 0;

  /** The node shown; setting another starts over with an empty event history. */
  get node(): InspectedNode | undefined {
    return this.#node;
  }

  /** Shows `node` (or nothing): unsubscribes from the one before and forgets its events. */
  set node(node: InspectedNode | undefined) {
    this.#unsubscribe();
    this.#node = node;
    this.#state = new InspectorState(this.#limits, this.#messageOrigin);
    if (this.isConnected) this.#subscribe();
    this.#schedule();
  }

  /** How many list entries are kept; applies from the next {@link node} set. */
  set limits(limits: Partial<InspectorLimits>) {
    this.#limits = limits;
  }

  /**
   * Reads a gossip message's author from its content, so message paths start at their origin
   * (gossip carries no author; an app that puts one in its messages can say); applies from the
   * next {@link node} set.
   */
  set messageOrigin(read: MessageOrigin | undefined) {
    this.#messageOrigin = read;
  }

  /** Redraws done so far (each draws every section once): what "coalesced" is measured by. */
  get renderCount(): number {
    return this.#renders;
  }

  /** What drawing cost so far: redraws, and their total and longest time in ms. */
  get renderStats(): InspectorRenderStats {
    return { count: this.#renders, totalMs: this.#renderMs, maxMs: this.#maxRenderMs };
  }

  /** The recent events as JSON, as the export button downloads them. */
  exportJson(): string {
    return eventsToJson(
      this.#node?.identity.nodeId ?? "",
      this.#state.events,
      this.#state.eventCount,
      Date.now(),
    );
  }

  /** Custom element callback: subscribes to the node and starts drawing. */
  connectedCallback(): void {
    if (this.shadowRoot === null) this.#build();
    this.#subscribe();
    this.#tick = setInterval(() => this.#schedule(), TICK_MS);
    this.#schedule();
  }

  /** Custom element callback: unsubscribes and stops drawing (the state stays until reattached). */
  disconnectedCallback(): void {
    this.#unsubscribe();
    if (this.#tick !== undefined) clearInterval(this.#tick);
    this.#tick = undefined;
    if (this.#frame !== undefined) cancelAnimationFrame(this.#frame);
    this.#frame = undefined;
  }

  #build(): void {
    const root = this.attachShadow({ mode: "open" });
    const style = document.createElement("style");
    style.textContent = INSPECTOR_CSS;
    const header = document.createElement("header");
    const title = document.createElement("h1");
    title.textContent = "p2panda inspector";
    const exportButton = document.createElement("button");
    exportButton.type = "button";
    exportButton.dataset.testid = "inspector-export";
    exportButton.textContent = "Export events";
    exportButton.title = "Download the recent events as JSON (for a bug report)";
    exportButton.addEventListener("click", () => this.#download());
    header.append(title, exportButton);
    const body = document.createElement("div");
    body.className = "sections";
    for (const name of SECTIONS) {
      const section = document.createElement("section");
      section.dataset.section = name;
      section.dataset.testid = `inspector-${name}`;
      this.#sections.set(name, section);
      body.append(section);
    }
    root.append(style, header, body);
  }

  #subscribe(): void {
    if (this.#node === undefined || this.#subscription !== undefined) return;
    this.#subscription = this.#node.events$.subscribe({
      next: (event) => {
        this.#state.apply(event);
        this.#schedule();
      },
      // The node stopped (or its stream failed): draw what is left.
      complete: () => this.#schedule(),
      error: () => this.#schedule(),
    });
  }

  #unsubscribe(): void {
    this.#subscription?.unsubscribe();
    this.#subscription = undefined;
  }

  #schedule(): void {
    if (this.#frame !== undefined || !this.isConnected) return;
    this.#frame = requestAnimationFrame(() => {
      this.#frame = undefined;
      this.#render();
    });
  }

  #render(): void {
    const node = this.#node;
    if (node === undefined) {
      this.#set("node", `<h2>Node</h2><p class="empty">no node attached</p>`);
      return;
    }
    this.#renders++;
    const started = performance.now();
    const s = snapshot(node);
    if (s.syncSessions !== undefined) this.#state.adoptSyncSessions(s.syncSessions, s.now);
    this.#set("node", renderNode(s));
    this.#set("connections", renderConnections(s, this.#state));
    this.#set("address-book", renderAddressBook(s));
    this.#set("discovery", renderDiscovery(s, this.#state));
    this.#set("gossip", renderGossip(s, this.#state));
    this.#set("sync", renderSync(s, this.#state));
    this.#set("errors", renderErrors(this.#state));
    const took = performance.now() - started;
    this.#renderMs += took;
    this.#maxRenderMs = Math.max(this.#maxRenderMs, took);
  }

  /** Replaces a section's content only when it changed (keeps scroll positions and selection). */
  #set(name: string, html: string): void {
    const section = this.#sections.get(name);
    if (section === undefined || this.#drawn.get(name) === html) return;
    section.innerHTML = html;
    this.#drawn.set(name, html);
  }

  #download(): void {
    const blob = new Blob([this.exportJson()], { type: "application/json" });
    const url = URL.createObjectURL(blob);
    const link = document.createElement("a");
    link.href = url;
    link.download = `p2panda-events-${Date.now()}.json`;
    link.click();
    // The click starts the download synchronously; the URL is not needed after it.
    setTimeout(() => URL.revokeObjectURL(url), 0);
  }
}

/** Reads what one redraw needs from the node's query methods. */
function snapshot(node: InspectedNode): NodeSnapshot {
  const book = node.addressBook;
  return {
    now: Date.now(),
    nodeId: node.identity.nodeId,
    addresses: node.endpoint.addresses?.(),
    connections: node.endpoint.connections?.(),
    nodeInfos: book.allNodeInfos(),
    nodeTopics: (id) => book.nodeTopics(id),
    walkers: node.has("discovery") ? node.discovery.walkers() : undefined,
    gossipTopics: node.has("gossip")
      ? node.gossip.topics.map((topic) => ({
          topic,
          neighbours: node.gossip.neighbours(topic),
          overlay: node.gossip.overlay?.(topic),
        }))
      : undefined,
    syncSessions: node.has("sync") ? node.sync.sessions() : undefined,
  };
}

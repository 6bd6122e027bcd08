// The inspector's sections as HTML strings: one function per section, from a snapshot of the
// node's state. Strings instead of DOM calls keep a redraw to one `innerHTML` per section; every
// value from the network goes through `escape`.
import { isStale, type NodeId, type NodeInfo, type Topic } from "@p2panda-web/core";
import type { WalkerPosition } from "@p2panda-web/core/discovery";
import type { ConnectionSummary } from "@p2panda-web/core/endpoint";
import type { GossipOverlay } from "@p2panda-web/core/gossip";
import type { SyncSessionInfo } from "@p2panda-web/core/sync";
import { escapeHtml } from "./html.ts";
import type { GossipMessageEntry, InspectorState, SyncSessionEntry } from "./inspector-state.ts";
import { renderNetworkMap } from "./network-map.ts";

/** What one redraw reads from the node (its query methods), next to the state from events. */
export interface NodeSnapshot {
  readonly now: number;
  readonly nodeId: NodeId;
  readonly addresses: readonly string[] | undefined;
  readonly connections: readonly ConnectionSummary[] | undefined;
  readonly nodeInfos: readonly NodeInfo[];
  readonly nodeTopics: (id: NodeId) => ReadonlySet<Topic>;
  /** Undefined when the node runs no such service. */
  readonly walkers: readonly WalkerPosition[] | undefined;
  readonly gossipTopics:
    | readonly {
        topic: Topic;
        neighbours: readonly NodeId[];
        overlay: GossipOverlay | undefined;
      }[]
    | undefined;
  readonly syncSessions: readonly SyncSessionInfo[] | undefined;
}

/** Rows shown per list at most (the state keeps a few more for the export). */
const ROWS = 50;

function short(id: string): string {
  return id.length > 12 ? `${id.slice(0, 8)}…` : id;
}

function node(id: NodeId, testid?: string): string {
  const attrs =
    testid === undefined ? "" : ` data-testid="${testid}" data-node-id="${escapeHtml(id)}"`;
  return `<code title="${escapeHtml(id)}"${attrs}>${escapeHtml(short(id))}</code>`;
}

function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  return `${Math.floor(s / 3600)} h`;
}

/** `1 hop`, `2 hops`. */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

function list(items: readonly string[], empty: string): string {
  if (items.length === 0) return `<p class="empty">${escapeHtml(empty)}</p>`;
  return `<ul>${items.join("")}</ul>`;
}

export function renderNode(s: NodeSnapshot): string {
  const addresses = s.addresses?.map((a) => `<li><code>${escapeHtml(a)}</code></li>`) ?? [];
  return `<h2>Node</h2>
<p><code data-testid="inspector-node-id" data-node-id="${escapeHtml(s.nodeId)}">${escapeHtml(s.nodeId)}</code></p>
<h3>Addresses</h3>${list(addresses, s.addresses === undefined ? "not listed by this endpoint" : "none yet")}`;
}

export function renderConnections(s: NodeSnapshot, state: InspectorState): string {
  const connections = s.connections ?? [];
  const byTransport = new Map<string, ConnectionSummary[]>();
  for (const c of connections) {
    const key = c.limited ? `${c.transport} (limited)` : c.transport;
    byTransport.set(key, [...(byTransport.get(key) ?? []), c]);
  }
  const groups = [...byTransport]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(
      ([transport, cs]) =>
        `<h3>${escapeHtml(transport)} <span class="muted">${cs.length}</span></h3>${list(
          cs
            .slice(0, ROWS)
            .map(
              (c) =>
                `<li data-testid="inspector-connection" data-transport="${escapeHtml(c.transport)}">${node(c.remote)}<span class="badge">${c.direction}</span><span class="grow muted">${escapeHtml(c.remoteAddress)}</span><span>${age(s.now - state.connectionSince(c.remote, c.remoteAddress, s.now))}</span></li>`,
            ),
          "",
        )}`,
    );
  const empty = s.connections === undefined ? "not listed by this endpoint" : "no connections";
  return `<h2>Connections <span>${connections.length}</span></h2>${groups.length === 0 ? `<p class="empty">${empty}</p>` : groups.join("")}`;
}

export function renderAddressBook(s: NodeSnapshot): string {
  const others = s.nodeInfos.filter((info) => info.nodeId !== s.nodeId);
  const stale = others.filter((info) => isStale(info)).length;
  const own = s.nodeTopics(s.nodeId);
  const rows = others.slice(0, ROWS).map((info) => {
    const shared = [...s.nodeTopics(info.nodeId)].filter((t) => own.has(t)).length;
    const flags = [
      info.bootstrap ? `<span class="badge">bootstrap</span>` : "",
      isStale(info) ? `<span class="badge warn">stale</span>` : "",
    ].join("");
    return `<li data-testid="inspector-known-node" data-node-id="${escapeHtml(info.nodeId)}">${node(info.nodeId)}${flags}<span class="grow"></span><span class="muted">${plural(shared, "shared topic")}</span></li>`;
  });
  return `<h2>Address book <span>${others.length} known · ${stale} stale</span></h2>${list(rows, "no other node known")}`;
}

export function renderDiscovery(s: NodeSnapshot, state: InspectorState): string {
  if (s.walkers === undefined) return `<h2>Discovery</h2><p class="empty">not running</p>`;
  const walkers = s.walkers.map(
    (w) =>
      `<li data-testid="inspector-walker">walker ${w.walker}<span class="grow">${w.at === undefined ? `<span class="muted">not started</span>` : node(w.at)}</span>${w.inSession ? `<span class="badge ok">in session</span>` : ""}<span class="muted">${plural(w.trail.length, "step")}</span></li>`,
  );
  const log = state.discoveryLog
    .slice(-ROWS)
    .reverse()
    .map((e) => {
      const tone = e.outcome === "ended" ? "ok" : e.outcome === "failed" ? "bad" : "warn";
      const extra = e.newlyLearned === undefined ? "" : ` · ${e.newlyLearned} new`;
      return `<li data-testid="inspector-session" data-outcome="${e.outcome}">${node(e.remote)}<span class="badge ${tone}">${e.outcome}</span><span class="grow muted">${escapeHtml(e.detail)}${extra}</span><span class="muted">${escapeHtml(e.role)}</span></li>`;
    });
  const rate = state.sessionsPerSecond(s.now);
  return `<h2>Discovery <span data-testid="inspector-session-rate">${rate.toFixed(1)} sessions/s</span></h2>
${networkMap(s, s.walkers)}
<p class="legend muted"><span class="dot co-topic"></span>shares a topic <span class="dot bootstrap"></span>bootstrap <span class="dot stale"></span>stale · links by transport</p>
<h3>Walkers</h3>${list(walkers, "no walkers")}
<h3>Sessions</h3>${list(log, "no session yet")}`;
}

function networkMap(s: NodeSnapshot, walkers: readonly WalkerPosition[]): string {
  const own = s.nodeTopics(s.nodeId);
  const coTopic = new Set<NodeId>();
  const bootstrap = new Set<NodeId>();
  const stale = new Set<NodeId>();
  for (const info of s.nodeInfos) {
    if (info.bootstrap) bootstrap.add(info.nodeId);
    if (isStale(info)) stale.add(info.nodeId);
    for (const topic of s.nodeTopics(info.nodeId)) {
      if (own.has(topic)) {
        coTopic.add(info.nodeId);
        break;
      }
    }
  }
  return renderNetworkMap({
    me: s.nodeId,
    known: s.nodeInfos.map((info) => info.nodeId),
    coTopic,
    bootstrap,
    stale,
    // A direct connection is drawn over a relayed one to the same node.
    links: [...(s.connections ?? [])]
      .sort(
        (a, b) =>
          Number(a.limited) - Number(b.limited) ||
          Number(a.transport === "relayed") - Number(b.transport === "relayed"),
      )
      .map((c) => ({ remote: c.remote, transport: c.transport })),
    walkers,
  });
}

export function renderGossip(s: NodeSnapshot, state: InspectorState): string {
  if (s.gossipTopics === undefined) return `<h2>Gossip</h2><p class="empty">not running</p>`;
  const topics = s.gossipTopics.map(({ topic, neighbours, overlay }) => {
    const messages = (state.messages.get(topic) ?? [])
      .slice(-ROWS)
      .reverse()
      .map((m) => messagePath(m, s.now));
    const lazy = new Set(overlay?.lazy ?? []);
    const view = neighbours.map((n) => {
      const link =
        overlay === undefined
          ? ""
          : `<span class="badge ${lazy.has(n) ? "" : "ok"}" data-testid="inspector-link">${lazy.has(n) ? "lazy" : "eager"}</span>`;
      return `<li>${node(n, "inspector-neighbour")}${link}</li>`;
    });
    const passive =
      overlay === undefined
        ? ""
        : `<p class="muted" data-testid="inspector-passive-view" data-count="${overlay.passive.length}">passive view: ${plural(overlay.passive.length, "node")}${
            overlay.passive.length === 0
              ? ""
              : ` · ${overlay.passive
                  .slice(0, 12)
                  .map((n) => node(n))
                  .join(" ")}`
          }</p>`;
    return `<div data-testid="inspector-topic" data-topic="${escapeHtml(topic)}">
<h3>Topic <code title="${escapeHtml(topic)}">${escapeHtml(short(topic))}</code></h3>
<p class="muted">active view: ${plural(neighbours.length, "neighbour")}</p>${list(view, "no neighbours yet")}${passive}
${list(messages, "no messages received")}</div>`;
  });
  return `<h2>Gossip <span>${s.gossipTopics.length} topics</span></h2>${topics.length === 0 ? `<p class="empty">no topic joined</p>` : topics.join("")}`;
}

/**
 * A received message's path: its origin (when the app names it), the relays in between (gossip
 * tells how many, not who), the neighbour that delivered it, and this node.
 */
function messagePath(m: GossipMessageEntry, now: number): string {
  const relays = Math.max(0, m.hops - 1);
  const origin =
    m.origin === undefined
      ? `<span class="muted" title="gossip carries no author">?</span>`
      : m.origin === m.deliveredBy && relays === 0
        ? ""
        : `${node(m.origin)}<span class="arrow">→</span>`;
  const between =
    relays === 0
      ? ""
      : `<span class="muted">${plural(relays, "relay")}</span><span class="arrow">→</span>`;
  const attrs = [
    `data-testid="inspector-gossip-message"`,
    `data-hops="${m.hops}"`,
    `data-via="${escapeHtml(m.deliveredBy)}"`,
    m.origin === undefined ? "" : `data-origin="${escapeHtml(m.origin)}"`,
    `data-id="${escapeHtml(m.id)}"`,
  ].join(" ");
  return `<li ${attrs}><span class="path">${origin}${between}${node(m.deliveredBy)}<span class="arrow">→</span><span class="muted">me</span></span><span class="badge" data-testid="inspector-hops">${plural(m.hops, "hop")}</span><span class="grow muted">${m.bytes} bytes · <code title="${escapeHtml(m.id)}">${escapeHtml(m.id.slice(0, 8))}</code></span><span class="muted">${age(now - m.at)} ago</span></li>`;
}

export function renderSync(s: NodeSnapshot, state: InspectorState): string {
  if (s.syncSessions === undefined) return `<h2>Sync</h2><p class="empty">not running</p>`;
  const running = new Set(s.syncSessions.map((info) => info.sessionId));
  const rows = [...state.syncSessions.values()]
    .slice(-ROWS)
    .reverse()
    .map((e) => syncRow(e, running.has(e.sessionId)));
  return `<h2>Sync <span>${running.size} running</span></h2>${list(rows, "no sync session yet")}`;
}

function syncRow(e: SyncSessionEntry, running: boolean): string {
  const behind = e.expected;
  const done = behind === undefined ? 0 : behind === 0 ? 1 : Math.min(1, e.received / behind);
  const tone = e.state === "failed" ? "bad" : e.state === "live" ? "ok" : "";
  const topic =
    e.topic === undefined
      ? ""
      : `<code class="muted" title="${escapeHtml(e.topic)}">${escapeHtml(short(e.topic))}</code>`;
  // Before the heights are compared nothing is known; after, how far behind we were and how
  // much of it arrived.
  const behindText =
    behind === undefined
      ? `<span class="muted" data-testid="inspector-sync-behind">comparing log heights…</span>`
      : `<span data-testid="inspector-sync-behind" data-behind="${behind}">${behind === 0 ? "was up to date" : `${plural(behind, "operation")} behind`}</span>`;
  const attrs = [
    `data-testid="inspector-sync-session"`,
    `data-node-id="${escapeHtml(e.remote)}"`,
    `data-state="${e.state}"`,
    `data-live="${e.liveMode}"`,
    `data-progress="${Math.round(done * 100)}"`,
    behind === undefined ? "" : `data-behind="${behind}" data-received="${e.received}"`,
  ].join(" ");
  const count = behind === undefined ? "" : `${e.received}/${behind}`;
  return `<li ${attrs}>${node(e.remote)}${topic}<span class="badge ${tone}">${e.state}${e.error === undefined ? "" : ` ${escapeHtml(e.error)}`}</span>${behindText}<span class="grow"></span><progress max="1" value="${done}" title="catch-up ${Math.round(done * 100)} %"></progress><span class="muted">${count}${running ? "" : " · ended"}</span></li>`;
}

export function renderErrors(state: InspectorState): string {
  const rows = state.errors
    .slice(-ROWS)
    .reverse()
    .map(
      (e) =>
        `<li data-testid="inspector-error" data-code="${escapeHtml(e.code)}"><span class="badge bad">${escapeHtml(e.code)}</span><span class="grow">${escapeHtml(e.type)}: ${escapeHtml(e.message)}</span>${e.remote === undefined ? "" : node(e.remote)}</li>`,
    );
  return `<h2>Errors <span>${state.errors.length}</span></h2>${list(rows, "no errors")}`;
}

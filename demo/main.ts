// The demo page. By default the tabs of one browser profile share one p2panda node: they queue
// for the Web Lock of identity slot 0 (identity-slot.ts), the holder (the leader) runs the node
// and the others use it over a BroadcastChannel (SharedRoom of @p2panda-web/presets); when the
// leader closes, the next tab takes over with the same identity and stores. `?node=per-tab`
// gives each tab a node of its own with the lowest free identity slot. The tab running a node
// makes it with the browser preset of createNode (address book and logs in IndexedDB; the
// browser endpoint dials the bootstrap node) and shows what happens: connections, discovery
// (walkers), the gossip overlay and a chat synced through signed logs. A follower tab shows the
// node id and the chat.

import { webRTCDirect } from "@libp2p/webrtc";
import { webTransport } from "@libp2p/webtransport";
import {
  browserPageSignals,
  decodeCbor,
  encodeCbor,
  fromHex,
  type Identity,
  NodeId,
  resumeIdbTransactions,
  suspendIdbTransactions,
  Topic,
  toHex,
  transportInfoFromWire,
  transportInfoToWire,
} from "@p2panda-web/core";
import { overlaySignalling, withDialDeadline } from "@p2panda-web/core/endpoint";
import type { SyncHandle, SyncService } from "@p2panda-web/core/sync";
import {
  type BrowserRoomNode,
  broadcastTabChannel,
  createBrowserNode,
  defaultIdentityLocks,
  Room,
  SharedRoom,
} from "@p2panda-web/presets";
import { benchmarkProtocolsRequested, benchmarkServices } from "./benchmark-protocols.ts";
import { bootstrapAddresses, overlayRequested, webRtcOptions } from "./bootstrap-config.ts";
import * as catchUp from "./catch-up.ts";
import { renderChat, roomChatSource, syncChatSource } from "./chat-view.ts";
import { renderConnections } from "./connections-view.ts";
import * as diagnostics from "./diagnostics.ts";
import { renderDiscovery } from "./discovery-view.ts";
import { renderEvents } from "./events-view.ts";
import { gossipAuthor, renderGossip } from "./gossip-view.ts";
import { acquireIdentitySlot, loadIdentitySlot, slotLockName } from "./identity-slot.ts";
import { wireInspectorButton } from "./inspector-toggle.ts";
import { recordMilestones } from "./milestones.ts";
import type { DemoHook, DemoTabHook } from "./test-hook.ts";

function element(testId: string): HTMLElement {
  const found = document.querySelector<HTMLElement>(`[data-testid="${testId}"]`);
  if (found === null) throw new Error(`index.html lacks [data-testid="${testId}"]`);
  return found;
}

function setStatus(state: "starting" | "running" | "failed", text: string): void {
  const status = element("status");
  status.dataset.state = state;
  status.textContent = text;
  document.body.dataset.state = state;
}

/** A node this tab runs, with its panels drawn. */
interface DemoNode {
  readonly node: BrowserRoomNode;
  readonly sync: SyncService;
  readonly chat: SyncHandle;
  /** Sets `window.p2panda` (once the chat is drawn: tests read it as "the page is up"). */
  publishHook(): void;
}

/**
 * Makes and starts this tab's node, draws its panels (connections, discovery, gossip, events)
 * and opens the chat's sync stream.
 */
async function startDemoNode(
  identity: Identity,
  slot: number | undefined,
  bootstrap: readonly string[],
  topic: Topic,
): Promise<DemoNode> {
  // Marks for the time-to-data benchmark: where a page load's time goes.
  performance.mark("demo:identity-ready");
  element("node-id").textContent = identity.nodeId;
  const node = await createBrowserNode({
    identity,
    // The address book and the chat's signed logs, in this slot's IndexedDB databases (a
    // throwaway identity keeps them in memory).
    storage:
      slot === undefined
        ? "memory"
        : {
            addressBook: `p2panda-demo-address-book-${slot}`,
            logs: `p2panda-demo-logs-${slot}`,
          },
    // The demo runs against a bootstrap on this machine or the LAN, and dials every address a
    // bootstrap node offers (WebRTC-direct and WebTransport are opt-in), without STUN servers.
    endpoint: {
      bootstrap: [...bootstrap],
      allowPrivateAddresses: true,
      // Their dials of a bootstrap that is down get 3 s, not the 6 s of a tab-to-tab set-up: a
      // bootstrap restart is then over for the tabs within about 2 s (withDialDeadline).
      transports: [
        withDialDeadline(webRTCDirect({ rtcConfiguration: { iceServers: [] } }), 3_000),
        withDialDeadline(webTransport(), 3_000),
      ],
      // `?turn=…&relayOnly`: peers connect through a TURN server only (bootstrap-config.ts).
      ...webRtcOptions(),
      // `?overlay`: new WebRTC connections are signalled through neighbours, not the bootstrap.
      ...(overlayRequested() ? { overlaySignalling: overlaySignalling() } : {}),
    },
    services: benchmarkProtocolsRequested() ? benchmarkServices : {},
    // The views subscribe first, so they see the services from their start.
    start: false,
  });
  performance.mark("demo:node-created");
  const addressBook = node.addressBook;
  await addressBook.addTopic(identity.nodeId, topic);
  performance.mark("demo:topic-added");
  const endpoint = node.endpoint;
  element("network-id").textContent = endpoint.networkId;

  const bootstrapIds = new Set<string>();
  for (const address of bootstrap) {
    const peer = address.split("/p2p/").at(-1);
    try {
      if (peer !== undefined) bootstrapIds.add(NodeId.fromPeerId(peer));
    } catch {
      // Not an Ed25519 peer id: createEndpoint already refused such an address.
    }
  }
  const milestones = recordMilestones(node, topic, bootstrapIds);
  renderConnections(endpoint, element("connections"), element("connection-count"), bootstrapIds);
  renderEvents(endpoint, element("events"));
  const drawAddresses = (): void => {
    const items = endpoint.addresses().map((address) => {
      const li = document.createElement("li");
      li.dataset.testid = "address";
      li.textContent = address;
      return li;
    });
    element("addresses").replaceChildren(...items);
  };
  drawAddresses();
  endpoint.events$.subscribe((event) => {
    if (event.type === "endpoint:addresses-changed") drawAddresses();
  });

  const discovery = node.discovery;
  renderDiscovery(
    discovery,
    addressBook,
    identity.nodeId,
    topic,
    {
      map: element("network-map") as unknown as SVGSVGElement,
      log: element("session-log"),
      plot: element("rate-plot") as unknown as SVGSVGElement,
      summary: element("discovery-summary"),
    },
    () => endpoint.connections(),
  );
  await node.start();
  milestones.nodeRunning = performance.now();
  performance.mark("demo:node-running");

  // Gossip: the topic's overlay, presence and an ephemeral chat.
  const gossip = node.gossip;
  const gossipHandle = await gossip.stream(topic);
  renderGossip(gossipHandle, identity.nodeId, {
    neighbours: element("neighbours"),
    presence: element("presence"),
    messages: element("gossip-messages"),
    form: element("gossip-form") as HTMLFormElement,
    input: element("gossip-input") as HTMLInputElement,
    error: element("gossip-error"),
    presenceCount: element("presence-count"),
  });

  const sync = node.sync;
  performance.mark("demo:gossip-joined-topic");
  const chat = await sync.stream(topic, { liveMode: true });
  performance.mark("demo:sync-stream");

  const hook: DemoHook = {
    identity,
    endpoint,
    addressBook,
    discovery,
    gossip,
    gossipHandle,
    sync,
    chat,
    lifecycle: node.lifecycle,
    topic,
    slot,
    bootstrap,
    diagnostics,
    catchUp,
    milestones,
    exportTransportInfo() {
      const info = endpoint.transportInfo();
      return info === undefined ? undefined : toHex(encodeCbor(transportInfoToWire(info)));
    },
    importTransportInfo(nodeId, hex) {
      return addressBook.insertTransportInfo(
        nodeId,
        transportInfoFromWire(decodeCbor(fromHex(hex))),
      );
    },
  };
  wireInspectorButton(
    element("open-inspector") as HTMLButtonElement,
    element("inspector-host"),
    node,
    // Message paths in the inspector start at the author the demo's messages name.
    { messageOrigin: gossipAuthor },
  );
  // Reset every connection synchronously when the tab goes away (the page may be gone before a
  // promise settles): the bootstrap drops our WebSocket and reservation at once, and WebRTC peers
  // see their data channels close. (libp2p on the remote side still only closes a WebRTC
  // connection once a ping fails, see e2e/webrtc.spec.ts.)
  // Sync and gossip are stopped ahead of the node, synchronously, so that their goodbyes are
  // written before the connections go.
  window.addEventListener("pagehide", (event) => {
    // Into the back/forward cache the page may come back from: the node's own lifecycle pauses
    // it there and recovers on `pageshow`; only a page that is really going is torn down.
    if (event.persisted) return;
    void sync.stop().catch(() => {});
    void gossip.stop().catch(() => {});
    for (const connection of endpoint.libp2p.getConnections()) {
      connection.abort(new Error("page closed"));
    }
    void node.stop().catch(() => {});
  });
  return {
    node,
    sync,
    chat,
    publishHook: () => {
      window.p2panda = hook;
    },
  };
}

function chatElements() {
  return {
    list: element("chat-messages"),
    form: element("chat-form") as HTMLFormElement,
    input: element("chat-input") as HTMLInputElement,
    status: element("sync-status"),
    error: element("chat-error"),
  };
}

function setRunning(bootstrap: readonly string[], note = ""): void {
  setStatus(
    "running",
    `${bootstrap.length === 0 ? "running, no bootstrap node configured" : "running"}${note}`,
  );
}

/** `?node=per-tab`: a node of this tab's own, on the lowest free identity slot. */
async function runPerTab(bootstrapList: Promise<string[]>, topic: Topic): Promise<void> {
  const [{ identity, slot }, bootstrap] = await Promise.all([acquireIdentitySlot(), bootstrapList]);
  element("slot").textContent = slot === undefined ? "throwaway" : `slot ${slot}`;
  tabHook = { mode: "per-tab", role: "leader", nodeId: identity.nodeId };
  const demo = await startDemoNode(identity, slot, bootstrap, topic);
  await renderChat(syncChatSource(demo.sync, demo.chat), identity.nodeId, chatElements());
  demo.publishHook();
  setRunning(bootstrap);
}

/**
 * The default: one node for the tabs of this browser profile. The leader (holder of identity
 * slot 0's lock) runs it; a follower draws the node id and the chat from it, and takes over
 * (starts the node, draws every panel) when the leader goes.
 */
async function runShared(bootstrapList: Promise<string[]>, topic: Topic): Promise<void> {
  let demo: DemoNode | undefined;
  let chatShown = false;
  const room = await SharedRoom.join<BrowserRoomNode>({
    topic,
    channel: broadcastTabChannel(`p2panda-demo/tabs/${topic}`),
    locks: defaultIdentityLocks(),
    lockName: slotLockName(0),
    // A leader going into the back/forward cache hands over to the next tab (docs/tabs.md).
    signals: browserPageSignals(),
    // A frozen leader steps down: its open IndexedDB transactions must not hold the next one.
    pageStorage: { suspend: suspendIdbTransactions, resume: resumeIdbTransactions },
    lead: async () => {
      performance.mark("demo:lock-acquired");
      const electedAt = Date.now();
      for (const note of document.querySelectorAll(".follower-note")) note.remove();
      const [identity, bootstrap] = await Promise.all([loadIdentitySlot(0), bootstrapList]);
      element("slot").textContent = "slot 0 (this tab runs the shared node)";
      demo = await startDemoNode(identity, 0, bootstrap, topic);
      // The demo's chat is plain (not encrypted): it is the same log as with `?node=per-tab`.
      // The room owns the node: a leader stepping down (its page frozen) stops it with the room.
      const shared = await Room.open(demo.node as BrowserRoomNode, topic, {
        encryption: false,
        ownsNode: true,
      });
      const leader = { mode: "shared", role: "leader", nodeId: identity.nodeId } as const;
      tabHook = { ...leader, electedAt, runningAt: Date.now() };
      // When the node holds a relay reservation again (others can reach it): the end of a
      // takeover, as e2e/shared-node.spec.ts measures it.
      const reserved = () => {
        if (tabHook?.reservedAt === undefined) {
          tabHook = { ...leader, ...tabHook, reservedAt: Date.now() };
        }
      };
      const endpoint = demo.node.endpoint;
      if (endpoint.addresses().some((a) => a.includes("/p2p-circuit"))) reserved();
      endpoint.events$.subscribe((event) => {
        if (event.type === "endpoint:relay-reservation" && event.state === "gained") reserved();
      });
      if (chatShown) {
        // A follower took over: its chat is drawn already.
        demo.publishHook();
        setRunning(bootstrap, " (took over the shared node)");
      }
      return shared;
    },
  });
  // A frozen leader steps down (its node stops); resumed, it follows the tab that took over.
  room.role$.subscribe((role) => {
    if (role !== "follower" || tabHook?.role !== "leader") return;
    demo = undefined;
    tabHook = { mode: "shared", role: "follower", nodeId: room.nodeId };
    element("slot").textContent = "slot 0, run by another tab of this browser";
  });
  if (room.role === "follower") {
    element("node-id").textContent = room.nodeId;
    element("slot").textContent = "slot 0, run by another tab of this browser";
    tabHook = { mode: "shared", role: "follower", nodeId: room.nodeId };
    // The node's panels are drawn by the tab that runs it; this one draws them if it takes over.
    for (const list of ["connections", "neighbours", "events"]) {
      const note = document.createElement("li");
      note.className = "follower-note";
      note.textContent = "shown in the tab that runs the shared node (or add ?node=per-tab)";
      element(list).replaceChildren(note);
    }
  }
  await renderChat(
    roomChatSource(room, () =>
      demo === undefined ? undefined : { service: demo.sync, handle: demo.chat },
    ),
    room.nodeId,
    chatElements(),
  );
  chatShown = true;
  demo?.publishHook();
  window.sharedRoom = room;
  setRunning(
    await bootstrapList,
    room.role === "follower" ? " (node shared with another tab)" : "",
  );
}

let tabHook: DemoTabHook | undefined;

async function main(): Promise<void> {
  // Marks for the time-to-data benchmark (with those of startDemoNode and the node's own).
  performance.mark("demo:script-start");
  setStatus("starting", "starting…");
  // Fetched while this tab lines up for the shared node and loads its identity: nothing before
  // the node itself needs the list (measured: the fetch took 0.2–0.4 s of a loaded page's start).
  const bootstrap = bootstrapAddresses().then((list) => {
    performance.mark("demo:bootstrap-config");
    return list;
  });
  const query = new URLSearchParams(location.search);
  // `?topic=<name>` picks the topic (derived from the name: fine for a demo, guessable).
  const topicName = query.get("topic") ?? "p2panda-web demo";
  const topic = Topic.fromName(topicName);
  element("topic-name").textContent = topicName;
  Object.defineProperty(window, "p2pandaTab", { get: () => tabHook, configurable: true });
  if (query.get("node") === "per-tab") await runPerTab(bootstrap, topic);
  else await runShared(bootstrap, topic);
}

main().catch((error: unknown) => {
  console.error(error);
  setStatus("failed", `failed: ${error instanceof Error ? error.message : String(error)}`);
});

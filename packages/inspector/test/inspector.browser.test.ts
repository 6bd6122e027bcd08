// The inspector in real Chromium, on real nodes: two nodes made by createNode on libp2p's
// in-page memory transport (the second enters through the first as its bootstrap), each with
// discovery, gossip and sync. Every section is checked against the node's own state.
import { AddressBook, memoryAddressBookStore } from "@p2panda-web/address-book";
import { createNode, type NodeId, type P2pandaNode, Topic } from "@p2panda-web/core";
import type { Endpoint } from "@p2panda-web/core/endpoint";
import { createMemoryEndpoint } from "@p2panda-web/core/memory";
import { emptyMetrics } from "@p2panda-web/core/sync";
import type { P2pEvent } from "@p2panda-web/events";
import { filter, firstValueFrom, Subject, timeout } from "rxjs";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  INSPECTOR_TAG,
  type InspectedNode,
  type P2pandaInspectorElement,
  showInspector,
} from "../src/index.ts";

type MemoryNode = P2pandaNode<Endpoint, AddressBook>;

const FAST = { backoff: { initialMs: 0, minIncrementMs: 20, maxIncrementMs: 80, maxMs: 400 } };
const started: MemoryNode[] = [];
const shown: Element[] = [];

afterEach(async () => {
  for (const element of shown.splice(0)) element.remove();
  for (const node of started.splice(0)) await node.stop();
  vi.restoreAllMocks();
});

async function memoryNode(bootstrap: readonly string[]): Promise<MemoryNode> {
  const node = await createNode({
    addressBook: () => AddressBook.open(memoryAddressBookStore()),
    endpoint: (init) => createMemoryEndpoint({ ...init, bootstrap }),
    discovery: { config: FAST },
    gossip: { healIntervalMs: 500 },
  });
  started.push(node);
  return node;
}

async function show(node: InspectedNode): Promise<P2pandaInspectorElement> {
  const element = await showInspector(node);
  shown.push(element);
  return element;
}

function shadow(element: P2pandaInspectorElement): ShadowRoot {
  if (element.shadowRoot === null) throw new Error("the inspector has no shadow root");
  return element.shadowRoot;
}

function nextFrame(): Promise<void> {
  return new Promise((resolve) => requestAnimationFrame(() => resolve()));
}

/** A node that does nothing but emit the events a test pushes (the public API, all empty). */
function scriptedNode(nodeId: NodeId): { node: InspectedNode; events: Subject<P2pEvent> } {
  const events = new Subject<P2pEvent>();
  const topic = Topic.fromName("scripted");
  return {
    events,
    node: {
      identity: { nodeId },
      endpoint: { nodeId, addresses: () => [], connections: () => [] },
      addressBook: { allNodeInfos: () => [], nodeTopics: () => new Set() },
      events$: events.asObservable(),
      has: () => true,
      discovery: { walkers: () => [] },
      gossip: { topics: [topic], neighbours: () => [] },
      sync: { sessions: () => [] },
    },
  };
}

describe("<p2panda-inspector> on two real nodes", () => {
  it("shows the node id, connections, the neighbour, a message's hops, discovery and a finished catch-up", async () => {
    const a = await memoryNode([]);
    const topic = Topic.fromName(`inspector-${Math.random()}`);
    const logA = await a.sync.stream(topic);
    for (let i = 0; i < 20; i++) await logA.publish(new TextEncoder().encode(`a${i}`));
    const chatA = await a.gossip.stream(topic);

    const bootstrap = a.endpoint.addresses()[0];
    expect(bootstrap).toBeDefined();
    const b = await memoryNode([bootstrap as string]);
    const element = await show(b);
    const root = shadow(element);
    expect(element.tagName.toLowerCase()).toBe(INSPECTOR_TAG);

    // Node: its own id.
    await expect
      .poll(() => root.querySelector('[data-testid="inspector-node-id"]')?.textContent)
      .toBe(b.identity.nodeId);

    // Sync: b catches up on a's 20 operations; the session reaches 100 %.
    const caughtUp = firstValueFrom(
      b.sync.events$.pipe(
        filter((e) => e.type === "sync:finished"),
        timeout(30_000),
      ),
    );
    await b.sync.stream(topic);
    await caughtUp;
    await expect
      .poll(() => {
        const row = root.querySelector<HTMLElement>(
          `[data-testid="inspector-sync-session"][data-node-id="${a.identity.nodeId}"]`,
        );
        // The DOM is redrawn once per animation frame, so the row may still show the frame
        // before `sync:finished` (all 20 received, state "sync"): wait for the ended state too.
        return row === null || row === undefined
          ? undefined
          : {
              progress: row.dataset.progress,
              text: row.textContent?.includes("20/20"),
              ended: row.dataset.state === "finished" || row.dataset.state === "live",
            };
      })
      .toEqual({ progress: "100", text: true, ended: true });
    const syncRow = root.querySelector<HTMLElement>('[data-testid="inspector-sync-session"]');
    expect(syncRow?.dataset.live).toBe(String(b.sync.sessions()[0]?.liveMode ?? true));

    // Gossip: a joins b's overlay on the topic; b's inspector lists it as a neighbour.
    const chatB = await b.gossip.stream(topic);
    await expect
      .poll(() => b.gossip.neighbours(topic).includes(a.identity.nodeId), { timeout: 30_000 })
      .toBe(true);
    await expect
      .poll(
        () =>
          root.querySelector(
            `[data-topic="${topic}"] [data-testid="inspector-neighbour"][data-node-id="${a.identity.nodeId}"]`,
          ) !== null,
      )
      .toBe(true);

    // The overlay: a on b's broadcast tree (eager or lazy), and b's passive view counted.
    const link = root.querySelector(`[data-topic="${topic}"] [data-testid="inspector-link"]`);
    const overlay = b.gossip.overlay(topic);
    expect(link?.textContent).toBe(overlay?.lazy.includes(a.identity.nodeId) ? "lazy" : "eager");
    expect(
      root.querySelector<HTMLElement>(
        `[data-topic="${topic}"] [data-testid="inspector-passive-view"]`,
      )?.dataset.count,
    ).toBe(String(overlay?.passive.length));

    // A message from a reaches b directly: one hop, as b's own event says.
    const received = firstValueFrom(chatB.messages$.pipe(timeout(30_000)));
    const hops = firstValueFrom(
      b.events$.pipe(
        filter((e) => e.type === "gossip:received" && e.topic === topic),
        timeout(30_000),
      ),
    );
    await chatA.publish(new TextEncoder().encode("hello inspector"));
    await received;
    const event = await hops;
    expect(event.type === "gossip:received" ? event.hops : -1).toBe(1);
    await expect
      .poll(
        () =>
          root.querySelector<HTMLElement>(
            `[data-topic="${topic}"] [data-testid="inspector-gossip-message"]`,
          )?.dataset.hops,
      )
      .toBe("1");

    // Connections: the memory connection to a, by transport; address book: a, known.
    await expect
      .poll(() => root.querySelector('[data-testid="inspector-connection"]') !== null)
      .toBe(true);
    expect(
      root.querySelector(
        `[data-testid="inspector-known-node"][data-node-id="${a.identity.nodeId}"]`,
      ),
    ).not.toBeNull();

    // Discovery: the session with the bootstrap is in the log with its outcome.
    await expect
      .poll(() => root.querySelector('[data-testid="inspector-session"][data-outcome="ended"]'))
      .not.toBeNull();
    expect(root.querySelector('[data-testid="inspector-session-rate"]')?.textContent).toMatch(
      /^\d+\.\d sessions\/s$/,
    );
  });
});

describe("<p2panda-inspector> under load", () => {
  it("draws a burst of 1,000 events in one frame and keeps every list bounded", async () => {
    const { node, events } = scriptedNode("11".repeat(32) as NodeId);
    const element = await show(node);
    const root = shadow(element);
    await nextFrame();
    await nextFrame();
    const before = element.renderCount;
    expect(before).toBeGreaterThan(0);

    const topic = node.gossip.topics[0] as Topic;
    const from = "22".repeat(32) as NodeId;
    for (let i = 0; i < 1_000; i++) {
      events.next({
        type: "gossip:received",
        at: Date.now(),
        topic,
        content: new Uint8Array([i & 0xff]),
        id: new Uint8Array(32),
        deliveredBy: from,
        hops: 1 + (i % 5),
      } as P2pEvent);
    }
    await nextFrame();
    await nextFrame();
    const redraws = element.renderCount - before;
    console.info(`1,000 events: ${redraws} redraws`);
    expect(redraws).toBeGreaterThanOrEqual(1);
    expect(redraws).toBeLessThanOrEqual(2);
    // The last message is shown first; at most 50 are kept.
    const shownMessages = root.querySelectorAll<HTMLElement>(
      '[data-testid="inspector-gossip-message"]',
    );
    expect(shownMessages.length).toBe(50);
    expect(shownMessages[0]?.dataset.hops).toBe(String(1 + (999 % 5)));

    // The export holds the last 200 events, with bytes as hex, and counts all 1,000.
    const exported = JSON.parse(element.exportJson()) as {
      nodeId: string;
      eventCount: number;
      events: { type: string; content: string; hops: number }[];
    };
    expect(exported.nodeId).toBe(node.identity.nodeId);
    expect(exported.eventCount).toBe(1_000);
    expect(exported.events).toHaveLength(200);
    expect(exported.events[199]).toMatchObject({ type: "gossip:received", content: "e7", hops: 5 });
  });

  it("downloads the export as a JSON Blob from its button", async () => {
    const { node, events } = scriptedNode("33".repeat(32) as NodeId);
    const element = await show(node);
    events.next({
      type: "endpoint:dial-failed",
      at: 1,
      remote: "44".repeat(32),
      code: "DIAL_FAILED",
      message: "<b>no route</b>",
    } as P2pEvent);
    await nextFrame();
    const blobs: Blob[] = [];
    vi.spyOn(URL, "createObjectURL").mockImplementation((blob) => {
      blobs.push(blob as Blob);
      return "blob:inspector-test";
    });
    const clicked = vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(() => {});
    shadow(element).querySelector<HTMLButtonElement>('[data-testid="inspector-export"]')?.click();
    expect(clicked).toHaveBeenCalledTimes(1);
    expect(blobs).toHaveLength(1);
    expect(blobs[0]?.type).toBe("application/json");
    const data = JSON.parse(await (blobs[0] as Blob).text()) as { events: P2pEvent[] };
    expect(data.events).toEqual([
      {
        type: "endpoint:dial-failed",
        at: 1,
        remote: "44".repeat(32),
        code: "DIAL_FAILED",
        message: "<b>no route</b>",
      },
    ]);
    // The failure is listed with its typed reason, its message as text (never as markup).
    const error = shadow(element).querySelector<HTMLElement>('[data-testid="inspector-error"]');
    expect(error?.dataset.code).toBe("DIAL_FAILED");
    expect(error?.textContent).toContain("<b>no route</b>");
    expect(error?.querySelector("b")).toBeNull();
  });

  it("follows 1,000 gossip messages/s with at most one redraw per frame", async () => {
    const { node, events } = scriptedNode("55".repeat(32) as NodeId);
    const element = await show(node);
    await nextFrame();
    const topic = node.gossip.topics[0] as Topic;
    const from = "66".repeat(32) as NodeId;
    const before = element.renderStats;
    const started = performance.now();
    let frames = 0;
    let sent = 0;
    // Two seconds at 1,000 messages per second, handed out frame by frame as they would arrive.
    while (performance.now() - started < 2_000) {
      const due = Math.floor(performance.now() - started);
      for (; sent < due; sent++) {
        events.next({
          type: "gossip:received",
          at: Date.now(),
          topic,
          content: new Uint8Array(64),
          id: new Uint8Array(32),
          deliveredBy: from,
          hops: 1 + (sent % 4),
        } as P2pEvent);
      }
      await nextFrame();
      frames++;
    }
    const stats = element.renderStats;
    const redraws = stats.count - before.count;
    const meanMs = (stats.totalMs - before.totalMs) / redraws;
    console.info(
      `${sent} messages over ${frames} frames: ${redraws} redraws, ${meanMs.toFixed(2)} ms each on average, longest ${stats.maxMs.toFixed(2)} ms`,
    );
    expect(sent).toBeGreaterThanOrEqual(1_900);
    expect(redraws).toBeLessThanOrEqual(frames + 1);
    // A redraw of full lists fits well inside a 60 Hz frame (16.7 ms), even on a loaded machine.
    expect(meanMs).toBeLessThan(8);
  });

  it("takes a 100,000-operation catch-up in one burst and draws it at 100 %", async () => {
    const { node, events } = scriptedNode("77".repeat(32) as NodeId);
    const element = await show(node);
    await nextFrame();
    const before = element.renderCount;
    const remote = "88".repeat(32) as NodeId;
    const base = { sessionId: "s1", remote, topic: node.gossip.topics[0] };
    const metrics = { ...emptyMetrics(), inboundOperations: 100_000 };
    const started = performance.now();
    events.next({
      type: "sync:session-started",
      at: 1,
      ...base,
      role: "initiator",
      liveMode: false,
    } as P2pEvent);
    events.next({ type: "sync:started", at: 1, ...base, metrics } as P2pEvent);
    for (let i = 1; i <= 100_000; i++) {
      events.next({
        type: "sync:operation-received",
        at: 1,
        ...base,
        phase: "sync",
        metrics: { ...metrics, receivedSyncOperations: i },
      } as P2pEvent);
    }
    events.next({
      type: "sync:finished",
      at: 1,
      ...base,
      metrics: { ...metrics, receivedSyncOperations: 100_000 },
    } as P2pEvent);
    const tookMs = performance.now() - started;
    await nextFrame();
    await nextFrame();
    console.info(
      `100,000 operation events taken in ${tookMs.toFixed(0)} ms, ${element.renderCount - before} redraws`,
    );
    expect(element.renderCount - before).toBeLessThanOrEqual(2);
    const row = shadow(element).querySelector<HTMLElement>(
      '[data-testid="inspector-sync-session"]',
    );
    expect(row?.dataset).toMatchObject({ state: "finished", progress: "100", live: "false" });
    expect(row?.textContent).toContain("100000/100000");
  });
});

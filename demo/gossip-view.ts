// The "Gossip" panel: this node's overlay neighbours on the topic, who is present (heartbeats),
// and an ephemeral chat: messages reach whoever is online now and are never stored.
//
// Gossip carries no author (deliveredBy is the neighbour that relayed a message), so the demo puts
// the sender's node id into the message itself. That claim is unsigned, which is fine for a
// presence list; anything that must be attributable belongs in sync, whose operations are signed.
import { decodeCbor, encodeCbor, NodeId } from "@p2panda-web/core";
import { type GossipHandle, GossipMessageTooLargeError } from "@p2panda-web/core/gossip";

/**
 * What the demo sends over gossip (CBOR). `nodeId` is the author's claim about itself. `at` and
 * `seq` make every message unique: gossip identifies a message by the hash of its content and
 * delivers the same content only once while it remembers the id (90 s), so a repeated heartbeat
 * or a chat line said twice would otherwise be dropped.
 */
type DemoMessage =
  | {
      readonly kind: "presence";
      readonly nodeId: NodeId;
      readonly at: number;
      readonly seq: number;
    }
  | {
      readonly kind: "chat";
      readonly nodeId: NodeId;
      readonly at: number;
      readonly seq: number;
      readonly text: string;
    };

/** Elements of the panel (see index.html). */
export interface GossipElements {
  readonly neighbours: HTMLElement;
  readonly presence: HTMLElement;
  readonly messages: HTMLElement;
  readonly form: HTMLFormElement;
  readonly input: HTMLInputElement;
  readonly error: HTMLElement;
  /** Shows how many are present (this node included). */
  readonly presenceCount?: HTMLElement;
}

/** Presence heartbeat period, and how long a node stays listed without one. */
const HEARTBEAT_MS = 3_000;
/**
 * Least time between two presence messages of ours. A new neighbour is greeted at once, but a
 * burst of them (a tab joining a crowd sees one come and go every second) gets one greeting at
 * the end of the gap: each greeting floods the whole overlay, and with one per neighbour change
 * eight tabs joining at once sent six per second between them.
 */
const HELLO_GAP_MS = 1_000;
const PRESENCE_TTL_MS = 10_000;
/** Messages kept on screen. */
const MAX_SHOWN = 200;

function decode(content: Uint8Array): DemoMessage | undefined {
  try {
    const value = decodeCbor(content) as Partial<Record<string, unknown>> | null;
    if (value === null || typeof value !== "object" || !NodeId.is(value.nodeId)) return undefined;
    const at = typeof value.at === "number" ? value.at : 0;
    const seq = typeof value.seq === "number" ? value.seq : 0;
    if (value.kind === "presence") return { kind: "presence", nodeId: value.nodeId, at, seq };
    if (value.kind === "chat" && typeof value.text === "string") {
      return { kind: "chat", nodeId: value.nodeId, at, seq, text: value.text };
    }
  } catch {
    // Not one of ours: ignored.
  }
  return undefined;
}

/**
 * The node a demo message claims as its author (for the inspector's message paths), or
 * undefined for content that is not a demo message. Unsigned, like everything in it.
 */
export function gossipAuthor(content: Uint8Array): NodeId | undefined {
  return decode(content)?.nodeId;
}

/** Draws the gossip panel for `handle` and publishes presence heartbeats; returns a stop function. */
export function renderGossip(
  handle: GossipHandle,
  me: NodeId,
  elements: GossipElements,
): () => void {
  const seen = new Map<NodeId, number>();
  let seq = 0;

  const drawNeighbours = (): void => {
    const items = handle.neighbours().map((node) => {
      const li = nodeItem(node, "neighbour");
      li.className = "neighbour";
      return li;
    });
    elements.neighbours.replaceChildren(...items);
  };

  // Who is in the topic now: the nodes heard from over gossip (a heartbeat or a chat line) in
  // the last PRESENCE_TTL_MS, each marked when it is also a direct neighbour in the overlay.
  // Only what was heard: a silent node, or one whose messages do not reach us, is not listed.
  const drawPresence = (): void => {
    const now = Date.now();
    for (const [node, at] of seen) if (now - at > PRESENCE_TTL_MS) seen.delete(node);
    const neighbours = new Set(handle.neighbours());
    const items = [...seen.keys()].sort().map((node) => {
      const li = nodeItem(node, "present-node");
      li.className = "present-node";
      const ago = Math.max(0, Math.round((now - (seen.get(node) ?? now)) / 1000));
      const how = document.createElement("span");
      how.className = "how";
      how.textContent = neighbours.has(node) ? `neighbour · ${ago} s ago` : `${ago} s ago`;
      li.dataset.neighbour = String(neighbours.has(node));
      li.append(how);
      return li;
    });
    const self = nodeItem(me, "present-self");
    self.className = "present-node self";
    self.append(
      Object.assign(document.createElement("span"), { className: "how", textContent: "you" }),
    );
    elements.presence.replaceChildren(self, ...items);
    if (elements.presenceCount !== undefined) {
      elements.presenceCount.textContent = String(seen.size + 1);
      elements.presenceCount.dataset.count = String(seen.size + 1);
    }
  };

  const show = (node: NodeId, text: string, own: boolean): void => {
    const li = document.createElement("li");
    li.className = "gossip-message";
    li.dataset.testid = "gossip-message";
    li.dataset.own = String(own);
    const who = document.createElement("code");
    who.className = "node";
    who.textContent = own ? "me" : NodeId.short(node);
    who.title = node;
    const body = document.createElement("span");
    body.className = "text";
    body.textContent = text;
    li.append(who, body);
    elements.messages.append(li);
    while (elements.messages.childElementCount > MAX_SHOWN) elements.messages.firstChild?.remove();
    elements.messages.scrollTop = elements.messages.scrollHeight;
  };

  const publish = (message: DemoMessage): Promise<unknown> => handle.publish(encodeCbor(message));
  let lastHeartbeat = Number.NEGATIVE_INFINITY;
  let helloTimer: ReturnType<typeof setTimeout> | undefined;
  const heartbeat = (): void => {
    lastHeartbeat = Date.now();
    clearTimeout(helloTimer);
    helloTimer = undefined;
    publish({ kind: "presence", nodeId: me, at: Date.now(), seq: seq++ }).catch(() => {});
  };
  // Say hello to a new neighbour now, or at the end of the gap if we just did.
  const hello = (): void => {
    const wait = lastHeartbeat + HELLO_GAP_MS - Date.now();
    if (wait <= 0) heartbeat();
    else helloTimer ??= setTimeout(heartbeat, wait);
  };

  handle.messages$.subscribe(({ content }) => {
    const message = decode(content);
    if (message === undefined) return;
    // Unsigned: any node may claim any id here (see the top of this file).
    if (message.nodeId !== me) {
      seen.set(message.nodeId, Date.now());
      drawPresence();
    }
    if (message.kind === "chat") show(message.nodeId, message.text, false);
  });
  handle.events$.subscribe((event) => {
    if (event.type === "gossip:neighbour-up" || event.type === "gossip:neighbour-down") {
      drawNeighbours();
      drawPresence();
      // Say hello to a new neighbour instead of waiting for the next heartbeat.
      if (event.type === "gossip:neighbour-up") hello();
    }
  });

  elements.form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = elements.input.value.trim();
    elements.error.textContent = "";
    if (text === "") return;
    publish({ kind: "chat", nodeId: me, at: Date.now(), seq: seq++, text })
      .then(() => {
        elements.input.value = "";
        show(me, text, true);
      })
      .catch((error: unknown) => {
        elements.error.textContent =
          error instanceof GossipMessageTooLargeError
            ? `too long: ${error.size} of at most ${error.maxMessageSize} bytes`
            : String(error);
      });
  });

  drawNeighbours();
  drawPresence();
  heartbeat();
  const timer = setInterval(() => {
    heartbeat();
    drawPresence();
  }, HEARTBEAT_MS);
  return () => {
    clearInterval(timer);
    clearTimeout(helloTimer);
  };
}

/** A list item naming `node` (short id, full id on hover), found by tests as `testid`. */
function nodeItem(node: NodeId, testid: string): HTMLLIElement {
  const li = document.createElement("li");
  li.dataset.testid = testid;
  li.dataset.nodeId = node;
  li.textContent = NodeId.short(node);
  li.title = node;
  return li;
}

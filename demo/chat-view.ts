// The "Chat (synced)" panel: a conversation kept as signed operations in IndexedDB and synced
// with every peer on the topic. The history is read from the store at start, so a tab that was
// closed, or opens later, shows the whole conversation once sync caught it up.
import { decodeCbor, encodeCbor, NodeId } from "@p2panda-web/core";
import {
  authorOf,
  type Operation,
  type SyncHandle,
  type SyncService,
  type SyncServiceEvent,
} from "@p2panda-web/core/sync";

/** What a chat operation's body holds. */
interface ChatBody {
  readonly text: string;
}

/** Elements of the panel (see index.html). */
export interface ChatElements {
  readonly list: HTMLElement;
  readonly form: HTMLFormElement;
  readonly input: HTMLInputElement;
  readonly status: HTMLElement;
  readonly error: HTMLElement;
}

/** Largest chat message in characters (the sync operation cap is far larger). */
const MAX_TEXT = 2_000;

function decodeBody(op: Operation): ChatBody | undefined {
  if (op.body === undefined) return undefined;
  try {
    const value = decodeCbor(op.body);
    if (typeof value === "object" && value !== null && "text" in value) {
      const text = (value as { text: unknown }).text;
      if (typeof text === "string") return { text: text.slice(0, MAX_TEXT) };
    }
  } catch {
    // Someone else's operation on this topic that is not a chat message: not shown.
  }
  return undefined;
}

function messageKey(op: Operation): string {
  return `${authorOf(op.header)}/${op.header.seqNum}`;
}

/**
 * Draws the synced chat of `handle`, sends the form's text as a new operation, and shows the
 * sync state (sessions, live peers, messages held) in `status`.
 */
export async function renderChat(
  sync: SyncService,
  handle: SyncHandle,
  me: NodeId,
  elements: ChatElements,
): Promise<void> {
  const shown = new Map<string, { op: Operation; li: HTMLLIElement }>();

  // Ordered by time (ties: author, then position in the author's log).
  const draw = (): void => {
    const ordered = [...shown.values()].sort(
      (a, b) =>
        a.op.header.timestamp - b.op.header.timestamp ||
        authorOf(a.op.header).localeCompare(authorOf(b.op.header)) ||
        a.op.header.seqNum - b.op.header.seqNum,
    );
    elements.list.replaceChildren(...ordered.map((m) => m.li));
    elements.list.scrollTop = elements.list.scrollHeight;
  };

  // A catch-up delivers operations one event at a time: redraw at most every 50 ms, not per op.
  let drawScheduled = false;
  const scheduleDraw = (): void => {
    if (drawScheduled) return;
    drawScheduled = true;
    setTimeout(() => {
      drawScheduled = false;
      draw();
    }, 50);
  };

  const add = (op: Operation, redraw = true): void => {
    const body = decodeBody(op);
    const key = messageKey(op);
    if (body === undefined || shown.has(key)) return;
    const author = authorOf(op.header);
    const li = document.createElement("li");
    li.className = "chat-message";
    li.dataset.testid = "chat-message";
    li.dataset.author = author;
    li.dataset.own = String(author === me);
    const who = document.createElement("code");
    who.className = "node";
    who.textContent = author === me ? "me" : NodeId.short(author);
    const time = document.createElement("time");
    time.textContent = new Date(op.header.timestamp / 1000).toLocaleTimeString();
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = body.text;
    li.append(time, who, text);
    shown.set(key, { op, li });
    if (redraw) scheduleDraw();
  };

  const drawStatus = (): void => {
    const sessions = sync.sessions().filter((s) => s.topic === handle.topic);
    const live = sessions.filter((s) => s.phase === "live").length;
    const syncing = sessions.length - live;
    const status = elements.status;
    status.dataset.messages = String(shown.size);
    status.dataset.live = String(live);
    status.dataset.syncing = String(syncing);
    status.textContent = `${shown.size} messages · live with ${live} · syncing ${syncing}`;
  };

  // The stored history is drawn once, not once per message.
  for (const op of await handle.operations()) add(op, false);
  draw();
  drawStatus();

  handle.events$.subscribe((event: SyncServiceEvent) => {
    if (event.type === "sync:operation-received") add(event.operation);
  });
  // The status on every session event of the service (sessions accepted from others name their
  // topic only after the handshake, so the handle's stream would miss their start).
  sync.events$.subscribe(() => drawStatus());

  elements.form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = elements.input.value.trim();
    elements.error.textContent = "";
    if (text === "") return;
    if (text.length > MAX_TEXT) {
      elements.error.textContent = `at most ${MAX_TEXT} characters`;
      return;
    }
    elements.input.value = "";
    handle
      .publish(encodeCbor({ text }))
      .then((op) => {
        add(op);
        drawStatus();
      })
      .catch((error: unknown) => {
        elements.error.textContent = error instanceof Error ? error.message : String(error);
      });
  });
}

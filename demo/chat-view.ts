// The "Chat (synced)" panel: a conversation kept as signed operations in IndexedDB and synced
// with every peer on the topic. The history is read from the store at start, so a tab that was
// closed, or opens later, shows the whole conversation once sync caught it up. It draws from a
// ChatSource: the sync handle of this tab's node (`?node=per-tab`), or the shared room, which
// is the node of this tab or of the leader tab.
import { decodeCbor, encodeCbor, NodeId } from "@p2panda-web/core";
import {
  authorOf,
  type Operation,
  type SyncHandle,
  type SyncService,
  type SyncServiceEvent,
} from "@p2panda-web/core/sync";
import type { TopicRoom } from "@p2panda-web/presets";
import { filter, map, type Observable } from "rxjs";

/** Where the chat's operations come from and go to. */
export interface ChatSource {
  /** Everything stored for the topic. */
  history(): Promise<Operation[]>;
  /** New operations: synced ones (and, from a shared room, those of this node's other tabs). */
  readonly added$: Observable<Operation>;
  append(body: Uint8Array): Promise<Operation>;
  /** Sync sessions of the topic, when this tab runs the node. */
  sessions(): { live: number; syncing: number } | undefined;
  /** When to redraw the sync status. */
  readonly changes$: Observable<unknown>;
}

/** The chat of this tab's own node: its sync handle. */
export function syncChatSource(sync: SyncService, handle: SyncHandle): ChatSource {
  return {
    history: () => handle.operations(),
    added$: handle.events$.pipe(
      filter((e: SyncServiceEvent) => e.type === "sync:operation-received"),
      map((e) => (e as Extract<SyncServiceEvent, { type: "sync:operation-received" }>).operation),
    ),
    append: (body) => handle.publish(body),
    sessions: () => sessionsOf(sync, handle),
    // Every session event of the service (sessions accepted from others name their topic only
    // after the handshake, so the handle's stream would miss their start).
    changes$: sync.events$,
  };
}

/** The chat of a shared room; `sync()` is the sync of this tab's node while it leads. */
export function roomChatSource(
  room: TopicRoom,
  sync: () => { service: SyncService; handle: SyncHandle } | undefined,
): ChatSource {
  return {
    history: async () => (await room.log.history()).map((e) => e.operation),
    added$: room.log.operations$.pipe(map((e) => e.operation)),
    append: async (body) => (await room.log.append(body)).operation,
    sessions: () => {
      const own = sync();
      return own === undefined ? undefined : sessionsOf(own.service, own.handle);
    },
    changes$: room.events$,
  };
}

function sessionsOf(sync: SyncService, handle: SyncHandle): { live: number; syncing: number } {
  const sessions = sync.sessions().filter((s) => s.topic === handle.topic);
  const live = sessions.filter((s) => s.phase === "live").length;
  return { live, syncing: sessions.length - live };
}

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
 * Draws the synced chat of `source`, sends the form's text as a new operation, and shows the
 * sync state (sessions, live peers, messages held) in `status`.
 */
export async function renderChat(
  source: ChatSource,
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
    const status = elements.status;
    status.dataset.messages = String(shown.size);
    const sessions = source.sessions();
    if (sessions === undefined) {
      status.textContent = `${shown.size} messages · synced by the tab that runs the node`;
      return;
    }
    status.dataset.live = String(sessions.live);
    status.dataset.syncing = String(sessions.syncing);
    status.textContent = `${shown.size} messages · live with ${sessions.live} · syncing ${sessions.syncing}`;
  };

  // The stored history is drawn once, not once per message.
  for (const op of await source.history()) add(op, false);
  draw();
  drawStatus();

  source.added$.subscribe((op) => {
    add(op);
    drawStatus();
  });
  source.changes$.subscribe(() => drawStatus());

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
    source
      .append(encodeCbor({ text }))
      .then((op) => {
        add(op);
        drawStatus();
      })
      .catch((error: unknown) => {
        elements.error.textContent = error instanceof Error ? error.message : String(error);
      });
  });
}

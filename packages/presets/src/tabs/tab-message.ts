// What tabs sharing one node say to each other over their BroadcastChannel. The leader tab runs
// the node; follower tabs call it (`call` → `result`) and hear what it hears (`message`, `entry`,
// `peers`, `event`). Every message names the tab that sent it, and calls and results the tab
// they are for: a BroadcastChannel delivers everything to every other tab of the origin.
//
// Messages come from the origin's own code, but possibly from another version of it (a tab left
// open across a deploy) or from a bug: `parseTabMessage` checks every field, and whatever does not
// parse is dropped without reaching the node.

/** The version of this protocol; a tab of another version is not talked to. */
export const TAB_PROTOCOL_VERSION = 1;

/** Largest content a follower hands to the leader in one call (the log's operations are capped far below). */
export const MAX_TAB_CONTENT = 1024 * 1024;

/** What a follower asks of the leader. */
export type TabCallMethod = "publish" | "append" | "history";

/** A log entry on the channel: the signed operation's header and body, and its opened payload. */
export interface WireLogEntry {
  readonly headerBytes: Uint8Array;
  readonly body?: Uint8Array;
  readonly payload?: Uint8Array;
}

/** An ephemeral room message on the channel. */
export interface WireRoomMessage {
  readonly from: string;
  readonly content: Uint8Array;
  readonly id: string;
}

/** A failure the leader reports for a call: the error's `code` (if it had one) and text. */
export interface WireError {
  readonly code: string;
  readonly message: string;
}

interface Envelope<K extends string> {
  readonly v: typeof TAB_PROTOCOL_VERSION;
  readonly kind: K;
  /** The sending tab's id. */
  readonly from: string;
}

/** A follower's request; `id` is unique per call and kept when the call is re-sent. */
export interface CallMessage extends Envelope<"call"> {
  /** The leader tab it is sent to. */
  readonly to: string;
  readonly id: string;
  readonly method: TabCallMethod;
  /** The content of `publish` and `append`. */
  readonly content?: Uint8Array;
  /** Wall-clock time (ms) after which the caller no longer waits: the leader skips it then. */
  readonly deadline: number;
  /**
   * Set when the call was sent to an earlier leader that never answered: that leader may have
   * run it (an append stored) before it went, so the new one checks first.
   */
  readonly retry?: boolean;
}

/** The leader's answer to one call. */
export type ResultMessage = Envelope<"result"> & {
  readonly to: string;
  readonly id: string;
} & (
    | { readonly ok: true; readonly value: TabCallValue }
    | { readonly ok: false; readonly error: WireError }
  );

/** What a call resolves to: a message id (`publish`), an entry (`append`), the history. */
export type TabCallValue = string | WireLogEntry | readonly WireLogEntry[];

/** A leader says it runs the node: when it is ready, and to every `who`. */
export interface LeaderMessage extends Envelope<"leader"> {
  readonly nodeId: string;
  readonly peers: readonly string[];
}

/** A tab asks who leads (the leader answers with a `leader`). */
export type WhoMessage = Envelope<"who">;

/** The leader is going away (page hidden for good, room left): wait for the next one. */
export type LeavingMessage = Envelope<"leaving">;

/** An ephemeral message the leader received on the topic. */
export interface RoomMessageMessage extends Envelope<"message"> {
  readonly message: WireRoomMessage;
}

/** A new entry of the log, ours (from any tab) or synced from a peer. */
export interface EntryMessage extends Envelope<"entry"> {
  readonly entry: WireLogEntry;
}

/** The room's neighbours changed. */
export interface PeersMessage extends Envelope<"peers"> {
  readonly peers: readonly string[];
}

/** One event of the node, as a structured clone (errors lose their class, functions are gone). */
export interface EventMessage extends Envelope<"event"> {
  readonly event: { readonly type: string };
}

/** Every message of the protocol. */
export type TabMessage =
  | CallMessage
  | ResultMessage
  | LeaderMessage
  | WhoMessage
  | LeavingMessage
  | RoomMessageMessage
  | EntryMessage
  | PeersMessage
  | EventMessage;

type Fields = Record<string, unknown>;

const isObject = (value: unknown): value is Fields =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const isId = (value: unknown): value is string =>
  typeof value === "string" && value.length > 0 && value.length <= 128;
const isBytes = (value: unknown, max = MAX_TAB_CONTENT): value is Uint8Array =>
  value instanceof Uint8Array && value.length <= max;
const isOptionalBytes = (value: unknown): boolean => value === undefined || isBytes(value);
const isIdList = (value: unknown): value is string[] =>
  Array.isArray(value) && value.length <= 10_000 && value.every(isId);
const METHODS: ReadonlySet<unknown> = new Set<TabCallMethod>(["publish", "append", "history"]);

function isWireLogEntry(value: unknown): value is WireLogEntry {
  return (
    isObject(value) &&
    isBytes(value.headerBytes) &&
    isOptionalBytes(value.body) &&
    isOptionalBytes(value.payload)
  );
}

function isWireRoomMessage(value: unknown): value is WireRoomMessage {
  return isObject(value) && isId(value.from) && isBytes(value.content) && isId(value.id);
}

function isCallValue(value: unknown): value is TabCallValue {
  if (typeof value === "string") return value.length <= 128;
  if (Array.isArray(value)) return value.length <= 1_000_000 && value.every(isWireLogEntry);
  return isWireLogEntry(value);
}

function isWireError(value: unknown): value is WireError {
  return (
    isObject(value) &&
    typeof value.code === "string" &&
    value.code.length <= 128 &&
    typeof value.message === "string" &&
    value.message.length <= 4096
  );
}

/**
 * `data` as a {@link TabMessage} of this protocol version, or `undefined` when it is not one
 * (another version, a field missing or of the wrong type or size). Never throws.
 */
export function parseTabMessage(data: unknown): TabMessage | undefined {
  if (!isObject(data) || data.v !== TAB_PROTOCOL_VERSION || !isId(data.from)) return undefined;
  switch (data.kind) {
    case "call":
      return isId(data.to) &&
        isId(data.id) &&
        METHODS.has(data.method) &&
        isOptionalBytes(data.content) &&
        (data.method === "history" || data.content !== undefined) &&
        typeof data.deadline === "number" &&
        Number.isFinite(data.deadline) &&
        (data.retry === undefined || typeof data.retry === "boolean")
        ? (data as unknown as CallMessage)
        : undefined;
    case "result":
      if (!isId(data.to) || !isId(data.id)) return undefined;
      if (data.ok === true) {
        return isCallValue(data.value) ? (data as unknown as ResultMessage) : undefined;
      }
      return data.ok === false && isWireError(data.error)
        ? (data as unknown as ResultMessage)
        : undefined;
    case "leader":
      return isId(data.nodeId) && isIdList(data.peers)
        ? (data as unknown as LeaderMessage)
        : undefined;
    case "who":
    case "leaving":
      return data as unknown as WhoMessage | LeavingMessage;
    case "message":
      return isWireRoomMessage(data.message) ? (data as unknown as RoomMessageMessage) : undefined;
    case "entry":
      return isWireLogEntry(data.entry) ? (data as unknown as EntryMessage) : undefined;
    case "peers":
      return isIdList(data.peers) ? (data as unknown as PeersMessage) : undefined;
    case "event":
      return isObject(data.event) && typeof data.event.type === "string"
        ? (data as unknown as EventMessage)
        : undefined;
    default:
      return undefined;
  }
}

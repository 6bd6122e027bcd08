import type { NodeEvent, NodeId, Topic } from "@p2panda-web/core";
import type { SyncMetrics, SyncSessionInfo } from "@p2panda-web/core/sync";
import type { P2pEvent } from "@p2panda-web/events";
import { DEFAULT_INSPECTOR_LIMITS, type InspectorLimits } from "./limits.ts";

/** The window over which sessions per second are counted, in ms. */
export const SESSION_RATE_WINDOW_MS = 10_000;

/** One discovery session as the log shows it. */
export interface DiscoveryLogEntry {
  readonly at: number;
  readonly remote: NodeId;
  readonly role: string;
  readonly outcome: "ended" | "failed" | "refused" | "skipped";
  /** Failure reason, refusal or skip cause; for an ended session, the topics shared. */
  readonly detail: string;
  readonly newlyLearned?: number;
  readonly durationMs?: number;
}

/** One gossip message received: the last leg of its path and how long the path was. */
export interface GossipMessageEntry {
  readonly at: number;
  readonly topic: Topic;
  /** The message id (hex of the content's hash, as gossip names it). */
  readonly id: string;
  /** The neighbour that handed it to us: the last node on its path. */
  readonly deliveredBy: NodeId;
  /** Links it crossed from its origin (1: the origin is the neighbour that delivered it). */
  readonly hops: number;
  readonly bytes: number;
  /**
   * Who sent it first, as the app's {@link MessageOrigin} reads it from the content (gossip
   * itself carries no author); undefined when the app says nothing.
   */
  readonly origin?: NodeId;
}

/**
 * Reads a gossip message's author from its content, for apps that put one in (unsigned: the
 * inspector shows it as the app's claim). Undefined when the content names none.
 */
export type MessageOrigin = (content: Uint8Array, topic: Topic) => NodeId | undefined;

/** Where a sync session stands (from its events). */
export interface SyncSessionEntry {
  readonly sessionId: string;
  readonly remote: NodeId;
  topic: Topic | undefined;
  role: string;
  state: "handshake" | "sync" | "finished" | "live" | "closed" | "failed";
  liveMode: boolean;
  /**
   * Operations the remote announced for the catch-up (what we lacked once the log heights were
   * compared: "operations behind"), and how many arrived so far. Undefined before that.
   */
  expected: number | undefined;
  received: number;
  error?: string;
  updatedAt: number;
}

/** A failure some part of the node reported, with its typed reason. */
export interface ErrorEntry {
  readonly at: number;
  readonly type: string;
  /** The error's `code` or the protocol's reason. */
  readonly code: string;
  readonly message: string;
  readonly remote?: NodeId;
}

/**
 * What the inspector knows from a node's events, in bounded lists. Pure: no DOM, no timers; the
 * element feeds it events and draws it. Times come from the events (`at`) or from the caller.
 */
export class InspectorState {
  readonly limits: InspectorLimits;
  readonly events: P2pEvent[] = [];
  readonly discoveryLog: DiscoveryLogEntry[] = [];
  readonly messages = new Map<Topic, GossipMessageEntry[]>();
  readonly syncSessions = new Map<string, SyncSessionEntry>();
  readonly errors: ErrorEntry[] = [];
  /** When a connection (by remote and address) was first seen open. */
  readonly #connectionSince = new Map<string, number>();
  /** Times of the sessions that ended or failed in the last {@link SESSION_RATE_WINDOW_MS}. */
  readonly #sessionTimes: number[] = [];
  /** Events seen in total (the lists keep only the last ones). */
  eventCount = 0;

  readonly #messageOrigin: MessageOrigin | undefined;

  constructor(limits: Partial<InspectorLimits> = {}, messageOrigin?: MessageOrigin) {
    this.limits = { ...DEFAULT_INSPECTOR_LIMITS, ...limits };
    this.#messageOrigin = messageOrigin;
  }

  /** Takes in one event of the node. */
  apply(raw: P2pEvent): void {
    this.eventCount++;
    push(this.events, raw, this.limits.events);
    // The node's events$ carries NodeEvent plus the app's own services' events, which no case
    // below matches.
    const event = raw as NodeEvent;
    switch (event.type) {
      case "endpoint:connection-opened":
        this.#connectionSince.set(connectionKey(event.remote, event.remoteAddress), event.at);
        break;
      case "endpoint:connection-closed":
        this.#connectionSince.delete(connectionKey(event.remote, event.remoteAddress));
        break;
      case "endpoint:dial-failed":
      case "endpoint:session-failed":
        this.#error(event.at, event.type, event.code, event.message, event.remote);
        break;
      case "endpoint:stream-refused":
        this.#error(event.at, event.type, event.code, event.protocol, event.remote);
        break;
      case "endpoint:connection-refused":
        this.#error(event.at, event.type, event.reason, "connection refused", event.remote);
        break;
      case "discovery:session-ended":
        this.#session(event.at, {
          at: event.at,
          remote: event.remoteNodeId,
          role: event.role,
          outcome: "ended",
          detail: `${event.result.topics.size} shared topic${event.result.topics.size === 1 ? "" : "s"}`,
          newlyLearned: event.newlyLearned,
          durationMs: event.durationMs,
        });
        break;
      case "discovery:session-failed":
        this.#session(event.at, {
          at: event.at,
          remote: event.remoteNodeId,
          role: event.role,
          outcome: "failed",
          detail: event.reason,
          durationMs: event.durationMs,
        });
        this.#error(event.at, event.type, event.reason, event.error.message, event.remoteNodeId);
        break;
      case "discovery:session-refused":
        this.#log({
          at: event.at,
          remote: event.remoteNodeId,
          role: "accepted",
          outcome: "refused",
          detail: event.why,
        });
        break;
      case "discovery:node-skipped":
        this.#log({
          at: event.at,
          remote: event.remoteNodeId,
          role: "initiated",
          outcome: "skipped",
          detail: event.why,
        });
        break;
      case "gossip:received": {
        let list = this.messages.get(event.topic);
        if (list === undefined) {
          list = [];
          this.messages.set(event.topic, list);
        }
        const entry: GossipMessageEntry = {
          at: event.at,
          topic: event.topic,
          id: toHexId(event.id),
          deliveredBy: event.deliveredBy,
          hops: event.hops,
          bytes: event.content.byteLength,
        };
        const origin = this.#originOf(event.content, event.topic);
        push(
          list,
          origin === undefined ? entry : { ...entry, origin },
          this.limits.messagesPerTopic,
        );
        break;
      }
      case "gossip:left":
        this.messages.delete(event.topic);
        break;
      case "gossip:peer-refused":
        this.#error(event.at, event.type, event.reason, event.error.message, event.node);
        break;
      case "sync:session-started":
        this.#syncSession(event.sessionId, event.remote, event.at, (entry) => {
          entry.role = event.role;
          entry.liveMode = event.liveMode;
          entry.topic = event.topic;
        });
        break;
      case "sync:started":
        this.#syncSession(event.sessionId, event.remote, event.at, (entry) => {
          entry.state = "sync";
          entry.topic = event.topic ?? entry.topic;
          this.#progress(entry, event.metrics);
        });
        break;
      case "sync:operation-received":
        this.#syncSession(event.sessionId, event.remote, event.at, (entry) => {
          if (event.phase === "live") {
            entry.state = "live";
            entry.liveMode = true;
          }
          this.#progress(entry, event.metrics);
        });
        break;
      case "sync:finished":
        this.#syncSession(event.sessionId, event.remote, event.at, (entry) => {
          entry.state = entry.liveMode ? "live" : "finished";
          this.#progress(entry, event.metrics);
        });
        break;
      case "sync:live-started":
        this.#syncSession(event.sessionId, event.remote, event.at, (entry) => {
          entry.state = "live";
          entry.liveMode = true;
        });
        break;
      case "sync:live-finished":
        this.#syncSession(event.sessionId, event.remote, event.at, (entry) => {
          entry.state = "closed";
        });
        break;
      case "sync:failed": {
        const code = codeOf(event.error);
        this.#syncSession(event.sessionId, event.remote, event.at, (entry) => {
          entry.state = "failed";
          entry.error = code;
        });
        this.#error(event.at, event.type, code, event.error.message, event.remote);
        break;
      }
      case "sync:peer-refused":
        this.#error(event.at, event.type, event.code, event.error.message, event.remote);
        break;
      case "node:service-failed":
        this.#error(event.at, event.type, event.service, event.reason);
        break;
    }
  }

  /**
   * Takes in the sessions sync runs now (`sync.sessions()`): those that started before the
   * inspector was attached have sent no `sync:session-started` it saw, so their role and live
   * mode come from here.
   */
  adoptSyncSessions(sessions: readonly SyncSessionInfo[], now: number): void {
    for (const info of sessions) {
      const known = this.syncSessions.has(info.sessionId);
      this.#syncSession(info.sessionId, info.remote, now, (entry) => {
        entry.topic ??= info.topic;
        // The query is current: it wins over what the last event said.
        if (info.progress !== undefined) {
          entry.expected = info.progress.behind;
          entry.received = info.progress.received;
        }
        if (entry.role === "") entry.role = info.role;
        entry.liveMode ||= info.liveMode;
        if (!known && (info.phase === "sync" || info.phase === "live")) entry.state = info.phase;
      });
    }
  }

  /**
   * Since when the connection to `remote` at `address` is open: from its event, or `now` the
   * first time it is asked (connections opened before the inspector was attached).
   */
  connectionSince(remote: NodeId, address: string, now: number): number {
    const key = connectionKey(remote, address);
    const since = this.#connectionSince.get(key);
    if (since !== undefined) return since;
    this.#connectionSince.set(key, now);
    return now;
  }

  /** Discovery sessions (ended or failed) per second over the last ten seconds before `now`. */
  sessionsPerSecond(now: number): number {
    while (
      this.#sessionTimes.length > 0 &&
      (this.#sessionTimes[0] as number) <= now - SESSION_RATE_WINDOW_MS
    ) {
      this.#sessionTimes.shift();
    }
    return this.#sessionTimes.length / (SESSION_RATE_WINDOW_MS / 1000);
  }

  #originOf(content: Uint8Array, topic: Topic): NodeId | undefined {
    if (this.#messageOrigin === undefined) return undefined;
    try {
      return this.#messageOrigin(content, topic);
    } catch {
      // The app's reader failing on a message it does not know: no origin, not an error here.
      return undefined;
    }
  }

  #session(at: number, entry: DiscoveryLogEntry): void {
    this.#sessionTimes.push(at);
    // The window needs no more entries than sessions can end in it; bound it anyway.
    if (this.#sessionTimes.length > 10_000) this.#sessionTimes.shift();
    this.#log(entry);
  }

  #log(entry: DiscoveryLogEntry): void {
    push(this.discoveryLog, entry, this.limits.discoverySessions);
  }

  #error(at: number, type: string, code: string, message: string, remote?: NodeId): void {
    push(
      this.errors,
      remote === undefined ? { at, type, code, message } : { at, type, code, message, remote },
      this.limits.errors,
    );
  }

  #syncSession(
    sessionId: string,
    remote: NodeId,
    at: number,
    update: (entry: SyncSessionEntry) => void,
  ): void {
    let entry = this.syncSessions.get(sessionId);
    if (entry === undefined) {
      entry = {
        sessionId,
        remote,
        topic: undefined,
        role: "",
        state: "handshake",
        liveMode: false,
        expected: undefined,
        received: 0,
        updatedAt: at,
      };
      this.syncSessions.set(sessionId, entry);
      // A Map iterates in insertion order: the first key is the oldest session.
      if (this.syncSessions.size > this.limits.syncSessions) {
        const oldest = this.syncSessions.keys().next().value;
        if (oldest !== undefined) this.syncSessions.delete(oldest);
      }
    }
    update(entry);
    entry.updatedAt = at;
  }

  #progress(entry: SyncSessionEntry, metrics: SyncMetrics): void {
    entry.expected = metrics.inboundOperations;
    entry.received = metrics.receivedSyncOperations;
  }
}

function push<T>(list: T[], item: T, limit: number): void {
  list.push(item);
  if (list.length > limit) list.splice(0, list.length - limit);
}

function toHexId(id: Uint8Array): string {
  let hex = "";
  for (const byte of id) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

function connectionKey(remote: NodeId, address: string): string {
  return `${remote} ${address}`;
}

/** The `code` of a typed error (`P2pandaError` and the protocols' errors), else its name. */
export function codeOf(error: Error): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : error.name;
}

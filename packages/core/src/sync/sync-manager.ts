import type { NodeId } from "../ids/node-id.ts";
import type { Topic } from "../ids/topic.ts";
import { PeerCoolDown } from "../peer-cool-down.ts";
import { DEFAULT_SYNC_COOL_DOWN_MS } from "./remote-fault.ts";

/** Default of {@link SyncManagerConfig.retryDelayMs} (upstream `failed_sync_session_retry`). */
export const DEFAULT_SYNC_RETRY_DELAY_MS = 5_000;
/** Default of {@link SyncManagerConfig.maxAcceptedSessions}. */
export const DEFAULT_MAX_ACCEPTED_SYNC_SESSIONS = 64;

/** What a {@link SyncManager} decides with; every field but `me` has a default. */
export interface SyncManagerConfig {
  /** Our node id: the initiator rule compares it with each neighbour's. */
  readonly me: NodeId;
  /** A failed session with a node that is still a neighbour is retried after this. Default 5,000 ms. */
  readonly retryDelayMs?: number;
  /** How long a peer at fault gets no new session, in either direction. Default 60,000 ms. */
  readonly coolDownMs?: number;
  /** Sessions accepted from others at once. Default 64. */
  readonly maxAcceptedSessions?: number;
}

/**
 * Names one session for the manager and its driver. Allocated by the manager (it is not the
 * session's event id, which the protocol owns), unique within one manager.
 */
export type SessionKey = number;

/** Why the manager ends a session; the driver picks how (graceful close or abort, which error). */
export type SessionEndReason =
  /** The remote is no longer a neighbour of the topic: a live session has nothing more to do. */
  | "neighbour-down"
  /** The last handle of the topic closed. */
  | "topic-closed"
  /** The remote opened a new session for the same topic: the pair keeps one, the newest. */
  | "replaced"
  /** Every accepted slot was taken, and this one had not named a topic yet. */
  | "evicted"
  /** The service stops. */
  | "stopped";

/** How a session ended, as the driver classified it. */
export type SessionOutcome =
  /** The protocol ran to its end. */
  | "finished"
  /** It failed, but not through the remote's fault (a stream reset, our store, our stop). */
  | "failed"
  /** It failed through the remote's fault (malformed, oversized, out of order, stalled…). */
  | "remote-fault";

/** What happened around the manager, fed to {@link SyncManager.handle}. */
export type SyncManagerInput =
  /** The first handle of `topic` opened; `liveMode` holds for every session of the topic. */
  | { readonly type: "topic-opened"; readonly topic: Topic; readonly liveMode: boolean }
  /** The last handle of `topic` closed. */
  | { readonly type: "topic-closed"; readonly topic: Topic }
  /** The peer-sampling overlay of `topic` has `node` as a new neighbour. */
  | { readonly type: "neighbour-up"; readonly topic: Topic; readonly node: NodeId }
  /** `node` left the overlay of `topic`. */
  | { readonly type: "neighbour-down"; readonly topic: Topic; readonly node: NodeId }
  /** `remote` opened a sync stream to us. */
  | { readonly type: "session-offered"; readonly remote: NodeId }
  /** The handshake of the accepted session `key` named `topic`. */
  | { readonly type: "topic-named"; readonly key: SessionKey; readonly topic: Topic }
  /** Session `key` ended (either role). */
  | { readonly type: "session-ended"; readonly key: SessionKey; readonly outcome: SessionOutcome }
  /**
   * A new operation of `topic`: written here (`from` undefined) or received from `from`'s
   * session.
   */
  | { readonly type: "operation"; readonly topic: Topic; readonly from?: NodeId }
  /** The retry timer of (`topic`, `node`) fired. */
  | { readonly type: "timer-fired"; readonly topic: Topic; readonly node: NodeId }
  /** The service stops: every topic closes and no session starts again. */
  | { readonly type: "stop" };

/** What the manager asks its driver to do, in order. */
export type SyncManagerOutput =
  /** Open a stream to `remote` and run an initiating session of `topic` under `key`. */
  | {
      readonly type: "initiate";
      readonly key: SessionKey;
      readonly topic: Topic;
      readonly remote: NodeId;
      readonly liveMode: boolean;
      /** Whether this is a retry of a failed session. */
      readonly retry: boolean;
    }
  /** Run an accepting session on the stream `remote` opened, under `key`. */
  | { readonly type: "accept"; readonly key: SessionKey; readonly remote: NodeId }
  /** Refuse the stream `remote` opened. */
  | { readonly type: "refuse"; readonly remote: NodeId; readonly reason: string }
  /** The accepted session `key` may go on with `topic` (the answer to `topic-named`). */
  | {
      readonly type: "bind";
      readonly key: SessionKey;
      readonly topic: Topic;
      readonly liveMode: boolean;
    }
  /** End session `key`. */
  | { readonly type: "end-session"; readonly key: SessionKey; readonly reason: SessionEndReason }
  /** Offer the new operation to these sessions (live mode; each queues it until live). */
  | { readonly type: "forward"; readonly topic: Topic; readonly keys: readonly SessionKey[] }
  /** Feed `timer-fired` for (`topic`, `node`) after `delayMs`. */
  | {
      readonly type: "set-timer";
      readonly topic: Topic;
      readonly node: NodeId;
      readonly delayMs: number;
    }
  /** The timer of (`topic`, `node`) must not fire any more. */
  | { readonly type: "cancel-timer"; readonly topic: Topic; readonly node: NodeId }
  /** A retry with `remote` was scheduled (an event for the user). */
  | {
      readonly type: "retry-scheduled";
      readonly topic: Topic;
      readonly remote: NodeId;
      readonly delayMs: number;
    }
  /** Session `key` failed through its remote's fault: the remote is on cool-down until `until`. */
  | {
      readonly type: "peer-refused";
      readonly key: SessionKey;
      readonly topic: Topic | undefined;
      readonly remote: NodeId;
      readonly until: number;
    };

interface SessionState {
  readonly key: SessionKey;
  readonly remote: NodeId;
  readonly role: "initiator" | "acceptor";
  topic: Topic | undefined;
}

interface TopicState {
  readonly liveMode: boolean;
  readonly neighbours: Set<NodeId>;
  /** Sessions of this topic by remote: one per pair. */
  readonly sessions: Map<NodeId, SessionState>;
  /** Remotes with a retry timer pending. */
  readonly retries: Set<NodeId>;
}

/**
 * Every decision of topic sync between sessions (spec §6.4), sans-IO: which neighbour gets a
 * session (the node with the smaller id initiates, so a pair has one), when a failed session is
 * retried (after `retryDelayMs`, or once the remote's cool-down is over), who is on cool-down,
 * which accepted stream gets a slot, which live sessions get a new operation, and which sessions
 * end when a neighbour leaves or a topic closes. The protocol a session runs is not its concern:
 * it names sessions by {@link SessionKey} and leaves running them to its driver.
 *
 * Time is passed in; timers are outputs. `SyncService` drives it over libp2p streams, the sync
 * simulator in virtual time.
 */
export class SyncManager {
  readonly me: NodeId;
  readonly retryDelayMs: number;
  readonly maxAcceptedSessions: number;
  readonly #coolDown: PeerCoolDown;
  readonly #topics = new Map<Topic, TopicState>();
  readonly #sessions = new Map<SessionKey, SessionState>();
  /** Accepted sessions in the order they came (eviction takes the oldest unbound one). */
  readonly #accepted = new Set<SessionState>();
  #nextKey = 1;
  #stopped = false;

  constructor(config: SyncManagerConfig) {
    this.me = config.me;
    this.retryDelayMs = config.retryDelayMs ?? DEFAULT_SYNC_RETRY_DELAY_MS;
    this.maxAcceptedSessions = config.maxAcceptedSessions ?? DEFAULT_MAX_ACCEPTED_SYNC_SESSIONS;
    this.#coolDown = new PeerCoolDown(config.coolDownMs ?? DEFAULT_SYNC_COOL_DOWN_MS);
  }

  /** Topics open now. */
  get topics(): Topic[] {
    return [...this.#topics.keys()];
  }

  /** Whether `topic` is open. */
  isOpen(topic: Topic): boolean {
    return this.#topics.has(topic);
  }

  /** Whether `node` is on cool-down at `now`. */
  isCoolingDown(node: NodeId, now: number): boolean {
    return this.#coolDown.has(node, now);
  }

  /** The session of `remote` for `topic`, if one runs. */
  sessionOf(topic: Topic, remote: NodeId): SessionKey | undefined {
    return this.#topics.get(topic)?.sessions.get(remote)?.key;
  }

  /** Sessions the manager knows of (running or starting). */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** Neighbours of `topic` as the manager was told of them. */
  neighbours(topic: Topic): NodeId[] {
    return [...(this.#topics.get(topic)?.neighbours ?? [])];
  }

  /** Feeds one input at time `now`; returns what to do, in order. */
  handle(input: SyncManagerInput, now: number): SyncManagerOutput[] {
    const out: SyncManagerOutput[] = [];
    switch (input.type) {
      case "topic-opened":
        this.#openTopic(input.topic, input.liveMode);
        break;
      case "topic-closed":
        this.#closeTopic(input.topic, out);
        break;
      case "neighbour-up":
        this.#neighbourUp(input.topic, input.node, now, out);
        break;
      case "neighbour-down":
        this.#neighbourDown(input.topic, input.node, out);
        break;
      case "session-offered":
        this.#offered(input.remote, now, out);
        break;
      case "topic-named":
        this.#topicNamed(input.key, input.topic, out);
        break;
      case "session-ended":
        this.#ended(input.key, input.outcome, now, out);
        break;
      case "operation":
        this.#operation(input.topic, input.from, out);
        break;
      case "timer-fired":
        this.#timerFired(input.topic, input.node, now, out);
        break;
      case "stop":
        this.#stop(out);
        break;
    }
    return out;
  }

  #openTopic(topic: Topic, liveMode: boolean): void {
    if (this.#stopped || this.#topics.has(topic)) return;
    this.#topics.set(topic, {
      liveMode,
      neighbours: new Set(),
      sessions: new Map(),
      retries: new Set(),
    });
  }

  #closeTopic(topic: Topic, out: SyncManagerOutput[]): void {
    const state = this.#topics.get(topic);
    if (state === undefined) return;
    this.#topics.delete(topic);
    for (const node of state.retries) out.push({ type: "cancel-timer", topic, node });
    for (const session of state.sessions.values()) {
      out.push({ type: "end-session", key: session.key, reason: "topic-closed" });
    }
  }

  #neighbourUp(topic: Topic, node: NodeId, now: number, out: SyncManagerOutput[]): void {
    const state = this.#topics.get(topic);
    if (state === undefined || node === this.me) return;
    state.neighbours.add(node);
    // One session per pair: the smaller node id opens it, the other waits to be asked.
    if (!(this.me < node) || state.sessions.has(node)) return;
    if (this.#coolDown.has(node, now))
      this.#scheduleRetry(topic, node, this.#coolDownLeft(node, now), out);
    else this.#initiate(topic, state, node, false, out);
  }

  #neighbourDown(topic: Topic, node: NodeId, out: SyncManagerOutput[]): void {
    const state = this.#topics.get(topic);
    if (state === undefined) return;
    state.neighbours.delete(node);
    if (state.retries.delete(node)) out.push({ type: "cancel-timer", topic, node });
    // A session still catching up finishes what it started; a live one only waits for news
    // that no longer comes through this neighbour.
    const session = state.sessions.get(node);
    if (session !== undefined && state.liveMode) {
      out.push({ type: "end-session", key: session.key, reason: "neighbour-down" });
    }
  }

  #offered(remote: NodeId, now: number, out: SyncManagerOutput[]): void {
    const refusal = this.#stopped
      ? "the service is stopping"
      : this.#coolDown.has(remote, now)
        ? "the remote is on cool-down"
        : this.#accepted.size >= this.maxAcceptedSessions && !this.#evictOne(out)
          ? `${this.maxAcceptedSessions} sessions are running`
          : undefined;
    if (refusal !== undefined) {
      out.push({ type: "refuse", remote, reason: refusal });
      return;
    }
    const session: SessionState = {
      key: this.#nextKey++,
      remote,
      role: "acceptor",
      topic: undefined,
    };
    this.#sessions.set(session.key, session);
    this.#accepted.add(session);
    out.push({ type: "accept", key: session.key, remote });
  }

  /**
   * Makes room for one accepted session: ends the oldest that has not named a topic we sync.
   * Cheap identities can open streams and stay silent, but only a peer that knows the topic gets
   * past the handshake, so sessions past it are never evicted (an honest live session is idle
   * most of the time, and must not be churned out by strangers).
   */
  #evictOne(out: SyncManagerOutput[]): boolean {
    for (const session of this.#accepted) {
      if (session.topic !== undefined) continue;
      this.#accepted.delete(session);
      this.#sessions.delete(session.key);
      out.push({ type: "end-session", key: session.key, reason: "evicted" });
      return true;
    }
    return false;
  }

  #topicNamed(key: SessionKey, topic: Topic, out: SyncManagerOutput[]): void {
    const session = this.#sessions.get(key);
    const state = this.#topics.get(topic);
    if (session === undefined || session.role !== "acceptor" || state === undefined) return;
    // A handshake names its topic once; a second naming is no input we act on.
    if (session.topic !== undefined) return;
    session.topic = topic;
    // From here on the session gets the topic's new operations; an older session of the same
    // pair (the remote restarted it) gives way.
    const existing = state.sessions.get(session.remote);
    if (existing !== undefined && existing !== session) {
      out.push({ type: "end-session", key: existing.key, reason: "replaced" });
    }
    state.sessions.set(session.remote, session);
    out.push({ type: "bind", key, topic, liveMode: state.liveMode });
  }

  #ended(key: SessionKey, outcome: SessionOutcome, now: number, out: SyncManagerOutput[]): void {
    const session = this.#sessions.get(key);
    if (session === undefined) return;
    this.#sessions.delete(key);
    this.#accepted.delete(session);
    const state = session.topic === undefined ? undefined : this.#topics.get(session.topic);
    if (state?.sessions.get(session.remote) === session) state.sessions.delete(session.remote);
    if (outcome === "remote-fault") {
      out.push({
        type: "peer-refused",
        key,
        topic: session.topic,
        remote: session.remote,
        until: this.#coolDown.add(session.remote, now),
      });
    }
    if (outcome === "finished" || session.role !== "initiator" || session.topic === undefined) {
      return;
    }
    // A peer at fault is tried again only once its cool-down is over.
    const delay = this.#coolDown.has(session.remote, now)
      ? this.#coolDownLeft(session.remote, now)
      : this.retryDelayMs;
    this.#scheduleRetry(session.topic, session.remote, delay, out);
  }

  #operation(topic: Topic, from: NodeId | undefined, out: SyncManagerOutput[]): void {
    const state = this.#topics.get(topic);
    if (state === undefined || !state.liveMode) return;
    const keys: SessionKey[] = [];
    for (const [remote, session] of state.sessions) if (remote !== from) keys.push(session.key);
    if (keys.length > 0) out.push({ type: "forward", topic, keys });
  }

  #timerFired(topic: Topic, node: NodeId, now: number, out: SyncManagerOutput[]): void {
    const state = this.#topics.get(topic);
    if (state === undefined || !state.retries.delete(node)) return;
    if (state.sessions.has(node) || !state.neighbours.has(node)) return;
    if (this.#coolDown.has(node, now)) {
      this.#scheduleRetry(topic, node, this.#coolDownLeft(node, now), out);
      return;
    }
    this.#initiate(topic, state, node, true, out);
  }

  #stop(out: SyncManagerOutput[]): void {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const topic of [...this.#topics.keys()]) this.#closeTopic(topic, out);
    for (const session of this.#accepted) {
      out.push({ type: "end-session", key: session.key, reason: "stopped" });
    }
  }

  #initiate(
    topic: Topic,
    state: TopicState,
    remote: NodeId,
    retry: boolean,
    out: SyncManagerOutput[],
  ): void {
    const session: SessionState = { key: this.#nextKey++, remote, role: "initiator", topic };
    this.#sessions.set(session.key, session);
    state.sessions.set(remote, session);
    out.push({
      type: "initiate",
      key: session.key,
      topic,
      remote,
      liveMode: state.liveMode,
      retry,
    });
  }

  #scheduleRetry(topic: Topic, remote: NodeId, delayMs: number, out: SyncManagerOutput[]): void {
    const state = this.#topics.get(topic);
    if (this.#stopped || state === undefined) return;
    if (!state.neighbours.has(remote) || state.retries.has(remote)) return;
    state.retries.add(remote);
    out.push({ type: "retry-scheduled", topic, remote, delayMs });
    out.push({ type: "set-timer", topic, node: remote, delayMs });
  }

  #coolDownLeft(node: NodeId, now: number): number {
    return Math.max(0, (this.#coolDown.until(node) ?? 0) - now);
  }
}

import type { P2pEvent, Unstamped } from "@p2panda-web/events";
import type { Clock } from "../clock.ts";
import type { MessageChannel } from "../codec/message-channel.ts";
import type { PayloadKey } from "../crypto/payload-key.ts";
import type { NodeId } from "../ids/node-id.ts";
import type { Topic } from "../ids/topic.ts";
import type { LogId } from "./log-id.ts";

/**
 * The data-type-agnostic seam of sync (spec §6.5): a protocol runs over one message channel to
 * one remote and produces an output. Log sync (`SyncSession`) is one implementation; an app can
 * bring its own (sets, Merkle trees…) and have a manager start it per (topic, remote, liveMode)
 * exactly like log sync.
 *
 * Contract for implementations:
 * - `run` drives the whole session over `channel` and resolves with the output once the protocol
 *   ended cleanly (it half-closes the channel with `channel.close()` when it has nothing more to
 *   send);
 * - on bad input from the remote (malformed, out of order, oversized, stalled) it rejects with a
 *   typed `P2pandaError` and aborts the channel; it never leaves the channel half-used;
 * - it does no I/O other than the channel and its own stores, takes time and randomness
 *   injected, and reports progress through `emit` (plain values; the manager turns them into an
 *   event stream).
 */
export interface SyncProtocol<TOutput, TEvent = never> {
  /** Short name, for logs and events. */
  readonly name: string;
  /**
   * Runs the protocol over `channel` to its end; `emit` receives its events. Rejects on failure.
   */
  run(channel: MessageChannel, emit?: (event: TEvent) => void): Promise<TOutput>;
}

/** What {@link runProtocol} reports. */
export type ProtocolOutcome<T> =
  | { readonly ok: true; readonly output: T }
  | { readonly ok: false; readonly error: Error };

/**
 * Runs a protocol and settles with its outcome instead of throwing; aborts the channel on an
 * error so the remote learns of it. For managers that run many sessions side by side.
 */
export async function runProtocol<T, E>(
  protocol: SyncProtocol<T, E>,
  channel: MessageChannel,
  emit?: (event: E) => void,
): Promise<ProtocolOutcome<T>> {
  try {
    return { ok: true, output: await protocol.run(channel, emit) };
  } catch (error) {
    const err = error instanceof Error ? error : new Error(String(error));
    channel.abort(err);
    return { ok: false, error: err };
  }
}

/** Fields every event of a topic sync protocol carries, so the service can route it by topic. */
export interface TopicSyncEvent extends P2pEvent {
  readonly sessionId: string;
  readonly remote: NodeId;
  /** Known from the start for the initiator, after the handshake for the acceptor. */
  readonly topic: Topic | undefined;
}

/** What a {@link TopicSyncProtocol} gets to make one session. */
export interface TopicSessionOptions {
  /** `initiator` opened the stream and names the topic; `acceptor` answers. */
  readonly role: "initiator" | "acceptor";
  /** The topic (initiator only). */
  readonly topic?: Topic;
  /**
   * Acceptor: whether we sync the topic the initiator named. Called once, before anything of
   * the topic is read; the manager binds the session to the topic when it answers `true`.
   */
  readonly isSubscribed?: (topic: Topic) => boolean;
  /** Whether the session stays open after catching up (an acceptor learns it per topic). */
  readonly liveMode: boolean | ((topic: Topic) => boolean);
  /** Time source for event stamps and deadlines. */
  readonly clock: Clock;
}

/**
 * How far a session's catch-up is, once both sides compared their log heights and announced
 * what they will send (the numbers are operations).
 */
export interface SyncProgress {
  /** What the remote announced to send: how many operations we lacked when the catch-up began. */
  readonly behind: number;
  /** Of {@link SyncProgress.behind}, how many arrived so far. */
  readonly received: number;
  /** What we announced to send: how many operations the remote lacked. */
  readonly ahead: number;
  /** Of {@link SyncProgress.ahead}, how many we sent so far. */
  readonly sent: number;
}

/** One session of a {@link TopicSyncProtocol}, as the service drives it. */
export interface TopicSyncSession<TItem, TEvent> extends SyncProtocol<unknown, TEvent> {
  /** Identifies the session in its events. */
  readonly id: string;
  readonly role: "initiator" | "acceptor";
  /** The topic (for an acceptor: once the handshake named it). */
  readonly topic: Topic | undefined;
  /** Where the session is, for diagnostics (`"live"` when in live mode). */
  readonly phase: string;
  readonly liveMode: boolean;
  /**
   * The catch-up's progress, for protocols that can tell (log sync: once the heights were
   * compared); undefined before that or when the protocol has no such notion.
   */
  readonly progress?: SyncProgress | undefined;
  /** Live mode: offers a new item of the topic to the remote (queued until live). */
  publish(item: TItem): void;
  /** Ends live mode gracefully. */
  close(): void;
  /** Ends the session now. */
  abort(reason?: Error): void;
}

/**
 * A sync protocol as `SyncService` runs it per topic and remote (spec §6.5): the service
 * decides who syncs with whom (its `SyncManager`), opens the streams and forwards live items; the
 * protocol makes sessions, writes local items, lists what it holds and says which failures are
 * the remote's fault. Log sync (`LogSyncProtocol`) is the default; an app brings its own data
 * type by implementing this.
 *
 * @typeParam TItem - what is synced and forwarded in live mode (log sync: an `Operation`).
 * @typeParam TEvent - the events its sessions emit.
 * @typeParam TWrite - what an app writes through a handle (log sync: a payload).
 * @typeParam TWriteOptions - options of a write (log sync: `PublishOptions`).
 */
export interface TopicSyncProtocol<TItem, TEvent extends TopicSyncEvent, TWrite, TWriteOptions> {
  /** Short name, for logs. */
  readonly name: string;
  /** The stream protocol its sessions run on (one per protocol, so protocols never mix). */
  readonly streamProtocol: string;
  /**
   * A topic opens here: prepare what its sessions need (log sync: our log joins the topic, and
   * a payload key seals what we write and opens what we receive).
   */
  openTopic(
    topic: Topic,
    options: { readonly logId?: LogId; readonly payloadKey?: PayloadKey },
  ): Promise<void>;
  /** A new session. */
  session(options: TopicSessionOptions): TopicSyncSession<TItem, TEvent>;
  /** Writes `input` locally, durably; the service then offers the result to live peers. */
  write(
    topic: Topic,
    input: TWrite,
    options: TWriteOptions | undefined,
    now: number,
  ): Promise<TItem>;
  /** Everything held for `topic`. */
  items(topic: Topic): Promise<TItem[]>;
  /** The item `event` reports as received and stored, if any: it goes on to other live peers. */
  received(event: TEvent): TItem | undefined;
  /** Whether a session failed through the remote's fault (the remote then cools down). */
  isRemoteFault(error: Error): boolean;
  /** Whether a failure is no failure at all (log sync: the remote does not sync the topic). */
  isDeclined?(error: Error): boolean;
  /** The event that reports a session that failed before it ran (its stream did not open). */
  failedEvent(
    session: TopicSyncSession<TItem, TEvent>,
    remote: NodeId,
    error: Error,
  ): Unstamped<TEvent>;
}

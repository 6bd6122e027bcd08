// One node for every tab of an app (joinTopic's `tabs: "shared"`). The tabs wait in line for one
// Web Lock; the tab holding it is the leader: it runs the node and the room, and serves the
// others over a BroadcastChannel. Every other tab is a follower: its calls go to the leader
// (TabCalls keeps them until answered, re-sends them to a new leader, and gives up at their
// deadline), and it hears what the leader hears. When the leader goes, the lock passes to the
// next tab in line, which starts the node with the same identity and stores (IndexedDB is shared
// by the origin) and announces itself; the followers re-send what was in flight.
import {
  type NodeEvent,
  type NodeId,
  P2pandaError,
  type PageSignal,
  type PageSignals,
  type Runtime,
  systemRuntime,
  type Topic,
  toHex,
} from "@p2panda-web/core";
import { decodeOperation, type Operation } from "@p2panda-web/core/sync";
import { BehaviorSubject, type Observable, Subject, type Subscription } from "rxjs";
import type { IdentityLocks } from "../identity-store.ts";
import { RoomLeftError } from "../room/errors.ts";
import { type LogEntry, logEntryOf } from "../room/log-entry.ts";
import type { Room, RoomContent } from "../room/room.ts";
import type { RoomMessage } from "../room/room-message.ts";
import type { RoomNode } from "../room/room-node.ts";
import { TabCalls, type TabCallsOutput } from "./tab-calls.ts";
import type { TabChannel } from "./tab-channel.ts";
import { TabLeaderSteppedDownError, TabLeaderTimeoutError } from "./tab-errors.ts";
import {
  type CallMessage,
  parseTabMessage,
  TAB_PROTOCOL_VERSION,
  type TabCallMethod,
  type TabCallValue,
  type TabMessage,
  type WireError,
  type WireLogEntry,
} from "./tab-message.ts";
import type { TopicRoom, TopicRoomLog } from "./topic-room.ts";

/** Which part a tab plays: it runs the node (`leader`) or uses another tab's (`follower`). */
export type TabRole = "leader" | "follower";

/** Options of {@link SharedRoom.join}. */
export interface SharedRoomOptions<N extends RoomNode> {
  /** The room's topic on the network (what `Room.topic` will be). */
  readonly topic: Topic;
  /** The channel to the other tabs (every tab of the shared node uses the same one). */
  readonly channel: TabChannel;
  readonly locks: IdentityLocks;
  /** The lock whose holder leads. */
  readonly lockName: string;
  /** Starts the node and joins the room; called when this tab becomes the leader. */
  readonly lead: () => Promise<Room<N>>;
  /** How long a follower's `append` and `history` wait for an answer. Default 20 s. */
  readonly callTimeoutMs?: number;
  /**
   * How long a follower's `publish` waits for an answer. Default 40 s: the leader's room may
   * hold a message up to 30 s for the first neighbour.
   */
  readonly publishTimeoutMs?: number;
  /** How long `join` waits for a leader (or to become it). Default 30 s. */
  readonly leaderTimeoutMs?: number;
  /** Clock, timers and the rng for tab and call ids. Default: the system's. */
  readonly runtime?: Runtime;
  /**
   * The page's lifecycle (`browserPageSignals()` in a page). A leader whose page goes into the
   * back/forward cache tells the others it is leaving, as the page may never come back: they
   * make the browser evict it ({@link IdentityLocks.contend}), which frees the lock for the next
   * tab in line. Restored instead (no other tab took over), it announces itself again. A
   * leader whose page is frozen steps down (a frozen page keeps its lock and answers nothing):
   * it says it is leaving, stops its node and releases the lock; resumed, it lines up again.
   */
  readonly signals?: PageSignals;
  /**
   * The page's storage, suspended while this tab is stepped down (frozen): in a page,
   * `{ suspend: suspendIdbTransactions, resume: resumeIdbTransactions }`, which `joinTopic`
   * passes there. Not in tests whose "tabs" share one realm: it would stop them all.
   */
  readonly pageStorage?: {
    /** Aborts what runs and what starts until {@link resume}: the tab steps down. */
    suspend(): void;
    /** Lets storage run again: the page resumed. */
    resume(): void;
  };
}

/** How often a follower that lost its leader asks the browser to evict a cached lock holder. */
const CONTEND_EVERY_MS = 1_000;

/** Calls a leader remembers having answered, so a re-sent call is not run twice. */
const REMEMBERED_CALLS = 1024;

/**
 * The header extension that carries the call id of an append made for a follower tab. A leader
 * given a call again after a takeover looks for it in the log: the old leader may have stored
 * the entry and gone before it answered, and the entry must not be stored twice.
 */
export const TAB_CALL_EXTENSION = "p2panda-web/tab-call";

function tabCallOf(entry: LogEntry): unknown {
  const extensions = entry.operation.header.extensions;
  return typeof extensions === "object" && extensions !== null
    ? (extensions as Record<string, unknown>)[TAB_CALL_EXTENSION]
    : undefined;
}

function wireEntry(entry: LogEntry): WireLogEntry {
  const { headerBytes, body, payload } = entry.operation;
  return {
    headerBytes,
    ...(body !== undefined ? { body } : {}),
    ...(payload !== undefined ? { payload } : {}),
  };
}

function entryOf(wire: WireLogEntry): LogEntry {
  const operation: Operation = decodeOperation(wire.headerBytes, wire.body);
  return logEntryOf(
    wire.payload === undefined ? operation : { ...operation, payload: wire.payload },
  );
}

function messageOf(wire: { from: string; content: Uint8Array; id: string }): RoomMessage {
  return {
    from: wire.from as NodeId,
    content: wire.content,
    id: wire.id,
    text: () => new TextDecoder().decode(wire.content),
  };
}

function wireError(error: unknown): WireError {
  return {
    code: error instanceof P2pandaError ? error.code : "UNKNOWN",
    message: (error instanceof Error ? error.message : String(error)).slice(0, 4096),
  };
}

function bytesOf(content: RoomContent): Uint8Array {
  return typeof content === "string" ? new TextEncoder().encode(content) : content;
}

/**
 * A room shared by the tabs of an origin: the same API in every tab, backed by the node this tab
 * runs while it leads, or by the leader tab's node over the channel while it follows. A follower
 * becomes the leader when the leader goes; the room's streams go on across the change.
 */
export class SharedRoom<N extends RoomNode = RoomNode> implements TopicRoom {
  readonly topic: Topic;
  readonly log: TopicRoomLog;
  /** This tab's id on the channel. */
  readonly tabId: string;
  readonly #options: SharedRoomOptions<N>;
  readonly #runtime: Runtime;
  readonly #calls: TabCalls;
  readonly #waiting = new Map<
    string,
    { resolve: (value: TabCallValue) => void; reject: (error: unknown) => void }
  >();
  readonly #served = new Map<string, Promise<ResultBody>>();
  readonly #messages = new Subject<RoomMessage>();
  readonly #operations = new Subject<LogEntry>();
  readonly #events = new Subject<NodeEvent | { readonly type: string }>();
  readonly #peers = new BehaviorSubject<ReadonlySet<NodeId>>(new Set());
  readonly #role = new BehaviorSubject<TabRole>("follower");
  readonly #election = new AbortController();
  readonly #known = new Subject<void>();
  #nodeId: NodeId | undefined;
  #leaderTab: string | undefined;
  #room: Room<N> | undefined;
  #roomSubscriptions: Subscription[] = [];
  #release: (() => Promise<void>) | undefined;
  #timer: { cancel(): void } | undefined;
  #contending: { cancel(): void } | undefined;
  #unsubscribeSignals: (() => void) | undefined;
  #left = false;
  #leaving: Promise<void> | undefined;
  /** Tabs of this room heard from and not yet gone (a frozen leader steps down only for them). */
  readonly #otherTabs = new Set<string>();
  /** Stepped down on `frozen`: lines up again on `resumed`. */
  #steppedDown = false;

  private constructor(options: SharedRoomOptions<N>) {
    this.#options = options;
    this.#runtime = options.runtime ?? systemRuntime;
    this.topic = options.topic;
    this.tabId = toHex(this.#runtime.rng.bytes(8));
    this.#calls = new TabCalls(this.tabId);
    const room = this;
    this.log = {
      append: (content) => this.#append(content),
      history: () => this.#history(),
      get operations$() {
        return room.#operations.asObservable();
      },
    };
  }

  /**
   * Joins the shared room: lines up for leadership, and resolves once this tab leads (its node
   * runs) or knows the leader (its node id).
   *
   * @throws TabLeaderTimeoutError when neither happens within `leaderTimeoutMs`; what `lead`
   * throws when this tab was elected and could not start the node.
   */
  static async join<N extends RoomNode>(options: SharedRoomOptions<N>): Promise<SharedRoom<N>> {
    const room = new SharedRoom(options);
    try {
      await room.#start();
    } catch (error) {
      await room.leave().catch(() => {});
      throw error;
    }
    return room;
  }

  /** The node's id (the leader's, the same in every tab). */
  get nodeId(): NodeId {
    return this.#nodeId as NodeId;
  }

  /** Whether this tab runs the node now. */
  get role(): TabRole {
    return this.#role.value;
  }

  /** The role of this tab; the current one first. A follower becomes the leader when the leader goes. */
  get role$(): Observable<TabRole> {
    return this.#role.asObservable();
  }

  /** The node, while this tab leads; `undefined` in a follower. */
  get node(): N | undefined {
    return this.#room?.node;
  }

  /** Ephemeral messages of other nodes on the topic (not those of this node's tabs). */
  get messages$(): Observable<RoomMessage> {
    return this.#messages.asObservable();
  }

  /** The node's neighbours on the topic; current value first. */
  get peers$(): Observable<ReadonlySet<NodeId>> {
    return this.#peers.asObservable();
  }

  /**
   * The node's events. In a follower they are structured clones of the leader's (errors lose
   * their class, functions are dropped, events that cannot be cloned are not sent).
   */
  get events$(): Observable<NodeEvent | { readonly type: string }> {
    return this.#events.asObservable();
  }

  /**
   * Sends an ephemeral message through the node (see `Room.publish`).
   *
   * @throws what `Room.publish` throws (in a follower as TabCallFailedError with its code as
   * `leaderCode`), TabCallTimeoutError when no leader answered in time, RoomLeftError.
   */
  async publish(content: RoomContent): Promise<string> {
    if (this.#left) throw new RoomLeftError();
    if (this.#room !== undefined) return this.#room.publish(content);
    const timeout = this.#options.publishTimeoutMs ?? 40_000;
    return (await this.#call("publish", bytesOf(content), timeout)) as string;
  }

  async #append(content: RoomContent): Promise<LogEntry> {
    if (this.#left) throw new RoomLeftError();
    const timeout = this.#options.callTimeoutMs ?? 20_000;
    const room = this.#room;
    if (room !== undefined) {
      // Marked like a follower's call, so the next leader can find it if this tab steps down
      // while it is written.
      const id = this.#newCallId();
      try {
        return await room.log.append(content, { extensions: { [TAB_CALL_EXTENSION]: id } });
      } catch (error) {
        if (this.#left || this.#room === room) throw error;
        // Stepped down (frozen) mid-write: the next leader stores it, or finds it stored.
        const wire = await this.#call("append", bytesOf(content), timeout, { id, retry: true });
        return entryOf(wire as WireLogEntry);
      }
    }
    return entryOf((await this.#call("append", bytesOf(content), timeout)) as WireLogEntry);
  }

  async #history(): Promise<LogEntry[]> {
    if (this.#left) throw new RoomLeftError();
    const room = this.#room;
    if (room !== undefined) {
      try {
        return await room.log.history();
      } catch (error) {
        if (this.#left || this.#room === room) throw error;
      }
    }
    const timeout = this.#options.callTimeoutMs ?? 20_000;
    return ((await this.#call("history", undefined, timeout)) as WireLogEntry[]).map(entryOf);
  }

  /**
   * Leaves: a leader tells the followers, leaves its room (stopping the node) and passes the
   * lock to the next tab; a follower leaves the line. Calls still waiting fail with
   * RoomLeftError; the streams complete. Idempotent.
   */
  leave(): Promise<void> {
    this.#leaving ??= this.#leave();
    return this.#leaving;
  }

  async #leave(): Promise<void> {
    this.#left = true;
    this.#election.abort(new RoomLeftError());
    this.#timer?.cancel();
    this.#contending?.cancel();
    this.#unsubscribeSignals?.();
    this.#perform(this.#calls.failAll(new RoomLeftError()));
    const room = this.#room;
    this.#room = undefined;
    for (const subscription of this.#roomSubscriptions) subscription.unsubscribe();
    // A follower says so too: a leader steps down on freeze only while another tab is there.
    this.#post({ kind: "leaving" });
    try {
      await room?.leave();
    } finally {
      await this.#release?.();
      this.#options.channel.close();
      this.#messages.complete();
      this.#operations.complete();
      this.#events.complete();
      this.#peers.complete();
      this.#role.complete();
      this.#known.complete();
    }
  }

  async #start(): Promise<void> {
    this.#options.channel.listen((data) => this.#receive(data));
    this.#unsubscribeSignals = this.#options.signals?.subscribe((signal) =>
      this.#pageSignal(signal),
    );
    const elected = this.#elect();
    this.#post({ kind: "who" });
    await new Promise<void>((resolve, reject) => {
      const timeoutMs = this.#options.leaderTimeoutMs ?? 30_000;
      const timer = this.#runtime.timers.after(timeoutMs, () => {
        known.unsubscribe();
        reject(new TabLeaderTimeoutError(timeoutMs));
      });
      // Known: a leader answered, or this tab leads.
      const known = this.#known.subscribe(() => {
        timer.cancel();
        known.unsubscribe();
        resolve();
      });
      elected.catch((error: unknown) => {
        timer.cancel();
        known.unsubscribe();
        reject(error);
      });
    });
    if (this.#left) throw new RoomLeftError();
  }

  /**
   * Waits in line for the lock and, once this tab holds it, starts the room and leads. Rejects
   * if `lead` fails (the lock then passes on, and this room ends).
   */
  async #elect(): Promise<void> {
    let release: () => Promise<void>;
    try {
      release = await this.#options.locks.acquire(this.#options.lockName, this.#election.signal);
    } catch (error) {
      if (this.#left) return; // Left while waiting in line.
      throw error;
    }
    this.#release = release;
    if (this.#left) {
      await release();
      return;
    }
    let room: Room<N>;
    try {
      room = await this.#options.lead();
    } catch (error) {
      this.#release = undefined;
      await release();
      void this.leave().catch(() => {});
      throw error;
    }
    if (this.#left) {
      await room.leave().catch(() => {});
      return;
    }
    this.#becomeLeader(room);
  }

  /**
   * Into the back/forward cache a leader may never come back, and Chromium leaves it the lock:
   * it says it is leaving (the followers re-send what waits for an answer, and make the browser
   * evict it). Back from the cache with the lock still held, it leads on and says so.
   */
  #pageSignal(signal: PageSignal): void {
    if (this.#left) return;
    if (signal.type === "resumed" && this.#steppedDown) {
      this.#steppedDown = false;
      this.#options.pageStorage?.resume();
      this.#post({ kind: "who" });
      // Back in line: this tab leads again only if no other tab took the lock meanwhile. A
      // failed `lead` has left the room (see #elect).
      this.#elect().catch(() => {});
      return;
    }
    if (this.#room === undefined) return;
    // Alone, a frozen leader keeps its node (the node's lifecycle pauses and resumes it): no tab
    // is waiting for the lock, and stepping down would only restart the node on the resume.
    if (signal.type === "frozen" && this.#otherTabs.size > 0) this.#stepDown();
    if (signal.type === "pagehide" && signal.persisted) this.#post({ kind: "leaving" });
    if (signal.type === "pageshow" && signal.persisted) this.#announce();
  }

  /**
   * A frozen page runs nothing, so a frozen leader would keep the lock and leave its followers'
   * calls unanswered until their deadline. Within the `freeze` event (the page gets little time)
   * it starts what matters at once: it tells the others it is leaving, closes its connections,
   * aborts its IndexedDB transactions, releases the lock (the next tab in line leads) and starts stopping its node. Calls it was
   * running for followers are answered with TabLeaderSteppedDownError unless they finish, and
   * the followers send them to the next leader.
   */
  #stepDown(): void {
    const room = this.#room;
    if (room === undefined) return;
    this.#steppedDown = true;
    this.#room = undefined;
    for (const subscription of this.#roomSubscriptions) subscription.unsubscribe();
    this.#roomSubscriptions = [];
    this.#leaderTab = undefined;
    this.#calls.leaderLeaving(this.tabId);
    this.#served.clear();
    this.#post({ kind: "leaving" });
    const endpoint: object = room.node.endpoint;
    if ("suspend" in endpoint && typeof endpoint.suspend === "function") {
      try {
        endpoint.suspend();
      } catch {
        // Closing early is a courtesy: stopping the node closes them too.
      }
    }
    // A transaction of this page left running would never commit while it is frozen, and the
    // next leader's node could not write to the shared stores (measured: it waited until the
    // resume). What is aborted fails here, and an append is re-sent (see #append).
    this.#options.pageStorage?.suspend();
    const release = this.#release;
    this.#release = undefined;
    release?.().catch(() => {});
    room.leave().catch(() => {});
    this.#role.next("follower");
  }

  /**
   * While no leader is known after one left, asks the browser every second to evict a cached
   * page holding the lock (the leader gone into the back/forward cache); stops once a leader
   * announces itself or this tab leads.
   */
  #contend(): void {
    const contend = this.#options.locks.contend;
    if (contend === undefined || this.#contending !== undefined) return;
    const round = (): void => {
      this.#contending = undefined;
      if (this.#left || this.#room !== undefined || this.#leaderTab !== undefined) return;
      contend.call(this.#options.locks, this.#options.lockName).catch(() => {});
      this.#contending = this.#runtime.timers.after(CONTEND_EVERY_MS, round);
    };
    round();
  }

  #becomeLeader(room: Room<N>): void {
    this.#contending?.cancel();
    this.#contending = undefined;
    this.#room = room;
    this.#nodeId = room.nodeId;
    this.#leaderTab = this.tabId;
    const forward = (message: Record<string, unknown> & { kind: TabMessage["kind"] }) =>
      this.#post(message);
    this.#roomSubscriptions = [
      room.messages$.subscribe((message) => {
        this.#messages.next(message);
        forward({
          kind: "message",
          message: { from: message.from, content: message.content, id: message.id },
        });
      }),
      room.log.operations$.subscribe((entry) => {
        this.#operations.next(entry);
        forward({ kind: "entry", entry: wireEntry(entry) });
      }),
      room.peers$.subscribe((peers) => {
        this.#peers.next(peers);
        forward({ kind: "peers", peers: [...peers] });
      }),
      room.events$.subscribe((event) => {
        this.#events.next(event);
        forward({ kind: "event", event });
      }),
    ];
    this.#role.next("leader");
    this.#announce();
    // Calls this tab made as a follower that are still waiting now run here.
    this.#perform(this.#calls.leaderAnnounced(this.tabId));
    this.#known.next();
  }

  #announce(): void {
    const room = this.#room;
    if (room === undefined) return;
    this.#post({
      kind: "leader",
      nodeId: room.nodeId,
      peers: [...(this.#peers.value ?? [])],
    });
  }

  #post(message: Record<string, unknown> & { kind: TabMessage["kind"] }): void {
    if (this.#left && message.kind !== "leaving") return;
    try {
      this.#options.channel.post({ v: TAB_PROTOCOL_VERSION, from: this.tabId, ...message });
    } catch {
      // An event that cannot be cloned (it holds a function), or a closed channel: not sent.
    }
  }

  #receive(data: unknown): void {
    const message = parseTabMessage(data);
    if (message === undefined || this.#left || message.from === this.tabId) return;
    if (message.kind === "leaving") this.#otherTabs.delete(message.from);
    else this.#otherTabs.add(message.from);
    switch (message.kind) {
      case "who":
        this.#announce();
        return;
      case "call":
        if (this.#room !== undefined && message.to === this.tabId) {
          // #serve never rejects; posting may throw on a channel closed while the call ran (the
          // tab is leaving), and then nobody is left to answer.
          void this.#serve(message)
            .then((body) =>
              this.#post({ kind: "result", to: message.from, id: message.id, ...body }),
            )
            .catch(() => {});
        }
        return;
      case "leader":
        if (this.#room !== undefined) return;
        this.#contending?.cancel();
        this.#contending = undefined;
        this.#leaderTab = message.from;
        this.#nodeId = message.nodeId as NodeId;
        this.#peers.next(new Set(message.peers as NodeId[]));
        this.#perform(this.#calls.leaderAnnounced(message.from));
        this.#known.next();
        return;
      case "leaving":
        this.#calls.leaderLeaving(message.from);
        if (this.#leaderTab === message.from) {
          this.#leaderTab = undefined;
          // Its page may sit in the back/forward cache, lock held: have it evicted.
          if (this.#room === undefined) this.#contend();
        }
        return;
      case "result":
        this.#perform(
          this.#calls.result(
            message.from,
            message.to,
            message.id,
            message.ok ? { ok: true, value: message.value } : { ok: false, error: message.error },
          ),
        );
        return;
    }
    // What the leader hears: only from the leader this tab follows.
    if (this.#room !== undefined || message.from !== this.#leaderTab) return;
    switch (message.kind) {
      case "message":
        this.#messages.next(messageOf(message.message));
        return;
      case "entry": {
        let entry: LogEntry;
        try {
          entry = entryOf(message.entry);
        } catch {
          return; // Not an operation: dropped.
        }
        this.#operations.next(entry);
        return;
      }
      case "peers":
        this.#peers.next(new Set(message.peers as NodeId[]));
        return;
      case "event":
        this.#events.next(message.event);
        return;
    }
  }

  /** Runs a follower's call on this tab's room; a call id seen before gets the same answer. */
  #serve(call: CallMessage): Promise<ResultBody> {
    const seen = this.#served.get(call.id);
    if (seen !== undefined) return seen;
    const room = this.#room;
    const answer = this.#run(call).then(
      (value): ResultBody => ({ ok: true, value }),
      (error: unknown): ResultBody => ({
        ok: false,
        // A call cut short by this tab stepping down is the next leader's to run.
        error: wireError(
          room !== undefined && this.#room !== room ? new TabLeaderSteppedDownError() : error,
        ),
      }),
    );
    this.#served.set(call.id, answer);
    if (this.#served.size > REMEMBERED_CALLS) {
      const oldest = this.#served.keys().next().value as string;
      this.#served.delete(oldest);
    }
    return answer;
  }

  async #run(call: CallMessage): Promise<TabCallValue> {
    const room = this.#room;
    if (room === undefined) throw new RoomLeftError();
    if (call.deadline < this.#runtime.clock.now()) {
      throw new P2pandaError("TAB_CALL_EXPIRED", "the call's deadline passed before it ran");
    }
    switch (call.method) {
      case "publish":
        return room.publish(call.content as Uint8Array);
      case "append": {
        if (call.retry === true) {
          const stored = (await room.log.history()).find(
            (entry) => entry.author === room.nodeId && tabCallOf(entry) === call.id,
          );
          if (stored !== undefined) return wireEntry(stored);
        }
        const extensions = { [TAB_CALL_EXTENSION]: call.id };
        return wireEntry(await room.log.append(call.content as Uint8Array, { extensions }));
      }
      case "history":
        return (await room.log.history()).map(wireEntry);
    }
  }

  #newCallId(): string {
    return toHex(this.#runtime.rng.bytes(12));
  }

  #call(
    method: TabCallMethod,
    content: Uint8Array | undefined,
    timeoutMs: number,
    as: { readonly id: string; readonly retry: boolean } = { id: this.#newCallId(), retry: false },
  ): Promise<TabCallValue> {
    const { id, retry } = as;
    const now = this.#runtime.clock.now();
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.#perform(this.#calls.call(id, method, content, now, timeoutMs, retry));
    });
  }

  #perform(outputs: readonly TabCallsOutput[]): void {
    for (const output of outputs) {
      switch (output.type) {
        case "send": {
          const message = output.message;
          if (message.to === this.tabId) {
            // This tab became the leader: the call runs here, and its answer comes back the
            // way a leader's would.
            void this.#serve(message)
              .then((body) =>
                this.#perform(this.#calls.result(this.tabId, this.tabId, message.id, body)),
              )
              .catch(() => {});
          } else {
            this.#post({ ...message });
          }
          break;
        }
        case "resolve":
          this.#waiting.get(output.id)?.resolve(output.value);
          this.#waiting.delete(output.id);
          break;
        case "reject":
          this.#waiting.get(output.id)?.reject(output.error);
          this.#waiting.delete(output.id);
          break;
      }
    }
    this.#schedule();
  }

  /** One timer, at the earliest deadline of a waiting call. */
  #schedule(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    const next = this.#calls.nextDeadline();
    if (next === undefined || this.#left) return;
    const delay = Math.max(0, next - this.#runtime.clock.now());
    this.#timer = this.#runtime.timers.after(delay, () => {
      this.#timer = undefined;
      this.#perform(this.#calls.tick(this.#runtime.clock.now()));
    });
  }
}

type ResultBody = { ok: true; value: TabCallValue } | { ok: false; error: WireError };

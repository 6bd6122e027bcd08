import { Identity } from "../identity/identity.ts";
import { NodeId } from "../ids/node-id.ts";
import type { Topic } from "../ids/topic.ts";
import { type Rng, seededRng, shuffle } from "../random.ts";
import type { ScheduledTimer } from "../runtime/timers.ts";
import { scheduleChurn } from "../sim/churn.ts";
import { Convergence } from "../sim/convergence.ts";
import { type LatencyRange, SimNetwork } from "../sim/network.ts";
import { VirtualScheduler } from "../sim/scheduler.ts";
import { type Summary, summarize } from "../sim/statistics.ts";
import { simulatorTopic } from "../sim/topic.ts";
import type { LogHeight, LogRange } from "./log-heights.ts";
import { logIdKey } from "./log-id.ts";
import { LogSync, type LogSyncOutput } from "./log-sync.ts";
import type { TopicSyncMessage } from "./messages.ts";
import { authorOf, createOperation, type Operation, operationSize } from "./operation.ts";
import {
  type SessionKey,
  type SessionOutcome,
  SyncManager,
  type SyncManagerInput,
  type SyncManagerOutput,
} from "./sync-manager.ts";
import { TopicHandshake } from "./topic-handshake.ts";

/** Options of a {@link SyncSimulator}. */
export interface SyncSimulatorOptions {
  /** Number of nodes. */
  readonly nodes: number;
  /** Number of topics; each node syncs one, picked at random. Default 4. */
  readonly topics?: number;
  /** Seed of everything random (keys, topics, latencies, churn, write times). Default 1. */
  readonly seed?: number;
  /** Operations each node writes, at random times in [0, writeWindowMs). Default 3. */
  readonly writesPerNode?: number;
  /** Default 60,000 ms. */
  readonly writeWindowMs?: number;
  /**
   * Share of the nodes that go offline in each second of the churn window (a churn round per
   * second, `scheduleChurn`); as many come back, each after at least {@link minOfflineMs}.
   * Default 0.005.
   */
  readonly leavePerSecond?: number;
  /** Churn happens in [0, churnWindowMs); everyone is back online at its end. Default 60,000 ms. */
  readonly churnWindowMs?: number;
  /** A node that left stays away at least this long. Default 10,000 ms. */
  readonly minOfflineMs?: number;
  /** One-way latency of each link (`SimNetwork`). Default 20–80 ms. */
  readonly latencyMs?: LatencyRange;
  /** How long before the other side of a link notices a node went away. Default 2,000 ms. */
  readonly failureDetectionMs?: number;
  /** How long a dial to a node that is away takes to fail (`SimNetwork`). Default 3,000 ms. */
  readonly dialFailMs?: number;
  /** Neighbours each node keeps per topic (the overlay's active view). Default 5. */
  readonly degree?: number;
  /** Passed to every node's {@link SyncManager}. Default 5,000 ms. */
  readonly retryDelayMs?: number;
  /** Virtual time after which the run gives up. Default 600,000 ms. */
  readonly maxTimeMs?: number;
  /** Payload bytes per operation. Default 64. */
  readonly payloadBytes?: number;
}

/** What a run measured. Every field but `wallMs` is the same for the same options and seed. */
export interface SyncSimulationReport {
  readonly nodes: number;
  readonly topics: number;
  readonly operations: number;
  /** When the last write or churn event happened: every node is online from here on. */
  readonly quietAtMs: number;
  /** When every node held every operation of its topic (virtual ms), if it did. */
  readonly convergedAtMs: number | undefined;
  /** `convergedAtMs − quietAtMs`: how long the network needed once writes and churn stopped. */
  readonly convergenceAfterQuietMs: number | undefined;
  /** Per node, the time from the quiet point until it held every operation of its topic. */
  readonly nodeConvergenceMs: Summary;
  /** (node, operation) pairs still missing at the end (0 when converged). */
  readonly missing: number;
  /** Time from an operation's write until every node of its topic held it. */
  readonly deliveryMs: Summary;
  readonly offlineEvents: number;
  readonly sessionsStarted: number;
  readonly sessionsFailed: number;
  readonly retries: number;
  /** Sync messages delivered, all kinds. */
  readonly messages: number;
  /** Operations sent (sync phase and live), whether they arrived or not. */
  readonly operationsSent: number;
  /** Operations a node stored on arrival (each at most once per node). */
  readonly operationsDelivered: number;
  /** Operations that arrived where they were held already (or did not extend their log). */
  readonly duplicateOperations: number;
  /** Errors a session machine threw (none expected: every node is honest). */
  readonly protocolErrors: number;
  readonly virtualMs: number;
  readonly wallMs: number;
}

/** One simulated node. */
export interface SimSyncNode {
  readonly index: number;
  readonly id: NodeId;
  readonly topic: Topic;
  readonly manager: SyncManager;
  /** Logs held, by log key, each from seq 0 without gaps. */
  readonly logs: Map<string, Operation[]>;
  /** Overlay neighbours (node indices) in the topic. */
  readonly neighbours: Set<number>;
  readonly sessions: Map<SessionKey, SimSession>;
  readonly timers: Map<string, ScheduledTimer>;
  /** Our own log: written so far, and the rest still to write. */
  readonly own: Operation[];
  written: number;
}

interface SimSession {
  readonly key: SessionKey;
  readonly node: SimSyncNode;
  readonly remote: SimSyncNode;
  readonly role: "initiator" | "acceptor";
  topic: Topic | undefined;
  liveMode: boolean;
  peer: SimSession | undefined;
  readonly handshake: TopicHandshake;
  readonly machine: LogSync;
  phase: "handshake" | "sync" | "live" | "done";
  liveQueue: Operation[];
  closeRequested: boolean;
}

/**
 * Topic log sync on N nodes in virtual time, driven by the production cores: every node's
 * decisions come from a {@link SyncManager}, every session runs the {@link TopicHandshake} and
 * {@link LogSync} machines on real signed operations. Around them it models only the network,
 * on the simulators' shared model (`SimNetwork` for latency and who is reachable,
 * `scheduleChurn` for nodes leaving and coming back, `Convergence` and `summarize` for the
 * figures), failure detection, and the overlay that samples neighbours (each node keeps `degree` random neighbours of its topic and
 * replaces those that leave). Received operations are stored when they extend their log (the
 * live-mode rule of `OperationIngest`); signatures are not verified (the sync benchmarks measure
 * that). It reports when every node holds every operation of its topic.
 *
 * Deterministic per seed: a failing seed replays exactly.
 */
export class SyncSimulator {
  readonly scheduler = new VirtualScheduler();
  readonly options: Required<SyncSimulatorOptions>;
  readonly nodes: SimSyncNode[] = [];
  readonly topics: Topic[] = [];
  readonly network: SimNetwork<NodeId>;
  readonly #rng: Rng;
  #convergence: Convergence<SimSyncNode> | undefined;
  /** When each node that is away left. */
  readonly #leftAt = new Map<SimSyncNode, number>();
  readonly #byId = new Map<NodeId, SimSyncNode>();
  readonly #members = new Map<Topic, SimSyncNode[]>();
  /** `logIdKey` of each topic (its log id), computed once: the hot paths need it per message. */
  readonly #topicKeys = new Map<Topic, string>();
  /** Per operation (`author/seq`): when written, and how many members still lack it. */
  readonly #pending = new Map<string, { writtenAt: number; lacking: number }>();
  readonly #deliveries: number[] = [];
  #missing = 0;
  #quietAt = 0;
  #convergedAt: number | undefined;
  #offlineEvents = 0;
  #sessionsStarted = 0;
  #sessionsFailed = 0;
  #retries = 0;
  #messages = 0;
  #operationsSent = 0;
  #duplicates = 0;
  #delivered = 0;
  #protocolErrors = 0;

  private constructor(options: Required<SyncSimulatorOptions>) {
    this.options = options;
    this.#rng = seededRng(options.seed);
    this.network = new SimNetwork<NodeId>(seededRng(options.seed * 31 + 7), {
      latencyMs: options.latencyMs,
      dialFailMs: options.dialFailMs,
    });
  }

  /** Makes the nodes, their keys and every operation they will write (signing is async). */
  static async create(options: SyncSimulatorOptions): Promise<SyncSimulator> {
    const sim = new SyncSimulator({
      topics: 4,
      seed: 1,
      writesPerNode: 3,
      writeWindowMs: 60_000,
      leavePerSecond: 0.005,
      churnWindowMs: 60_000,
      minOfflineMs: 10_000,
      latencyMs: { min: 20, max: 80 },
      failureDetectionMs: 2_000,
      dialFailMs: 3_000,
      degree: 5,
      retryDelayMs: 5_000,
      maxTimeMs: 600_000,
      payloadBytes: 64,
      ...options,
    });
    await sim.#populate();
    return sim;
  }

  async #populate(): Promise<void> {
    const o = this.options;
    for (let t = 0; t < o.topics; t++) {
      const topic = simulatorTopic(`sync-simulator/${o.seed}/${t}`);
      this.topics.push(topic);
      this.#members.set(topic, []);
      this.#topicKeys.set(topic, logIdKey(topic));
    }
    for (let i = 0; i < o.nodes; i++) {
      const identity = await Identity.fromSecretKey(this.#rng.bytes(32));
      const topic = this.topics[this.#rng.int(o.topics)] as Topic;
      const id = NodeId.fromBytes(identity.publicKey);
      const own: Operation[] = [];
      for (let seqNum = 0; seqNum < o.writesPerNode; seqNum++) {
        const previous = own[seqNum - 1];
        own.push(
          await createOperation(identity, {
            payload: this.#rng.bytes(o.payloadBytes),
            logId: topic,
            seqNum,
            ...(previous !== undefined ? { backlink: previous.hash } : {}),
            timestamp: 1_700_000_000_000_000 + seqNum,
          }),
        );
      }
      const node: SimSyncNode = {
        index: i,
        id,
        topic,
        manager: new SyncManager({ me: id, retryDelayMs: o.retryDelayMs }),
        logs: new Map(),
        neighbours: new Set(),
        sessions: new Map(),
        timers: new Map(),
        own,
        written: 0,
      };
      this.nodes.push(node);
      this.#byId.set(id, node);
      this.network.setOnline(id, true);
      this.#members.get(topic)?.push(node);
    }
  }

  /** Current virtual time. */
  now(): number {
    return this.scheduler.now();
  }

  /** (node, operation) pairs not yet held. */
  get missing(): number {
    return this.#missing;
  }

  /** Runs the whole scenario until every node holds every operation, or `maxTimeMs`. */
  run(): SyncSimulationReport {
    const started = performance.now();
    const o = this.options;
    for (const node of this.nodes) {
      node.manager.handle({ type: "topic-opened", topic: node.topic, liveMode: true }, 0);
    }
    // Nodes join one after the other, each into the overlay the earlier ones formed.
    for (const node of this.nodes) this.scheduler.schedule(node.index, () => this.#join(node));
    for (const node of this.nodes) {
      for (let w = 0; w < o.writesPerNode; w++) {
        this.scheduler.schedule(this.#rng.next() * o.writeWindowMs, () => this.#write(node));
      }
    }
    const perRound = Math.round(o.nodes * o.leavePerSecond);
    if (perRound > 0 && o.churnWindowMs > 0) {
      scheduleChurn(
        this.scheduler,
        this.#rng,
        {
          everyMs: 1_000,
          untilMs: o.churnWindowMs - 1,
          leave: perRound,
          rejoin: perRound,
          join: 0,
        },
        {
          leaveCandidates: () => this.nodes,
          // Only those away long enough may come back: absences of at least `minOfflineMs`.
          rejoinCandidates: () =>
            [...this.#leftAt].filter(([, at]) => this.now() - at >= o.minOfflineMs).map(([n]) => n),
          isOnline: (node) => this.#online(node),
          leave: (node) => this.#goOffline(node),
          rejoin: (node) => this.#comeBack(node),
          join: () => {},
        },
      );
    }
    // The quiet point: the last write is done and every node that is away comes back.
    this.#quietAt = Math.max(o.writeWindowMs, o.churnWindowMs, o.nodes);
    this.scheduler.schedule(this.#quietAt, () => {
      for (const node of [...this.#leftAt.keys()]) this.#comeBack(node);
      this.#startMeasuring();
    });
    this.scheduler.run(o.maxTimeMs, () => this.#convergedAt !== undefined);
    return {
      nodes: o.nodes,
      topics: o.topics,
      operations: o.nodes * o.writesPerNode,
      quietAtMs: this.#quietAt,
      convergedAtMs: this.#convergedAt,
      convergenceAfterQuietMs:
        this.#convergedAt === undefined
          ? undefined
          : Math.max(0, this.#convergedAt - this.#quietAt),
      nodeConvergenceMs: summarize(this.#convergence?.timesToConverge(this.now()) ?? []),
      missing: this.#missing,
      deliveryMs: summarize(this.#deliveries),
      offlineEvents: this.#offlineEvents,
      sessionsStarted: this.#sessionsStarted,
      sessionsFailed: this.#sessionsFailed,
      retries: this.#retries,
      messages: this.#messages,
      operationsSent: this.#operationsSent,
      operationsDelivered: this.#delivered,
      duplicateOperations: this.#duplicates,
      protocolErrors: this.#protocolErrors,
      virtualMs: this.now(),
      wallMs: performance.now() - started,
    };
  }

  /** Whether `node` holds every operation written so far in its topic. */
  holdsAll(node: SimSyncNode): boolean {
    for (const member of this.#members.get(node.topic) ?? []) {
      const held = node.logs.get(this.#logKey(member.id, node.topic))?.length ?? 0;
      if (held < member.written) return false;
    }
    return true;
  }

  // --- writes -------------------------------------------------------------------------------

  #write(node: SimSyncNode): void {
    const operation = node.own[node.written];
    if (operation === undefined) return;
    node.written++;
    this.#store(node, node.topic, operation);
    const members = this.#members.get(node.topic)?.length ?? 1;
    this.#missing += members - 1;
    this.#pending.set(opKey(operation), { writtenAt: this.now(), lacking: members - 1 });
    this.#checkConverged();
    // Written offline, it waits for the next session (local-first); online it goes live at once.
    if (this.#online(node)) this.#input(node, { type: "operation", topic: node.topic }, operation);
  }

  /** The same key as `logKey(author, topic)`, for logs whose log id is their topic. */
  #logKey(author: NodeId, topic: Topic): string {
    return `${author}/${this.#topicKeys.get(topic)}`;
  }

  /**
   * Stores `operation` of our log of `topic` if it extends its log (else it is a duplicate, or
   * detached). Every log of the simulation is named after its topic.
   */
  #store(node: SimSyncNode, topic: Topic, operation: Operation): boolean {
    const key = this.#logKey(authorOf(operation.header), topic);
    let log = node.logs.get(key);
    if (log === undefined) {
      log = [];
      node.logs.set(key, log);
    }
    if (operation.header.seqNum !== log.length) return false;
    log.push(operation);
    return true;
  }

  #received(node: SimSyncNode, topic: Topic, operation: Operation): boolean {
    if (!this.#store(node, topic, operation)) return false;
    this.#missing--;
    this.#delivered++;
    if (this.#convergence?.isWaiting(node)) this.#convergence.learned(node);
    const pending = this.#pending.get(opKey(operation));
    if (pending !== undefined && --pending.lacking === 0) {
      this.#deliveries.push(this.now() - pending.writtenAt);
    }
    this.#checkConverged();
    return true;
  }

  #checkConverged(): void {
    if (this.#missing === 0 && this.#convergence !== undefined && this.#convergedAt === undefined) {
      this.#convergedAt = this.now();
    }
  }

  /** From the quiet point on, each node counts down the operations of its topic it lacks. */
  #startMeasuring(): void {
    const convergence = new Convergence<SimSyncNode>({ now: () => this.now() });
    convergence.start();
    for (const node of this.nodes) {
      let total = 0;
      let held = 0;
      for (const member of this.#members.get(node.topic) ?? []) {
        total += member.written;
        held += node.logs.get(this.#logKey(member.id, node.topic))?.length ?? 0;
      }
      convergence.measure(node, total, total - held);
    }
    this.#convergence = convergence;
    this.#checkConverged();
  }

  #online(node: SimSyncNode): boolean {
    return this.network.isOnline(node.id);
  }

  // --- membership: the overlay that samples neighbours --------------------------------------

  #join(node: SimSyncNode): void {
    const candidates = shuffle(
      this.#rng,
      (this.#members.get(node.topic) ?? []).filter(
        (m) => m !== node && this.network.canReach(node.id, m.id) && !node.neighbours.has(m.index),
      ),
    );
    // Prefer members with room, as HyParView's join lands on nodes with a free slot.
    candidates.sort((a, b) => a.neighbours.size - b.neighbours.size);
    for (const other of candidates) {
      if (node.neighbours.size >= this.options.degree) break;
      if (other.neighbours.size >= this.options.degree + 2) continue;
      this.#link(node, other);
    }
  }

  #link(a: SimSyncNode, b: SimSyncNode): void {
    a.neighbours.add(b.index);
    b.neighbours.add(a.index);
    this.#input(a, { type: "neighbour-up", topic: a.topic, node: b.id });
    this.#input(b, { type: "neighbour-up", topic: b.topic, node: a.id });
  }

  #goOffline(node: SimSyncNode): void {
    if (!this.#online(node)) return;
    this.#offlineEvents++;
    // Locally: every neighbour is gone and every session breaks.
    const neighbours = [...node.neighbours].map((i) => this.nodes[i] as SimSyncNode);
    for (const other of neighbours) {
      node.neighbours.delete(other.index);
      this.#input(node, { type: "neighbour-down", topic: node.topic, node: other.id });
    }
    for (const session of [...node.sessions.values()]) this.#end(session, "failed");
    this.network.setOnline(node.id, false);
    this.#leftAt.set(node, this.now());
    // The others notice after the failure detection delay, then look for a replacement.
    for (const other of neighbours) {
      other.neighbours.delete(node.index);
      this.scheduler.schedule(this.options.failureDetectionMs, () => {
        if (!this.#online(other)) return;
        // Only the sessions that broke: the node may be back already, with new ones.
        for (const session of [...other.sessions.values()]) {
          if (session.remote === node && session.peer?.phase === "done") {
            this.#end(session, "failed");
          }
        }
        if (other.neighbours.has(node.index)) return;
        this.#input(other, { type: "neighbour-down", topic: other.topic, node: node.id });
        if (other.neighbours.size < this.options.degree) this.#join(other);
      });
    }
  }

  #comeBack(node: SimSyncNode): void {
    if (this.#online(node)) return;
    this.network.setOnline(node.id, true);
    this.#leftAt.delete(node);
    this.#join(node);
  }

  // --- the manager's decisions --------------------------------------------------------------

  #input(node: SimSyncNode, input: SyncManagerInput, operation?: Operation): SyncManagerOutput[] {
    const outputs = node.manager.handle(input, this.now());
    for (const out of outputs) {
      switch (out.type) {
        case "initiate":
          if (out.retry) this.#retries++;
          this.#initiate(node, out.key, out.topic, out.remote, out.liveMode);
          break;
        case "end-session": {
          const session = node.sessions.get(out.key);
          if (session === undefined) break;
          if (session.phase === "live") this.#close(session);
          else this.#abort(session);
          break;
        }
        case "forward":
          if (operation === undefined) break;
          for (const key of out.keys) {
            const session = node.sessions.get(key);
            if (session !== undefined) this.#publish(session, operation);
          }
          break;
        case "set-timer": {
          const timerKey = `${out.topic}/${out.node}`;
          node.timers.get(timerKey)?.cancel();
          node.timers.set(
            timerKey,
            this.scheduler.schedule(out.delayMs, () => {
              node.timers.delete(timerKey);
              if (this.#online(node))
                this.#input(node, { type: "timer-fired", topic: out.topic, node: out.node });
            }),
          );
          break;
        }
        case "cancel-timer": {
          const timerKey = `${out.topic}/${out.node}`;
          node.timers.get(timerKey)?.cancel();
          node.timers.delete(timerKey);
          break;
        }
        case "accept":
        case "refuse":
        case "bind":
        case "retry-scheduled":
        case "peer-refused":
          break;
      }
    }
    return outputs;
  }

  // --- sessions: the log sync machines over simulated streams -------------------------------

  #newSession(
    node: SimSyncNode,
    key: SessionKey,
    remote: SimSyncNode,
    role: "initiator" | "acceptor",
    topic: Topic | undefined,
    liveMode: boolean,
  ): SimSession {
    const session: SimSession = {
      key,
      node,
      remote,
      role,
      topic,
      liveMode,
      peer: undefined,
      handshake:
        role === "initiator"
          ? TopicHandshake.initiator(topic as Topic)
          : TopicHandshake.acceptor((named) => this.#bind(session, named)),
      machine: new LogSync(),
      phase: "handshake",
      liveQueue: [],
      closeRequested: false,
    };
    node.sessions.set(key, session);
    return session;
  }

  #initiate(node: SimSyncNode, key: SessionKey, topic: Topic, remoteId: NodeId, liveMode: boolean) {
    this.#sessionsStarted++;
    const remote = this.#byId.get(remoteId) as SimSyncNode;
    const session = this.#newSession(node, key, remote, "initiator", topic, liveMode);
    const latency = this.network.linkLatency(node.id, remote.id);
    // The stream opens at the remote one latency later; the topic travels with the open.
    this.scheduler.schedule(latency, () => {
      if (session.phase === "done") return;
      if (!this.network.canReach(node.id, remote.id) || !this.#online(node)) {
        this.scheduler.schedule(this.network.dialFailMs - latency, () =>
          this.#end(session, "failed"),
        );
        return;
      }
      const outputs = this.#input(remote, { type: "session-offered", remote: node.id });
      const accepted = outputs.find((o) => o.type === "accept");
      if (accepted === undefined) {
        this.scheduler.schedule(latency, () => this.#end(session, "failed"));
        return;
      }
      const peer = this.#newSession(remote, accepted.key, node, "acceptor", undefined, false);
      session.peer = peer;
      peer.peer = session;
      peer.handshake.start();
    });
    for (const out of session.handshake.start()) {
      if (out.type === "send") this.#send(session, out.message);
    }
  }

  /** The acceptor's handshake named `topic`: the manager binds the session, or refuses it. */
  #bind(session: SimSession, topic: Topic): boolean {
    const outputs = this.#input(session.node, { type: "topic-named", key: session.key, topic });
    const bound = outputs.find((o) => o.type === "bind");
    if (bound === undefined) return false;
    session.liveMode = bound.liveMode;
    return true;
  }

  #send(session: SimSession, message: TopicSyncMessage): void {
    if (message.type === "op" || message.type === "live") this.#operationsSent++;
    const latency = this.network.linkLatency(session.node.id, session.remote.id);
    this.scheduler.schedule(latency, () => {
      const peer = session.peer;
      if (
        peer === undefined ||
        peer.phase === "done" ||
        !this.#online(peer.node) ||
        !this.#online(session.node)
      ) {
        return;
      }
      this.#messages++;
      this.#receive(peer, message);
    });
  }

  #receive(session: SimSession, message: TopicSyncMessage): void {
    try {
      if (session.phase === "handshake") {
        for (const out of session.handshake.handle(message)) {
          if (out.type === "send") this.#send(session, out.message);
          else this.#startSync(session, out.topic);
        }
        return;
      }
      this.#process(session, session.machine.handle(message));
    } catch {
      this.#protocolErrors++;
      this.#abort(session);
    }
  }

  #startSync(session: SimSession, topic: Topic): void {
    session.topic = topic;
    session.phase = "sync";
    const heights: LogHeight[] = [];
    for (const member of this.#members.get(topic) ?? []) {
      const held = session.node.logs.get(this.#logKey(member.id, topic))?.length ?? 0;
      if (held > 0) heights.push({ author: member.id, logId: topic, seqNum: held - 1 });
    }
    this.#process(session, session.machine.start(heights));
  }

  #process(session: SimSession, outputs: readonly LogSyncOutput[]): void {
    for (const out of outputs) {
      if (session.phase === "done") return;
      switch (out.type) {
        case "send":
          this.#send(session, out.message);
          break;
        case "plan": {
          let operations = 0;
          let bytes = 0;
          for (const op of this.#ranges(session, out.ranges)) {
            operations++;
            bytes += operationSize(op);
          }
          this.#process(session, session.machine.planned({ operations, bytes }));
          break;
        }
        case "stream":
          for (const op of this.#ranges(session, out.ranges)) {
            this.#process(session, session.machine.send(op));
          }
          this.#process(session, session.machine.sendingDone());
          break;
        case "receive":
          if (this.#received(session.node, session.topic as Topic, out.operation)) {
            this.#input(
              session.node,
              { type: "operation", topic: session.topic as Topic, from: session.remote.id },
              out.operation,
            );
          } else {
            this.#duplicates++;
          }
          break;
        case "finished":
          if (!session.liveMode) {
            this.#end(session, "finished");
            break;
          }
          session.phase = "live";
          session.machine.startLive();
          for (const op of session.liveQueue.splice(0)) {
            this.#process(session, session.machine.publish(op));
          }
          if (session.closeRequested) this.#process(session, session.machine.close());
          break;
        case "remote-closed":
          if (!session.machine.closeSent) this.#process(session, session.machine.close());
          this.#end(session, "finished");
          break;
        case "sync-started":
        case "inbound-done":
          break;
      }
    }
  }

  *#ranges(session: SimSession, ranges: readonly LogRange[]): Generator<Operation> {
    for (const r of ranges) {
      const log = session.node.logs.get(this.#logKey(r.author, session.topic as Topic)) ?? [];
      for (let seq = (r.after ?? -1) + 1; seq <= r.until && seq < log.length; seq++) {
        yield log[seq] as Operation;
      }
    }
  }

  #publish(session: SimSession, operation: Operation): void {
    if (!session.liveMode || session.phase === "done") return;
    if (session.phase !== "live") {
      session.liveQueue.push(operation);
      return;
    }
    this.#process(session, session.machine.publish(operation));
  }

  /** Live mode ends gracefully: `close`, then the session ends when the remote's arrives. */
  #close(session: SimSession): void {
    session.closeRequested = true;
    if (session.phase === "live") this.#process(session, session.machine.close());
  }

  /** Ends the session now; the remote learns of the reset one latency later. */
  #abort(session: SimSession): void {
    const peer = session.peer;
    this.#end(session, "failed");
    if (peer === undefined) return;
    const latency = this.network.linkLatency(session.node.id, session.remote.id);
    this.scheduler.schedule(latency, () => this.#end(peer, "failed"));
  }

  #end(session: SimSession, outcome: SessionOutcome): void {
    if (session.phase === "done") return;
    session.phase = "done";
    if (outcome !== "finished") this.#sessionsFailed++;
    const node = session.node;
    node.sessions.delete(session.key);
    if (this.#online(node)) this.#input(node, { type: "session-ended", key: session.key, outcome });
  }
}

function opKey(operation: Operation): string {
  return `${authorOf(operation.header)}/${operation.header.seqNum}`;
}

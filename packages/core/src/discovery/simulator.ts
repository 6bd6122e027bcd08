import { encodedCborSize } from "../codec/cbor.ts";
import { NodeId } from "../ids/node-id.ts";
import { Topic } from "../ids/topic.ts";
import { type Rng, seededRng } from "../random.ts";
import { SimAddressBook } from "../sim/address-book.ts";
import { type ChurnOptions, scheduleChurn } from "../sim/churn.ts";
import { Convergence, MILESTONE_PEERS } from "../sim/convergence.ts";
import { type LatencyRange, SimNetwork } from "../sim/network.ts";
import { VirtualScheduler } from "../sim/scheduler.ts";
import { type Summary, summarize } from "../sim/statistics.ts";
import {
  forgedTransportInfo,
  type SimTransportInfo,
  simTransportInfo,
  verifySimTransportInfo,
} from "../sim/transport-info.ts";
import { frameSize, frameSizeWithList } from "../sim/wire-size.ts";
import {
  type DiscoveryEvent,
  DiscoveryManager,
  type DiscoveryManagerConfig,
  type DiscoveryOutput,
  ingestDiscoveryResult,
} from "./discovery-manager.ts";
import { DiscoveryProtocolError } from "./errors.ts";
import {
  DEFAULT_MAX_TRANSPORT_INFOS,
  type DiscoveryMessage,
  decodeDiscoveryMessage,
} from "./messages.ts";
import {
  type DiscoveryResult,
  type NodeIdCodec,
  type NodeSharing,
  PsiAlice,
  PsiBob,
  type PsiHandshake,
  type PsiOutput,
  selectInfosToShare,
} from "./psi-handshake.ts";

// The statistics moved to sim/; kept reachable from here for existing imports.
export { type Summary, summarize } from "../sim/statistics.ts";

/** Options of a {@link DiscoverySimulator}. */
export interface DiscoverySimulatorOptions {
  /** Nodes at the start. */
  nodes: number;
  /** Distinct topics in the network. */
  topics: number;
  /** Topics each node picks at random (at most `topics`). */
  topicsPerNode: number;
  /** The first this-many nodes are bootstrap nodes; every node starts knowing them. Default 1. */
  bootstrapNodes?: number;
  /**
   * `shared` (default): every node knows the `bootstrapNodes` first nodes. `chain`: node i knows
   * only node i + 1 as its bootstrap (upstream's peer_discovery_in_network).
   */
  bootstrapTopology?: "shared" | "chain";
  /** Seed of everything random (ids, topics, latencies, walkers, salts). Default 1. */
  seed?: number;
  /** One-way latency of a link, drawn per session uniformly from [min, max]. Default 20–80 ms. */
  latencyMs?: LatencyRange;
  /** How long a dial to an offline node takes to fail. Default 3,000 ms (upstream idle timeout). */
  dialFailMs?: number;
  /** Upstream's `shareNodesWithCommonTopics`. Default false. */
  shareNodesWithCommonTopics?: boolean;
  /** What non-bootstrap nodes share; overrides `shareNodesWithCommonTopics`. */
  nodeSharing?: NodeSharing;
  /** What bootstrap nodes share. Default: as `nodeSharing`. */
  bootstrapNodeSharing?: NodeSharing;
  /** Cap on infos per `nodes` message. Default 256. */
  maxTransportInfos?: number;
  /** Overrides of the manager configuration (walkers, timeouts, …). */
  manager?: Partial<DiscoveryManagerConfig>;
  /**
   * What "knows" means for convergence: `addresses` = holds the peer's transport info;
   * `topics` = has recorded, from a session with the peer itself, that it shares a topic.
   * Default `addresses`.
   */
  convergence?: "addresses" | "topics";
  /**
   * Churn until `untilMs`: every `everyMs`, `leave` random online non-bootstrap nodes go
   * offline for good and `join` new nodes arrive knowing the bootstrap nodes. Convergence is
   * measured from `untilMs` on, over the nodes online then.
   */
  churn?: ChurnOptions;
  /** This many random non-bootstrap nodes forge an extra transport info in every `nodes` message. */
  forgers?: number;
  /** Whether to count bytes (CBOR + frame prefix) per message. Default true. */
  measureBytes?: boolean;
  /** Called with every manager event (tests). */
  onEvent?: (node: NodeId, event: DiscoveryEvent) => void;
}

/** What a simulation run measured. */
export interface SimulationReport {
  /** Nodes whose convergence was measured (online, honest, at measurement start or later joined). */
  measuredNodes: number;
  convergedNodes: number;
  converged: boolean;
  /** Virtual time at which the last measured node converged (or the run stopped). */
  virtualMs: number;
  /** Per-node virtual time from measurement start until it knew all its co-topic peers. */
  convergenceMs: Summary;
  /** The same until it knew its first co-topic peer. */
  firstPeerMs: Summary;
  /** The same until it knew 5 of them (all, if it has fewer). */
  fivePeersMs: Summary;
  /** Per-node sessions (either role, any outcome) until convergence. */
  sessionsToConverge: Summary;
  /** Per-node bytes sent over the whole run. */
  bytesSentPerNode: Summary;
  /** Per-node co-topic peers to be found. */
  peersPerNode: Summary;
  totalSessions: number;
  failedSessions: number;
  misbehavingSessions: number;
  refusedSessions: number;
  /**
   * What strangers learn: per `nodes` message a non-bootstrap node sent to a remote that shares
   * none of its topics, the infos in it of nodes other than the sender and the bootstrap nodes.
   */
  strangerInfos: Summary;
  /** The same for `nodes` messages bootstrap nodes sent (to anyone: they share no topic). */
  bootstrapStrangerInfos: Summary;
  wallMs: number;
}

/** One simulated discovery node. */
export interface SimDiscoveryNode {
  readonly index: number;
  readonly id: NodeId;
  readonly topics: ReadonlySet<Topic>;
  readonly book: SimAddressBook<SimTransportInfo>;
  readonly forger: boolean;
  /** Replaced when the node comes back after churn took it offline (a restarted tab). */
  manager: DiscoveryManager;
  info: SimTransportInfo;
  sessions: number;
  bytesSent: number;
  sessionsAtConvergence?: number;
}

interface SimSession {
  readonly alice: SimDiscoveryNode;
  readonly bob: SimDiscoveryNode;
  readonly aliceManager: DiscoveryManager;
  readonly latency: number;
  aliceSession: number;
  bobSession?: number;
  bobManager?: DiscoveryManager;
  aliceHandshake?: PsiHandshake;
  bobHandshake?: PsiHandshake;
  /** Sides that are finished or failed no longer take input. */
  aliceDone: boolean;
  bobDone: boolean;
}

/** CBOR size of a `nodes` message without infos; each info's pair is measured once and cached. */
const EMPTY_NODES_SIZE = encodedCborSize({ type: "nodes", transportInfos: [] });

/**
 * Many sans-IO discovery nodes in one process on a {@link VirtualScheduler}: each has its own
 * {@link SimAddressBook}, a {@link DiscoveryManager} with its walkers, and runs real PSI
 * handshakes (messages shape-checked, bytes counted as CBOR frames) over a {@link SimNetwork}.
 * Deterministic for a seed. Measures how long until every node knows every other node sharing
 * a topic ({@link Convergence}).
 */
export class DiscoverySimulator {
  readonly scheduler = new VirtualScheduler();
  readonly options: Readonly<DiscoverySimulatorOptions>;
  readonly nodes: SimDiscoveryNode[] = [];
  readonly network: SimNetwork<NodeId>;
  readonly #rng: Rng;
  readonly #byId = new Map<NodeId, SimDiscoveryNode>();
  readonly #topics: Topic[] = [];
  /** The network's bootstrap nodes (the first nodes made). */
  readonly #bootstrapIds: NodeId[];
  readonly #sessions = new Set<SimSession>();
  readonly #idBytes = new Map<NodeId, Uint8Array>();
  readonly #idByBytes = new WeakMap<Uint8Array, NodeId>();
  /** CBOR size of `[nodeIdBytes, info]` per info object (node ids are all 32 bytes). */
  readonly #pairSize = new WeakMap<object, number>();
  readonly #codec: NodeIdCodec;
  readonly #convergence: Convergence<SimDiscoveryNode>;
  #totalSessions = 0;
  readonly #strangerInfos: number[] = [];
  readonly #bootstrapStrangerInfos: number[] = [];
  #failed = 0;
  #misbehaving = 0;
  #refused = 0;

  constructor(options: DiscoverySimulatorOptions) {
    this.options = options;
    this.#rng = seededRng(options.seed ?? 1);
    this.network = new SimNetwork(this.#rng, {
      latencyMs: options.latencyMs,
      dialFailMs: options.dialFailMs,
    });
    this.#convergence = new Convergence(this.scheduler, (node) => {
      node.sessionsAtConvergence = node.sessions;
    });
    this.#codec = {
      toBytes: (id) => this.#idBytes.get(id) ?? NodeId.toBytes(id),
      // Messages are passed as objects, so the bytes a sender took from `toBytes` arrive as the
      // same array: identity lookup interns the id without hex work.
      fromBytes: (bytes) => this.#idByBytes.get(bytes) ?? NodeId.fromBytes(bytes),
    };
    for (let i = 0; i < options.topics; i++)
      this.#topics.push(Topic.fromBytes(this.#rng.bytes(32)));
    const forgers = new Set<number>();
    const bootstraps = this.#bootstrapCount;
    while (forgers.size < Math.min(options.forgers ?? 0, options.nodes - bootstraps)) {
      forgers.add(bootstraps + this.#rng.int(options.nodes - bootstraps));
    }
    for (let i = 0; i < options.nodes; i++) this.#createNode(forgers.has(i));
    this.#bootstrapIds = this.nodes.slice(0, bootstraps).map((n) => n.id);
    for (const node of this.nodes) this.#initBook(node);
  }

  /** Node by id. */
  node(id: NodeId): SimDiscoveryNode | undefined {
    return this.#byId.get(id);
  }

  /**
   * Runs until every measured node converged or virtual time reaches `maxVirtualMs`.
   * `maxWallMs` stops a run that takes too long in real time (the report says it did not converge),
   * measured on `budgetClock` (milliseconds; default `performance.now`). A benchmark on a shared
   * machine passes the process's CPU time, so that its budget does not shrink with the load.
   */
  run(limits: {
    maxVirtualMs: number;
    maxWallMs?: number;
    budgetClock?: () => number;
  }): SimulationReport {
    const started = performance.now();
    const budgetClock = limits.budgetClock ?? (() => performance.now());
    const budgetStart = budgetClock();
    const churn = this.options.churn;
    for (const node of this.nodes) {
      node.manager.setSearching(this.#searching(node));
      this.#apply(node, node.manager, node.manager.start());
    }
    if (churn) {
      scheduleChurn(this.scheduler, this.#rng, churn, {
        leaveCandidates: () => this.nodes.slice(this.#bootstrapCount),
        rejoinCandidates: () => this.nodes.slice(this.#bootstrapCount),
        isOnline: (node) => this.network.isOnline(node.id),
        leave: (node) => this.#leave(node),
        rejoin: (node) => this.#rejoin(node),
        join: () => {
          const node = this.#createNode(false);
          this.#initBook(node);
          this.#apply(node, node.manager, node.manager.start());
        },
      });
      this.scheduler.schedule(churn.untilMs, () => this.#startMeasuring());
    } else {
      this.#startMeasuring();
    }
    const deadline =
      limits.maxWallMs === undefined ? Number.POSITIVE_INFINITY : budgetStart + limits.maxWallMs;
    let events = 0;
    // Every refused, reset or timed-out session makes an error, hundreds of thousands in a run
    // at N = 5,000, and capturing their stacks took more time than the sessions themselves.
    // Nothing reads a simulated session's stack; the limit is restored however the run ends.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      this.scheduler.run(limits.maxVirtualMs, () => {
        if (this.#convergence.done) return true;
        return (++events & 1023) === 0 && budgetClock() > deadline;
      });
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
    return this.#report(performance.now() - started);
  }

  get #bootstrapCount(): number {
    return Math.min(this.options.bootstrapNodes ?? 1, this.options.nodes);
  }

  #createNode(forger: boolean): SimDiscoveryNode {
    const idBytes = this.#rng.bytes(32);
    const id = NodeId.fromBytes(idBytes);
    this.#idBytes.set(id, idBytes);
    this.#idByBytes.set(idBytes, id);
    const topics = new Set<Topic>();
    const want = Math.min(this.options.topicsPerNode, this.#topics.length);
    while (topics.size < want)
      topics.add(this.#topics[this.#rng.int(this.#topics.length)] as Topic);
    const node: SimDiscoveryNode = {
      index: this.nodes.length,
      id,
      topics,
      book: new SimAddressBook(),
      forger,
      manager: this.#newManager(id),
      info: simTransportInfo(this.#rng, id, 1),
      sessions: 0,
      bytesSent: 0,
    };
    this.nodes.push(node);
    this.#byId.set(id, node);
    this.network.setOnline(id, true);
    return node;
  }

  #initBook(node: SimDiscoveryNode): void {
    node.book.insertInfo(node.id, node.info);
    node.book.setTopics(node.id, node.topics);
    if (this.options.bootstrapTopology === "chain") {
      const next = this.nodes[node.index + 1];
      if (next !== undefined && node.index + 1 < this.options.nodes)
        node.book.addBootstrap(next.id, next.info);
      return;
    }
    for (let b = 0; b < this.#bootstrapCount; b++) {
      const boot = this.nodes[b] as SimDiscoveryNode;
      if (boot !== node) node.book.addBootstrap(boot.id, boot.info);
    }
  }

  /** Whether a topic of `node` has no other member it knows (the manager's `setSearching`). */
  #searching(node: SimDiscoveryNode): boolean {
    for (const t of node.topics) {
      let others = 0;
      for (const id of node.book.byTopic.get(t) ?? []) if (id !== node.id) others++;
      if (others === 0) return true;
    }
    return false;
  }

  #newManager(id: NodeId): DiscoveryManager {
    return new DiscoveryManager({
      myNodeId: id,
      rng: this.#rng,
      clock: this.scheduler,
      config: this.options.manager,
    });
  }

  #apply(
    node: SimDiscoveryNode,
    manager: DiscoveryManager,
    outputs: readonly DiscoveryOutput[],
  ): void {
    for (const out of outputs) {
      switch (out.type) {
        case "set-timer":
          this.scheduler.schedule(out.delayMs, () => {
            if (node.manager !== manager || !this.network.isOnline(node.id)) return;
            this.#apply(node, manager, manager.timerFired(out.timer, node.book));
          });
          break;
        case "initiate-session":
          this.#initiate(node, manager, out.sessionId, out.remote);
          break;
        case "abort-session":
          this.#abort(node, out.sessionId);
          break;
        case "event":
          this.options.onEvent?.(node.id, out.event);
          if (out.event.type === "discovery:session-failed") {
            this.#failed++;
            if (out.event.misbehaving) this.#misbehaving++;
          } else if (out.event.type === "discovery:session-refused") {
            this.#refused++;
          }
          break;
      }
    }
  }

  #initiate(
    alice: SimDiscoveryNode,
    manager: DiscoveryManager,
    sessionId: number,
    remote: NodeId,
  ): void {
    const bob = this.#byId.get(remote);
    const latency = this.network.drawLatency();
    alice.sessions++;
    this.#totalSessions++;
    if (bob === undefined || !this.network.canReach(alice.id, remote)) {
      this.scheduler.schedule(this.network.dialFailMs, () => {
        if (alice.manager !== manager) return;
        alice.book.reportConnection(remote, false, this.scheduler.now());
        const error = new DiscoveryProtocolError("channel-error", "dial failed: node unreachable");
        this.#apply(alice, manager, manager.sessionFailed(sessionId, error));
      });
      return;
    }
    const session: SimSession = {
      alice,
      bob,
      aliceManager: manager,
      latency,
      aliceSession: sessionId,
      aliceDone: false,
      bobDone: false,
    };
    this.#sessions.add(session);
    this.scheduler.schedule(this.network.openDelay(latency), () => {
      if (session.aliceDone || alice.manager !== manager) return this.#sessions.delete(session);
      if (!this.network.canReach(alice.id, bob.id))
        return this.#sideFailed(session, "alice", "dial failed: node left");
      this.#apply(alice, manager, manager.sessionOpened(sessionId));
      const now = this.scheduler.now();
      alice.book.reportConnection(bob.id, true, now);
      bob.book.reportConnection(alice.id, true, now);
      const decision = bob.manager.acceptSession(alice.id);
      this.#apply(bob, bob.manager, decision.outputs);
      if (!decision.accepted) {
        session.bobDone = true;
        return this.#sideFailed(session, "alice", "stream refused");
      }
      bob.sessions++;
      session.bobSession = decision.sessionId;
      session.bobManager = bob.manager;
      session.aliceHandshake = this.#handshake(PsiAlice, alice, bob.id);
      session.bobHandshake = this.#handshake(PsiBob, bob, alice.id);
      this.#perform(session, "bob", session.bobHandshake.start());
      this.#perform(session, "alice", session.aliceHandshake.start());
    });
  }

  #handshake(
    kind: typeof PsiAlice | typeof PsiBob,
    me: SimDiscoveryNode,
    remote: NodeId,
  ): PsiHandshake {
    const max = this.options.maxTransportInfos ?? DEFAULT_MAX_TRANSPORT_INFOS;
    return new kind({
      myNodeId: me.id,
      remoteNodeId: remote,
      myTopics: me.topics,
      rng: this.#rng,
      maxTransportInfos: max,
      nodeIdCodec: this.#codec,
      isMemberOf: (id, intersection) => me.book.sharesAny(id, intersection),
      infosToShare: (intersection) => {
        const isBootstrap = (id: NodeId) =>
          (this.#byId.get(id)?.index ?? Infinity) < this.#bootstrapCount;
        const bootstrapIds = this.#bootstrapIds;
        const meBootstrap = me.index < this.#bootstrapCount;
        const nodeSharing =
          this.options.nodeSharing ??
          (this.options.shareNodesWithCommonTopics === true ? "common-topics" : "all");
        const infos: Map<NodeId, unknown> = selectInfosToShare({
          myNodeId: me.id,
          remoteNodeId: remote,
          intersection,
          nodeSharing: meBootstrap
            ? (this.options.bootstrapNodeSharing ?? nodeSharing)
            : nodeSharing,
          isBootstrap,
          bootstrapIds,
          allInfos: me.book.infos,
          allIds: me.book.infoIds,
          nodesByTopics: (topics) => me.book.nodesByTopics(topics),
          max: me.forger ? max - 1 : max,
          rng: this.#rng,
        });
        if (intersection.size === 0) {
          let learned = 0;
          for (const id of infos.keys()) if (id !== me.id && !isBootstrap(id)) learned++;
          (meBootstrap ? this.#bootstrapStrangerInfos : this.#strangerInfos).push(learned);
        }
        if (me.forger) {
          // An info for a node the forger picked, with a signature that does not verify. Never
          // its own or the remote's: the remote skips an info about itself, and the forgery
          // would go unnoticed.
          let fake: SimDiscoveryNode;
          do fake = this.nodes[this.#rng.int(this.nodes.length)] as SimDiscoveryNode;
          while (fake.id === me.id || fake.id === remote);
          infos.set(fake.id, forgedTransportInfo());
        }
        return infos;
      },
    });
  }

  /** Sends `out` from `side` to the other side, in order, after the link latency. */
  #perform(session: SimSession, side: "alice" | "bob", out: PsiOutput): void {
    const from = side === "alice" ? session.alice : session.bob;
    const other = side === "alice" ? "bob" : "alice";
    for (const message of out.send) {
      if (this.options.measureBytes ?? true) from.bytesSent += this.#frameSize(message);
      this.scheduler.schedule(session.latency, () => this.#deliver(session, other, message));
    }
    if (out.closeOurSide)
      this.scheduler.schedule(session.latency, () => this.#deliver(session, other, undefined));
    if (out.result !== undefined) this.#sideFinished(session, side, out.result);
  }

  #deliver(session: SimSession, to: "alice" | "bob", message: DiscoveryMessage | undefined): void {
    const done = to === "alice" ? session.aliceDone : session.bobDone;
    const handshake = to === "alice" ? session.aliceHandshake : session.bobHandshake;
    if (done || handshake === undefined) return;
    const sessionId = to === "alice" ? session.aliceSession : session.bobSession;
    const manager = to === "alice" ? session.aliceManager : session.bobManager;
    if (sessionId !== undefined) manager?.messageReceived(sessionId);
    let out: PsiOutput;
    try {
      out =
        message === undefined
          ? handshake.remoteClosed()
          : handshake.receive(
              decodeDiscoveryMessage(message, {
                maxTransportInfos: this.options.maxTransportInfos,
              }),
            );
    } catch (error) {
      this.#sideFailed(session, to, error as Error);
      return;
    }
    this.#perform(session, to, out);
  }

  #sideFinished(session: SimSession, side: "alice" | "bob", result: DiscoveryResult): void {
    const node = side === "alice" ? session.alice : session.bob;
    const manager = side === "alice" ? session.aliceManager : session.bobManager;
    const sessionId = side === "alice" ? session.aliceSession : session.bobSession;
    if (side === "alice") session.aliceDone = true;
    else session.bobDone = true;
    if (session.aliceDone && session.bobDone) this.#sessions.delete(session);
    if (manager === undefined || sessionId === undefined || node.manager !== manager) return;
    const byTopics = this.options.convergence === "topics";
    const outcome = ingestDiscoveryResult(result, node.id, {
      holds: (id, info) =>
        node.book.infos.get(id)?.timestamp === (info as SimTransportInfo).timestamp,
      verify: verifySimTransportInfo,
      insert: (id, info) => {
        const fresh = !node.book.infos.has(id);
        const stored = node.book.insertInfo(id, info as SimTransportInfo);
        if (fresh && stored && !byTopics) this.#learned(node, id);
        return stored;
      },
      topicsOf: (id) => node.book.entries.get(id)?.topics ?? new Set(),
      setTopics: (id, topics) => {
        const before = node.book.entries.get(id)?.topics;
        node.book.setTopics(id, topics);
        if (byTopics && topics.size > 0 && (before === undefined || before.size === 0)) {
          this.#learned(node, id);
        }
      },
    });
    manager.setSearching(this.#searching(node));
    const outputs = outcome.ok
      ? manager.sessionEnded(sessionId, result, outcome.newlyLearned, outcome.newSharedTopics)
      : manager.sessionFailed(sessionId, outcome.error);
    this.#apply(node, manager, outputs);
  }

  #sideFailed(session: SimSession, side: "alice" | "bob", error: Error | string): void {
    const node = side === "alice" ? session.alice : session.bob;
    const manager = side === "alice" ? session.aliceManager : session.bobManager;
    const sessionId = side === "alice" ? session.aliceSession : session.bobSession;
    const done = side === "alice" ? session.aliceDone : session.bobDone;
    if (done) return;
    if (side === "alice") session.aliceDone = true;
    else session.bobDone = true;
    const failure =
      typeof error === "string" ? new DiscoveryProtocolError("channel-error", error) : error;
    if (manager !== undefined && sessionId !== undefined && node.manager === manager) {
      this.#apply(node, manager, manager.sessionFailed(sessionId, failure));
    }
    // The stream is reset: the other side notices one latency later.
    const other = side === "alice" ? "bob" : "alice";
    this.scheduler.schedule(session.latency, () =>
      this.#sideFailed(session, other, "stream reset by remote"),
    );
    if (session.aliceDone && session.bobDone) this.#sessions.delete(session);
  }

  #abort(node: SimDiscoveryNode, sessionId: number): void {
    for (const session of this.#sessions) {
      if (session.alice === node && session.aliceSession === sessionId && !session.aliceDone) {
        session.aliceDone = true;
        this.scheduler.schedule(session.latency, () =>
          this.#sideFailed(session, "bob", "stream reset by remote"),
        );
      } else if (session.bob === node && session.bobSession === sessionId && !session.bobDone) {
        session.bobDone = true;
        this.scheduler.schedule(session.latency, () =>
          this.#sideFailed(session, "alice", "stream reset by remote"),
        );
      }
    }
  }

  /** Churn takes `node` offline: its open sessions break, the others notice one latency later. */
  #leave(node: SimDiscoveryNode): void {
    this.network.setOnline(node.id, false);
    for (const session of this.#sessions) {
      if (session.alice === node || session.bob === node) {
        const other = session.alice === node ? "bob" : "alice";
        if (session.alice === node) session.aliceDone = true;
        else session.bobDone = true;
        this.scheduler.schedule(session.latency, () =>
          this.#sideFailed(session, other, "connection lost"),
        );
      }
    }
  }

  /** Churn brings `node` back: a restarted node with a fresh manager and the same address book. */
  #rejoin(node: SimDiscoveryNode): void {
    this.network.setOnline(node.id, true);
    node.manager = this.#newManager(node.id);
    this.#apply(node, node.manager, node.manager.start());
  }

  #startMeasuring(): void {
    this.#convergence.start();
    const members = new Map<Topic, SimDiscoveryNode[]>();
    const honest = this.nodes.filter((n) => this.network.isOnline(n.id) && !n.forger);
    for (const node of honest) {
      for (const t of node.topics) {
        const list = members.get(t) ?? [];
        list.push(node);
        members.set(t, list);
      }
    }
    for (const node of honest) {
      const peers = new Set<SimDiscoveryNode>();
      for (const t of node.topics)
        for (const p of members.get(t) ?? []) if (p !== node) peers.add(p);
      let missing = 0;
      for (const p of peers) if (!this.#knows(node, p)) missing++;
      this.#convergence.measure(node, peers.size, missing);
    }
  }

  #knows(node: SimDiscoveryNode, peer: SimDiscoveryNode): boolean {
    if (this.options.convergence === "topics")
      return (node.book.entries.get(peer.id)?.topics?.size ?? 0) > 0;
    return node.book.infos.has(peer.id);
  }

  /** `node` just came to know `id` (by the convergence criterion). */
  #learned(node: SimDiscoveryNode, id: NodeId): void {
    if (!this.#convergence.isWaiting(node)) return;
    const peer = this.#byId.get(id);
    if (peer === undefined || peer === node || this.#convergence.progress(peer) === undefined)
      return;
    let shares = false;
    for (const t of node.topics) if (peer.topics.has(t)) shares = true;
    if (shares) this.#convergence.learned(node);
  }

  #frameSize(message: DiscoveryMessage): number {
    if (message.type !== "nodes") return frameSize(message);
    let entries = 0;
    for (const pair of message.transportInfos) {
      const info = pair[1];
      const cacheable = typeof info === "object" && info !== null;
      let size = cacheable ? this.#pairSize.get(info) : undefined;
      if (size === undefined) {
        size = encodedCborSize(pair);
        if (cacheable) this.#pairSize.set(info, size);
      }
      entries += size;
    }
    return frameSizeWithList(EMPTY_NODES_SIZE, message.transportInfos.length, entries);
  }

  #report(wallMs: number): SimulationReport {
    const convergence = this.#convergence;
    const measured = this.nodes.filter((n) => convergence.progress(n) !== undefined);
    return {
      measuredNodes: convergence.measuredCount,
      convergedNodes: convergence.convergedCount,
      converged: convergence.measuredCount > 0 && convergence.done,
      virtualMs: this.scheduler.now(),
      convergenceMs: summarize(convergence.timesToConverge()),
      firstPeerMs: summarize(convergence.timesToKnow(1)),
      fivePeersMs: summarize(convergence.timesToKnow(MILESTONE_PEERS)),
      sessionsToConverge: summarize(measured.map((n) => n.sessionsAtConvergence ?? n.sessions)),
      bytesSentPerNode: summarize(this.nodes.map((n) => n.bytesSent)),
      peersPerNode: summarize(measured.map((n) => convergence.progress(n)?.peers ?? 0)),
      totalSessions: this.#totalSessions,
      failedSessions: this.#failed,
      misbehavingSessions: this.#misbehaving,
      refusedSessions: this.#refused,
      strangerInfos: summarize(this.#strangerInfos),
      bootstrapStrangerInfos: summarize(this.#bootstrapStrangerInfos),
      wallMs,
    };
  }
}

import { encode } from "cborg";
import { NodeId } from "../ids/node-id.ts";
import { Topic } from "../ids/topic.ts";
import { type Rng, seededRng } from "../random.ts";
import { VirtualScheduler } from "../sim/scheduler.ts";
import {
  type DiscoveryAddressBookView,
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
  PsiAlice,
  PsiBob,
  type PsiHandshake,
  type PsiOutput,
  selectInfosToShare,
} from "./psi-handshake.ts";

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
  latencyMs?: { min: number; max: number };
  /** How long a dial to an offline node takes to fail. Default 3,000 ms (upstream idle timeout). */
  dialFailMs?: number;
  /** Upstream's `shareNodesWithCommonTopics`. Default false. */
  shareNodesWithCommonTopics?: boolean;
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
  churn?: { everyMs: number; leave: number; join: number; untilMs: number };
  /** This many random non-bootstrap nodes forge an extra transport info in every `nodes` message. */
  forgers?: number;
  /** Whether to count bytes (CBOR + frame prefix) per message. Default true. */
  measureBytes?: boolean;
  /** Called with every manager event (tests). */
  onEvent?: (node: NodeId, event: DiscoveryEvent) => void;
}

/** Distribution summary. */
export interface Summary {
  median: number;
  p95: number;
  max: number;
  mean: number;
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
  wallMs: number;
}

/** Marks a genuine (verifiable) simulated info with its node; symbol keys are not encoded. */
const SIGNED_BY: unique symbol = Symbol("signed-by");

interface SimInfo {
  readonly [SIGNED_BY]?: NodeId;
  readonly timestamp: number;
  readonly signature: Uint8Array;
  readonly addresses: readonly string[];
}

interface BookEntry {
  info?: SimInfo;
  bootstrap: boolean;
  topics?: ReadonlySet<Topic>;
  lastOk?: number;
  lastFail?: number;
}

/** One simulated node's address book: the in-memory view the discovery driver reads and writes. */
class SimAddressBook implements DiscoveryAddressBookView {
  readonly entries = new Map<NodeId, BookEntry>();
  readonly infos = new Map<NodeId, SimInfo>();
  readonly bootstraps: NodeId[] = [];
  readonly byTopic = new Map<Topic, Set<NodeId>>();

  get allNodeIds(): Iterable<NodeId> {
    return this.entries.keys();
  }
  get bootstrapIds(): Iterable<NodeId> {
    return this.bootstraps;
  }
  isStale(id: NodeId): boolean {
    const e = this.entries.get(id);
    if (e === undefined || e.bootstrap || e.lastFail === undefined) return false;
    return e.lastOk === undefined || e.lastOk < e.lastFail;
  }
  #entry(id: NodeId): BookEntry {
    let e = this.entries.get(id);
    if (e === undefined) {
      e = { bootstrap: false };
      this.entries.set(id, e);
    }
    return e;
  }
  addBootstrap(id: NodeId, info: SimInfo): void {
    const e = this.#entry(id);
    if (!e.bootstrap) this.bootstraps.push(id);
    e.bootstrap = true;
    this.insertInfo(id, info);
  }
  /** Last write wins; true when `info` is now the stored one and was not before. */
  insertInfo(id: NodeId, info: SimInfo): boolean {
    const e = this.#entry(id);
    if (e.info !== undefined && e.info.timestamp >= info.timestamp) return false;
    e.info = info;
    this.infos.set(id, info);
    return true;
  }
  setTopics(id: NodeId, topics: ReadonlySet<Topic>): void {
    const e = this.#entry(id);
    for (const t of e.topics ?? []) this.byTopic.get(t)?.delete(id);
    e.topics = topics;
    for (const t of topics) {
      let set = this.byTopic.get(t);
      if (set === undefined) {
        set = new Set();
        this.byTopic.set(t, set);
      }
      set.add(id);
    }
  }
  reportConnection(id: NodeId, ok: boolean, now: number): void {
    const e = this.#entry(id);
    if (ok) e.lastOk = now;
    else e.lastFail = now;
  }
  *nodesByTopics(topics: ReadonlySet<Topic>): Iterable<NodeId> {
    for (const t of topics) yield* this.byTopic.get(t) ?? [];
  }
}

interface SimNode {
  readonly index: number;
  readonly id: NodeId;
  readonly topics: ReadonlySet<Topic>;
  readonly book: SimAddressBook;
  readonly forger: boolean;
  manager: DiscoveryManager;
  online: boolean;
  info: SimInfo;
  sessions: number;
  bytesSent: number;
  /** Co-topic peers not known yet (while measured). */
  missing: number;
  /** Co-topic peers to find (while measured). */
  peers: number;
  measured: boolean;
  convergedAt?: number;
  sessionsAtConvergence?: number;
}

interface SimSession {
  readonly alice: SimNode;
  readonly bob: SimNode;
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

/**
 * Many sans-IO discovery nodes in one process on a {@link VirtualScheduler}: each has its own
 * address book, a {@link DiscoveryManager} with its walkers, and runs real PSI handshakes
 * (messages shape-checked, bytes counted as CBOR frames) with simulated latency. Deterministic
 * for a seed. Measures how long until every node knows every other node sharing a topic.
 */
export class DiscoverySimulator {
  readonly scheduler = new VirtualScheduler();
  readonly options: Readonly<DiscoverySimulatorOptions>;
  readonly nodes: SimNode[] = [];
  readonly #rng: Rng;
  readonly #byId = new Map<NodeId, SimNode>();
  readonly #topics: Topic[] = [];
  readonly #sessions = new Set<SimSession>();
  readonly #idBytes = new Map<NodeId, Uint8Array>();
  readonly #idByBytes = new WeakMap<Uint8Array, NodeId>();
  readonly #infoSize = new WeakMap<object, number>();
  readonly #codec: NodeIdCodec;
  #measureFrom = 0;
  #measuring = false;
  #measuredCount = 0;
  #convergedCount = 0;
  #totalSessions = 0;
  #failed = 0;
  #misbehaving = 0;
  #refused = 0;

  constructor(options: DiscoverySimulatorOptions) {
    this.options = options;
    this.#rng = seededRng(options.seed ?? 1);
    this.#codec = {
      toBytes: (id) => this.#idBytes.get(id) ?? NodeId.toBytes(id),
      // Messages are passed as objects, so the bytes a sender took from `toBytes` arrive as the
      // same array: identity lookup interns the id without hex work.
      fromBytes: (bytes) => this.#idByBytes.get(bytes) ?? NodeId.fromBytes(bytes),
    };
    for (let i = 0; i < options.topics; i++)
      this.#topics.push(Topic.fromBytes(this.#rng.bytes(32)));
    const forgers = new Set<number>();
    const bootstraps = Math.min(options.bootstrapNodes ?? 1, options.nodes);
    while (forgers.size < Math.min(options.forgers ?? 0, options.nodes - bootstraps)) {
      forgers.add(bootstraps + this.#rng.int(options.nodes - bootstraps));
    }
    for (let i = 0; i < options.nodes; i++) this.#createNode(forgers.has(i));
    for (const node of this.nodes) this.#initBook(node);
  }

  /** Node by id. */
  node(id: NodeId): SimNode | undefined {
    return this.#byId.get(id);
  }

  /**
   * Runs until every measured node converged or virtual time reaches `maxVirtualMs`.
   * `maxWallMs` stops a run that takes too long in real time (the report says it did not converge).
   */
  run(limits: { maxVirtualMs: number; maxWallMs?: number }): SimulationReport {
    const started = performance.now();
    const churn = this.options.churn;
    for (const node of this.nodes) this.#apply(node, node.manager, node.manager.start());
    if (churn) {
      for (let t = churn.everyMs; t <= churn.untilMs; t += churn.everyMs)
        this.scheduler.schedule(t, () => this.#churn());
      this.scheduler.schedule(churn.untilMs, () => this.#startMeasuring());
    } else {
      this.#startMeasuring();
    }
    const deadline =
      limits.maxWallMs === undefined ? Number.POSITIVE_INFINITY : started + limits.maxWallMs;
    let events = 0;
    this.scheduler.run(limits.maxVirtualMs, () => {
      if (this.#measuring && this.#convergedCount === this.#measuredCount) return true;
      return (++events & 1023) === 0 && performance.now() > deadline;
    });
    return this.#report(performance.now() - started);
  }

  #createNode(forger: boolean): SimNode {
    const idBytes = this.#rng.bytes(32);
    const id = NodeId.fromBytes(idBytes);
    this.#idBytes.set(id, idBytes);
    this.#idByBytes.set(idBytes, id);
    const topics = new Set<Topic>();
    const want = Math.min(this.options.topicsPerNode, this.#topics.length);
    while (topics.size < want)
      topics.add(this.#topics[this.#rng.int(this.#topics.length)] as Topic);
    const node: SimNode = {
      index: this.nodes.length,
      id,
      topics,
      book: new SimAddressBook(),
      forger,
      manager: this.#newManager(id),
      online: true,
      info: this.#newInfo(id, 1),
      sessions: 0,
      bytesSent: 0,
      missing: 0,
      peers: 0,
      measured: false,
    };
    this.nodes.push(node);
    this.#byId.set(id, node);
    return node;
  }

  #initBook(node: SimNode): void {
    node.book.insertInfo(node.id, node.info);
    node.book.setTopics(node.id, node.topics);
    if (this.options.bootstrapTopology === "chain") {
      const next = this.nodes[node.index + 1];
      if (next !== undefined && node.index + 1 < this.options.nodes)
        node.book.addBootstrap(next.id, next.info);
      return;
    }
    const bootstraps = Math.min(this.options.bootstrapNodes ?? 1, this.options.nodes);
    for (let b = 0; b < bootstraps; b++) {
      const boot = this.nodes[b] as SimNode;
      if (boot !== node) node.book.addBootstrap(boot.id, boot.info);
    }
  }

  #newManager(id: NodeId): DiscoveryManager {
    return new DiscoveryManager({
      myNodeId: id,
      rng: this.#rng,
      clock: this.scheduler,
      config: this.options.manager,
    });
  }

  #newInfo(id: NodeId, timestamp: number): SimInfo {
    const n = this.#rng.int(1 << 24);
    const info: SimInfo = {
      [SIGNED_BY]: id,
      timestamp,
      signature: this.#rng.bytes(64),
      // A WebSocket multiaddr with a peer id: the size of a real one.
      addresses: [
        `/ip4/10.${n >> 16}.${(n >> 8) & 255}.${n & 255}/tcp/4001/ws/p2p/12D3KooW${id.slice(0, 44)}`,
      ],
    };
    return info;
  }

  #apply(node: SimNode, manager: DiscoveryManager, outputs: readonly DiscoveryOutput[]): void {
    for (const out of outputs) {
      switch (out.type) {
        case "set-timer":
          this.scheduler.schedule(out.delayMs, () => {
            if (node.manager !== manager || !node.online) return;
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

  #initiate(alice: SimNode, manager: DiscoveryManager, sessionId: number, remote: NodeId): void {
    const bob = this.#byId.get(remote);
    const { min, max } = this.options.latencyMs ?? { min: 20, max: 80 };
    const latency = min + this.#rng.int(max - min + 1);
    alice.sessions++;
    this.#totalSessions++;
    if (bob === undefined || !bob.online) {
      this.scheduler.schedule(this.options.dialFailMs ?? 3_000, () => {
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
    // Dial + stream open: one round trip before Bob sees the stream.
    this.scheduler.schedule(2 * latency, () => {
      if (session.aliceDone || alice.manager !== manager) return this.#sessions.delete(session);
      if (!bob.online) return this.#sideFailed(session, "alice", "dial failed: node left");
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

  #handshake(kind: typeof PsiAlice | typeof PsiBob, me: SimNode, remote: NodeId): PsiHandshake {
    const max = this.options.maxTransportInfos ?? DEFAULT_MAX_TRANSPORT_INFOS;
    return new kind({
      myNodeId: me.id,
      remoteNodeId: remote,
      myTopics: me.topics,
      rng: this.#rng,
      maxTransportInfos: max,
      nodeIdCodec: this.#codec,
      infosToShare: (intersection) => {
        const infos: Map<NodeId, unknown> = selectInfosToShare({
          myNodeId: me.id,
          remoteNodeId: remote,
          intersection,
          shareNodesWithCommonTopics: this.options.shareNodesWithCommonTopics ?? false,
          allInfos: me.book.infos,
          nodesByTopics: (topics) => me.book.nodesByTopics(topics),
          max: me.forger ? max - 1 : max,
          rng: this.#rng,
        });
        if (me.forger) {
          // A signature that does not verify, for a node id the forger made up.
          const fake = this.nodes[this.#rng.int(this.nodes.length)] as SimNode;
          infos.set(fake.id, {
            timestamp: Number.MAX_SAFE_INTEGER,
            signature: new Uint8Array(64),
            addresses: [],
          });
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
    const outcome = ingestDiscoveryResult(result, {
      verify: (id, info) =>
        typeof info === "object" && info !== null && (info as SimInfo)[SIGNED_BY] === id,
      insert: (id, info) => {
        const fresh = !node.book.infos.has(id);
        const stored = node.book.insertInfo(id, info as SimInfo);
        if (fresh && stored && this.options.convergence !== "topics") this.#learned(node, id);
        return stored;
      },
      setTopics: (id, topics) => {
        const before = node.book.entries.get(id)?.topics;
        node.book.setTopics(id, topics);
        if (
          this.options.convergence === "topics" &&
          topics.size > 0 &&
          (before === undefined || before.size === 0)
        ) {
          this.#learned(node, id);
        }
      },
    });
    const outputs = outcome.ok
      ? manager.sessionEnded(sessionId, result, outcome.newlyLearned)
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

  #abort(node: SimNode, sessionId: number): void {
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

  #churn(): void {
    const churn = this.options.churn;
    if (churn === undefined) return;
    const bootstraps = Math.min(this.options.bootstrapNodes ?? 1, this.options.nodes);
    for (let i = 0; i < churn.leave; i++) {
      const candidates = this.nodes.length - bootstraps;
      if (candidates <= 0) break;
      const node = this.nodes[bootstraps + this.#rng.int(candidates)] as SimNode;
      if (!node.online) continue;
      node.online = false;
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
    for (let i = 0; i < churn.join; i++) {
      const node = this.#createNode(false);
      this.#initBook(node);
      this.#apply(node, node.manager, node.manager.start());
    }
  }

  #startMeasuring(): void {
    this.#measureFrom = this.scheduler.now();
    this.#measuring = true;
    const members = new Map<Topic, SimNode[]>();
    for (const node of this.nodes) {
      if (!node.online || node.forger) continue;
      for (const t of node.topics) {
        const list = members.get(t) ?? [];
        list.push(node);
        members.set(t, list);
      }
    }
    for (const node of this.nodes) {
      if (!node.online || node.forger) continue;
      node.measured = true;
      this.#measuredCount++;
      const peers = new Set<SimNode>();
      for (const t of node.topics)
        for (const p of members.get(t) ?? []) if (p !== node) peers.add(p);
      let missing = 0;
      for (const p of peers) if (!this.#knows(node, p)) missing++;
      node.missing = missing;
      node.peers = peers.size;
      if (missing === 0) this.#converged(node);
    }
  }

  #knows(node: SimNode, peer: SimNode): boolean {
    if (this.options.convergence === "topics")
      return (node.book.entries.get(peer.id)?.topics?.size ?? 0) > 0;
    return node.book.infos.has(peer.id);
  }

  /** `node` just came to know `id` (by the convergence criterion). */
  #learned(node: SimNode, id: NodeId): void {
    if (!node.measured || node.convergedAt !== undefined) return;
    const peer = this.#byId.get(id);
    if (peer === undefined || !peer.measured || peer === node) return;
    let shares = false;
    for (const t of node.topics) if (peer.topics.has(t)) shares = true;
    if (!shares) return;
    if (--node.missing === 0) this.#converged(node);
  }

  #converged(node: SimNode): void {
    node.convergedAt = this.scheduler.now();
    node.sessionsAtConvergence = node.sessions;
    this.#convergedCount++;
  }

  #frameSize(message: DiscoveryMessage): number {
    let size: number;
    if (message.type === "nodes") {
      size = NODES_BASE_SIZE - 1 + cborHeaderSize(message.transportInfos.length);
      for (const [, info] of message.transportInfos) {
        let infoSize =
          typeof info === "object" && info !== null ? this.#infoSize.get(info) : undefined;
        if (infoSize === undefined) {
          infoSize = encode(info).length;
          if (typeof info === "object" && info !== null) this.#infoSize.set(info, infoSize);
        }
        // Pair header + 32-byte string (2-byte header) + info.
        size += 1 + 2 + 32 + infoSize;
      }
    } else {
      size = encode(message).length;
    }
    return size + varintSize(size);
  }

  #report(wallMs: number): SimulationReport {
    const measured = this.nodes.filter((n) => n.measured);
    const converged = measured.filter((n) => n.convergedAt !== undefined);
    const now = this.scheduler.now();
    return {
      measuredNodes: measured.length,
      convergedNodes: converged.length,
      converged: measured.length > 0 && converged.length === measured.length,
      virtualMs: now,
      convergenceMs: summarize(measured.map((n) => (n.convergedAt ?? now) - this.#measureFrom)),
      sessionsToConverge: summarize(measured.map((n) => n.sessionsAtConvergence ?? n.sessions)),
      bytesSentPerNode: summarize(this.nodes.map((n) => n.bytesSent)),
      peersPerNode: summarize(measured.map((n) => n.peers)),
      totalSessions: this.#totalSessions,
      failedSessions: this.#failed,
      misbehavingSessions: this.#misbehaving,
      refusedSessions: this.#refused,
      wallMs,
    };
  }
}

const NODES_BASE_SIZE = encode({ type: "nodes", transportInfos: [] }).length;

function cborHeaderSize(n: number): number {
  return n < 24 ? 1 : n < 256 ? 2 : n < 65536 ? 3 : 5;
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** Median, 95th percentile, max and mean of `values` (zeros when empty). */
export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) return { median: 0, p95: 0, max: 0, mean: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
  return {
    median: at(0.5),
    p95: at(0.95),
    max: sorted[sorted.length - 1] as number,
    mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
  };
}

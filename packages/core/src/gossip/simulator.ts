import { NodeId } from "../ids/node-id.ts";
import { pick, type Rng, seededRng, shuffle } from "../random.ts";
import { SimNetwork } from "../sim/network.ts";
import { VirtualScheduler } from "../sim/scheduler.ts";
import { simulatorTopic } from "../sim/topic.ts";
import type { GossipConfigInput } from "./config.ts";
import { type GossipOutput, GossipState, type GossipStateEvent } from "./gossip-state.ts";
import { OverlayHealer, type OverlayHealerConfig } from "./overlay-healer.ts";
import { messageKey } from "./plumtree.ts";

/** Options of a {@link GossipSimulator}. */
export interface GossipSimulatorOptions {
  /** Number of nodes. */
  nodes: number;
  /** Seed of everything random (ids, latencies, joins, protocol choices). Default 1. */
  seed?: number;
  /** One-way latency per link, drawn once per pair uniformly from [min, max]. Default 10–100 ms. */
  latencyMs?: { min: number; max: number };
  /** Node i joins at i × this, via a random earlier live node. Default 10 ms. */
  joinIntervalMs?: number;
  /**
   * After a send to a failed node, the sender learns the link is broken after this long (like a
   * refused or reset connection). Default 200 ms.
   */
  failureDetectionMs?: number;
  /**
   * Open links to a crashed node break after this long even without traffic (keep-alive / ping
   * timeout of the transport). Default 10,000 ms.
   */
  linkTimeoutMs?: number;
  /**
   * The p2panda healer (spec §5.1), the service's own {@link OverlayHealer}: a node heals every
   * `healIntervalMs`, when a neighbour was lost, and when a waiting member is due; the healer
   * asks known members that are not neighbours while the overlay has room (again after 0.5 s
   * doubling to 30 s). Discovery is modelled as handing a node without neighbours one random
   * live member per interval. Default on, every 5,000 ms.
   */
  heal?: boolean;
  healIntervalMs?: number;
  /** Retry waits of the healer; the service's defaults. */
  healer?: Partial<OverlayHealerConfig>;
  /** Protocol configuration of every node. */
  config?: GossipConfigInput;
  /** Called with every event of every node. */
  onEvent?: (node: number, event: GossipStateEvent) => void;
}

/** One simulated node. */
export interface SimGossipNode {
  readonly index: number;
  readonly id: NodeId;
  readonly state: GossipState;
  alive: boolean;
  /** Hex message id → hops, for every delivered message (own broadcasts: 0). */
  readonly delivered: Map<string, number>;
  /**
   * Members of the topic this node knows, as its address book would: the node it joined
   * through, those discovery handed it, and every neighbour it had.
   */
  readonly known: Set<NodeId>;
}

interface HealingOf {
  readonly healer: OverlayHealer;
  readonly rng: Rng;
  /** The time of the healer's wake-up timer, if one is armed. */
  wakeAt: number | undefined;
}

/** Dissemination of one broadcast. */
export interface BroadcastReport {
  /** Live nodes (including the origin) that have the message. */
  delivered: number;
  /** Live nodes at measurement. */
  live: number;
  /** delivered / live. */
  reliability: number;
  /** Full-payload messages sent for it (to live or failed nodes). */
  payloadMessages: number;
  /** Relative message redundancy: payloadMessages / (delivered − 1) − 1. */
  rmr: number;
  /** Last delivery hop: the most hops any delivery took. */
  ldh: number;
  /** Mean hops of the deliveries to live nodes other than the origin (0 if none). */
  meanHops: number;
}

/**
 * Runs N {@link GossipState} nodes on one topic over a virtual-time network with seeded
 * per-link latency, and measures broadcasts (reliability, RMR, LDH) against flooding on the same
 * overlay. Deterministic per seed; nothing waits for the real clock.
 */
export class GossipSimulator {
  readonly scheduler = new VirtualScheduler();
  readonly topic = simulatorTopic("gossip-simulator");
  readonly nodes: SimGossipNode[] = [];
  readonly #byId = new Map<NodeId, SimGossipNode>();
  readonly #rng: Rng;
  /** The shared network model: per-link latency and who is online. */
  readonly network: SimNetwork<NodeId>;
  readonly #payloads = new Map<string, number>();
  readonly #healing = new Map<SimGossipNode, HealingOf>();
  readonly #options: Required<Omit<GossipSimulatorOptions, "onEvent" | "config" | "healer">> &
    Pick<GossipSimulatorOptions, "onEvent" | "config" | "healer">;
  #broadcasts = 0;
  /** Nodes crashed so far (joins pick among the earlier nodes directly while none has). */
  #failed = 0;
  /**
   * Link latencies by node-index pair, in front of the network's own map: its keys are built
   * from two 64-character ids on every lookup, which at 10,000 nodes cost more than the protocol.
   */
  readonly #latencies = new Map<number, number>();
  /** Messages handed to the network, all kinds. */
  messagesSent = 0;
  /**
   * PlumTree control messages handed to the network: grafts asking for a missing message,
   * grafts without an id (tree optimisation), prunes.
   */
  readonly controlsSent = { graftForMessage: 0, graftToOptimise: 0, prune: 0 };

  constructor(options: GossipSimulatorOptions) {
    this.#options = {
      seed: 1,
      latencyMs: { min: 10, max: 100 },
      joinIntervalMs: 10,
      failureDetectionMs: 200,
      linkTimeoutMs: 10_000,
      heal: true,
      healIntervalMs: 5_000,
      ...options,
    };
    this.#rng = seededRng(this.#options.seed);
    // Latencies come from the simulator's rng in the order links are first used, as before the
    // model was shared: the same seed gives the same figures.
    this.network = new SimNetwork<NodeId>(this.#rng, { latencyMs: this.#options.latencyMs });
    for (let i = 0; i < options.nodes; i++) {
      const id = NodeId.fromBytes(this.#rng.bytes(32));
      const node: SimGossipNode = {
        index: i,
        id,
        state: new GossipState(id, seededRng(this.#options.seed * 7919 + i), options.config),
        alive: true,
        delivered: new Map(),
        known: new Set(),
      };
      this.nodes.push(node);
      if (this.#options.heal) {
        this.#healing.set(node, {
          healer: new OverlayHealer(this.#options.healer),
          rng: seededRng(this.#options.seed * 104729 + i),
          wakeAt: undefined,
        });
      }
      this.#byId.set(id, node);
      this.network.setOnline(id, true);
    }
    for (const node of this.nodes) {
      this.scheduler.schedule(node.index * this.#options.joinIntervalMs, () => {
        if (!node.alive) return;
        // While no node failed the earlier nodes are all alive: the same pick (one draw from
        // the same range) without building the list, which made joins quadratic in N.
        const via =
          this.#failed === 0
            ? node.index === 0
              ? undefined
              : this.nodes[this.#rng.int(node.index)]
            : pick(
                this.#rng,
                this.nodes.slice(0, node.index).filter((n) => n.alive),
              );
        if (via !== undefined) node.known.add(via.id);
        this.#apply(node, node.state.join(this.topic, via ? [via.id] : [], this.now()));
        if (this.#options.heal) this.#scheduleHeal(node);
      });
    }
  }

  /** Current virtual time. */
  now(): number {
    return this.scheduler.now();
  }

  /** Runs the network for `ms` of virtual time. */
  runFor(ms: number): void {
    this.scheduler.run(this.now() + ms);
  }

  /** Live nodes. */
  get live(): SimGossipNode[] {
    return this.nodes.filter((n) => n.alive);
  }

  /** Crashes `fraction` of the live nodes at random (no goodbye). Returns them. */
  fail(fraction: number): SimGossipNode[] {
    const live = this.live;
    const count = Math.floor(live.length * fraction);
    const victims: SimGossipNode[] = [];
    for (let i = 0; i < count; i++) {
      const j = i + this.#rng.int(live.length - i);
      const v = live[j] as SimGossipNode;
      live[j] = live[i] as SimGossipNode;
      live[i] = v;
      v.alive = false;
      this.#failed++;
      this.network.setOnline(v.id, false);
      victims.push(v);
    }
    for (const n of this.nodes) {
      if (!n.alive) continue;
      for (const peer of this.neighbours(n)) {
        const v = this.#byId.get(peer) as SimGossipNode;
        if (v.alive) continue;
        this.scheduler.schedule(this.#options.linkTimeoutMs, () => {
          if (n.alive) this.#apply(n, n.state.peerDisconnected(v.id, this.now()));
        });
      }
    }
    return victims;
  }

  /**
   * Broadcasts a fresh message from `origin` (default: a random live node). Returns its hex id;
   * measure it with {@link GossipSimulator.report} after running the network.
   */
  broadcast(origin?: SimGossipNode): string {
    const from = origin ?? (pick(this.#rng, this.live) as SimGossipNode);
    const content = new TextEncoder().encode(`broadcast ${this.#broadcasts++} from ${from.index}`);
    const { id, outputs } = from.state.broadcast(this.topic, content, this.now());
    const key = messageKey(id);
    from.delivered.set(key, 0);
    this.#apply(from, outputs);
    return key;
  }

  /** How far the broadcast `key` got among the live nodes. */
  report(key: string): BroadcastReport {
    const live = this.live;
    let delivered = 0;
    let ldh = 0;
    let hopSum = 0;
    for (const n of live) {
      const hops = n.delivered.get(key);
      if (hops === undefined) continue;
      delivered++;
      hopSum += hops;
      ldh = Math.max(ldh, hops);
    }
    const payloadMessages = this.#payloads.get(key) ?? 0;
    return {
      delivered,
      live: live.length,
      reliability: live.length === 0 ? 0 : delivered / live.length,
      payloadMessages,
      rmr: delivered > 1 ? payloadMessages / (delivered - 1) - 1 : 0,
      ldh,
      meanHops: delivered > 1 ? hopSum / (delivered - 1) : 0,
    };
  }

  /**
   * Flooding over the current overlay as a baseline: `origin` sends to all its neighbours, every
   * live node forwards on first receipt to all neighbours but the sender. First receipts follow
   * the fastest path (Dijkstra over link latencies); failed nodes receive but do not forward.
   */
  flood(origin: SimGossipNode): BroadcastReport {
    const at = new Map<SimGossipNode, number>([[origin, 0]]);
    const hops = new Map<SimGossipNode, number>([[origin, 0]]);
    const done = new Set<SimGossipNode>();
    let messages = 0;
    // Dijkstra with a binary heap of (time, node); stale entries are skipped when popped.
    const heap = new MinHeap<SimGossipNode>();
    heap.push(0, origin);
    for (let entry = heap.pop(); entry !== undefined; entry = heap.pop()) {
      const [time, node] = entry;
      if (done.has(node) || time > (at.get(node) as number)) continue;
      done.add(node);
      if (!node.alive) continue;
      const here = hops.get(node) as number;
      for (const peer of this.neighbours(node)) {
        messages++;
        const next = this.#byId.get(peer) as SimGossipNode;
        if (done.has(next)) continue;
        const arrival = time + this.#linkLatency(node, next);
        const known = at.get(next);
        if (known === undefined || arrival < known) {
          at.set(next, arrival);
          hops.set(next, here + 1);
          heap.push(arrival, next);
        }
      }
    }
    // Each forwarder skips the node it got the message from.
    for (const n of done) if (n !== origin && n.alive) messages--;
    let delivered = 0;
    let ldh = 0;
    let hopSum = 0;
    for (const [n, h] of hops) {
      if (!n.alive) continue;
      delivered++;
      hopSum += h;
      ldh = Math.max(ldh, h);
    }
    const live = this.live.length;
    return {
      delivered,
      live,
      reliability: delivered / live,
      payloadMessages: messages,
      rmr: delivered > 1 ? messages / (delivered - 1) - 1 : 0,
      ldh,
      meanHops: delivered > 1 ? hopSum / (delivered - 1) : 0,
    };
  }

  /** Active view of `node` on the simulated topic. */
  neighbours(node: SimGossipNode): NodeId[] {
    return node.state.topic(this.topic)?.neighbours ?? [];
  }

  /** Live nodes reachable from the first live node over live-to-live active links (undirected). */
  largestComponentCoverage(): number {
    const live = this.live;
    const start = live[0];
    if (start === undefined) return 0;
    const adjacency = new Map<SimGossipNode, Set<SimGossipNode>>();
    const link = (a: SimGossipNode, b: SimGossipNode) => {
      let s = adjacency.get(a);
      if (s === undefined) {
        s = new Set();
        adjacency.set(a, s);
      }
      s.add(b);
    };
    for (const n of live) {
      for (const p of this.neighbours(n)) {
        const m = this.#byId.get(p) as SimGossipNode;
        if (!m.alive) continue;
        link(n, m);
        link(m, n);
      }
    }
    const seen = new Set([start]);
    const stack = [start];
    while (stack.length > 0) {
      for (const m of adjacency.get(stack.pop() as SimGossipNode) ?? []) {
        if (!seen.has(m)) {
          seen.add(m);
          stack.push(m);
        }
      }
    }
    return seen.size / live.length;
  }

  /** Delivers a raw value from `from` to `to` now (tests of misbehaving peers). */
  inject(from: SimGossipNode, to: SimGossipNode, value: unknown): void {
    this.messagesSent++;
    this.scheduler.schedule(this.#linkLatency(from, to), () => {
      if (to.alive) this.#apply(to, to.state.handleMessage(from.id, value, this.now()));
    });
  }

  /**
   * Every `healIntervalMs`: a node without neighbours is handed a random live member (what its
   * discovery would find), then it heals.
   */
  #scheduleHeal(node: SimGossipNode): void {
    this.scheduler.schedule(this.#options.healIntervalMs, () => {
      if (!node.alive) return;
      if (this.neighbours(node).length === 0) {
        const met = pick(
          this.#rng,
          this.live.filter((n) => n !== node),
        );
        if (met !== undefined) node.known.add(met.id);
      }
      this.#heal(node);
      this.#scheduleHeal(node);
    });
  }

  /** Asks the node's {@link OverlayHealer} whom to ask now, as the service does. */
  #heal(node: SimGossipNode): void {
    const healing = this.#healing.get(node);
    if (healing === undefined || !node.alive) return;
    const now = this.now();
    const plan = healing.healer.plan(
      [
        {
          topic: this.topic,
          neighbours: this.neighbours(node),
          capacity: node.state.config.membership.activeViewCapacity,
          candidates: shuffle(healing.rng, [...node.known]),
        },
      ],
      now,
    );
    for (const action of plan.actions) {
      this.#apply(
        node,
        action.how === "join"
          ? node.state.join(action.topic, action.peers, now)
          : node.state.requestNeighbours(action.topic, action.peers, now),
      );
    }
    this.#healAt(node, healing, plan.wakeAt);
  }

  /** Arms the node's one healing wake-up for `at` (earlier wins), as the service does. */
  #healAt(node: SimGossipNode, healing: HealingOf, at: number | undefined): void {
    if (at === undefined) return;
    if (healing.wakeAt !== undefined && healing.wakeAt <= at) return;
    healing.wakeAt = at;
    this.scheduler.schedule(Math.max(0, at - this.now()), () => {
      // A later, earlier wake-up replaced this one.
      if (healing.wakeAt !== at) return;
      healing.wakeAt = undefined;
      this.#heal(node);
    });
  }

  /** Neighbour events feed the healer and the node's known members, as in the service. */
  #onNeighbourEvent(node: SimGossipNode, event: GossipStateEvent): void {
    const healing = this.#healing.get(node);
    if (healing === undefined) return;
    if (event.type === "gossip:neighbour-up") {
      healing.healer.neighbourUp(event.topic, event.node);
      node.known.add(event.node);
    } else if (event.type === "gossip:neighbour-down") {
      this.#healAt(node, healing, this.now());
    }
  }

  #apply(node: SimGossipNode, outputs: GossipOutput[]): void {
    for (const o of outputs) {
      switch (o.type) {
        case "send": {
          this.messagesSent++;
          const body = o.message.body;
          if (body.type === "gossip") {
            const key = messageKey(body.id);
            this.#payloads.set(key, (this.#payloads.get(key) ?? 0) + 1);
          } else if (body.type === "graft") {
            if (body.id === null) this.controlsSent.graftToOptimise++;
            else this.controlsSent.graftForMessage++;
          } else if (body.type === "prune") {
            this.controlsSent.prune++;
          }
          const to = this.#byId.get(o.to);
          if (to === undefined) break;
          if (!to.alive) {
            this.scheduler.schedule(this.#options.failureDetectionMs, () => {
              if (node.alive) this.#apply(node, node.state.peerDisconnected(to.id, this.now()));
            });
            break;
          }
          this.scheduler.schedule(this.#linkLatency(node, to), () => {
            if (!to.alive) return;
            this.#apply(to, to.state.handleMessage(node.id, o.message, this.now()));
          });
          break;
        }
        case "set-timer":
          this.scheduler.schedule(o.delayMs, () => {
            if (node.alive) this.#apply(node, node.state.timerFired(o.timer, this.now()));
          });
          break;
        case "disconnect":
          break;
        case "event":
          if (o.event.type === "gossip:received") {
            node.delivered.set(messageKey(o.event.id), o.event.hops);
          }
          this.#onNeighbourEvent(node, o.event);
          this.#options.onEvent?.(node.index, o.event);
          break;
      }
    }
  }

  #linkLatency(a: SimGossipNode, b: SimGossipNode): number {
    const n = this.nodes.length;
    const key = a.index < b.index ? a.index * n + b.index : b.index * n + a.index;
    let ms = this.#latencies.get(key);
    if (ms === undefined) {
      ms = this.network.linkLatency(a.id, b.id);
      this.#latencies.set(key, ms);
    }
    return ms;
  }
}

/** A binary min-heap of (key, value) pairs; ties in no particular order. */
class MinHeap<T> {
  readonly #keys: number[] = [];
  readonly #values: T[] = [];

  push(key: number, value: T): void {
    const keys = this.#keys;
    const values = this.#values;
    let i = keys.length;
    keys.push(key);
    values.push(value);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((keys[parent] as number) <= key) break;
      keys[i] = keys[parent] as number;
      values[i] = values[parent] as T;
      i = parent;
    }
    keys[i] = key;
    values[i] = value;
  }

  pop(): [number, T] | undefined {
    const keys = this.#keys;
    const values = this.#values;
    if (keys.length === 0) return undefined;
    const top: [number, T] = [keys[0] as number, values[0] as T];
    const lastKey = keys.pop() as number;
    const lastValue = values.pop() as T;
    const size = keys.length;
    if (size > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= size) break;
        const right = left + 1;
        const child =
          right < size && (keys[right] as number) < (keys[left] as number) ? right : left;
        if ((keys[child] as number) >= lastKey) break;
        keys[i] = keys[child] as number;
        values[i] = values[child] as T;
        i = child;
      }
      keys[i] = lastKey;
      values[i] = lastValue;
    }
    return top;
  }
}

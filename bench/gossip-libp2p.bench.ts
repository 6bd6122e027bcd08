// Gossip over real libp2p in one Node process: N Node endpoints on loopback WebSockets, each
// with a GossipService at its defaults, all on one topic. Measures (a) end-to-end latency of
// messages published one at a time and (b) the highest publish rate of one node at which every
// other node still delivers every message.
import { setTimeout as delay } from "node:timers/promises";
import { Topic } from "@p2panda-web/core";
import { DEFAULT_GOSSIP_LIMITS, type GossipHandle } from "@p2panda-web/core/gossip";
import type { Subscription } from "rxjs";
import {
  type GossipNode,
  learnAll,
  oneSidedLinks,
  startGossipNodes,
  stopGossipNodes,
  untilOverlayReady,
} from "../packages/core/test/gossip/libp2p-cluster.ts";

const MESSAGE_SIZE = 100;
/** A message not delivered everywhere this long after it was sent counts as lost. */
const LATENCY_DEADLINE_MS = 2_000;
/** After the last message of a rate step, how long the others have to deliver everything. */
const THROUGHPUT_DEADLINE_MS = 5_000;

interface Cluster {
  readonly nodes: GossipNode[];
  readonly handles: GossipHandle[];
  /** Seconds from the first `stream()` until the overlay was ready and quiet. */
  readonly formSeconds: number;
  /** Neighbour entries the other end does not hold, once settled (see oneSidedLinks). */
  readonly oneSided: number;
}

const QUIET_MS = 500;

/**
 * N nodes that know each other for the topic (as after discovery converged) join it; resolves
 * once the overlay is ready and no neighbour changed for {@link QUIET_MS}.
 */
async function formCluster(n: number, topic: Topic): Promise<Cluster> {
  const nodes = await startGossipNodes(n);
  try {
    await learnAll(nodes, topic);
    const started = performance.now();
    const handles: GossipHandle[] = [];
    for (const node of nodes) handles.push(await node.gossip.stream(topic));
    await untilOverlayReady(nodes, topic, { quietMs: QUIET_MS, timeoutMs: 60_000 });
    const formSeconds = (performance.now() - started - QUIET_MS) / 1000;
    return { nodes, handles, formSeconds, oneSided: oneSidedLinks(nodes, topic) };
  } catch (error) {
    await stopGossipNodes(nodes);
    throw error;
  }
}

/** A 100-byte message carrying its run, sequence number and send time. */
function message(run: number, seq: number): Uint8Array {
  const bytes = new Uint8Array(MESSAGE_SIZE);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, run);
  view.setUint32(4, seq);
  view.setFloat64(8, performance.now());
  return bytes;
}

/** Counts deliveries of one run's messages at every receiver and their latencies. */
class Deliveries {
  readonly latencies: number[] = [];
  readonly hops: number[] = [];
  readonly #run: number;
  readonly #receivers: number;
  readonly #perMessage = new Map<number, number>();
  readonly #subscriptions: Subscription[] = [];
  #waiter: { done: () => boolean; resolve: () => void } | undefined;

  constructor(receivers: readonly GossipHandle[], run: number) {
    this.#run = run;
    this.#receivers = receivers.length;
    for (const handle of receivers) {
      this.#subscriptions.push(
        handle.messages$.subscribe(({ content, hops }) => {
          const at = performance.now();
          const view = new DataView(content.buffer, content.byteOffset, content.byteLength);
          if (content.byteLength !== MESSAGE_SIZE || view.getUint32(0) !== this.#run) return;
          const seq = view.getUint32(4);
          this.latencies.push(at - view.getFloat64(8));
          this.hops.push(hops);
          this.#perMessage.set(seq, (this.#perMessage.get(seq) ?? 0) + 1);
          if (this.#waiter?.done() === true) this.#waiter.resolve();
        }),
      );
    }
  }

  get total(): number {
    return this.latencies.length;
  }

  /** Resolves once `done()` holds (checked after each delivery) or after `ms`. */
  #until(done: () => boolean, ms: number): Promise<void> {
    if (done()) return Promise.resolve();
    let timer: ReturnType<typeof setTimeout> | undefined;
    return new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
      this.#waiter = { done, resolve };
    }).finally(() => {
      clearTimeout(timer);
      this.#waiter = undefined;
    });
  }

  /** Until every receiver delivered message `seq`, or `ms` passed. */
  message(seq: number, ms: number): Promise<void> {
    return this.#until(() => (this.#perMessage.get(seq) ?? 0) >= this.#receivers, ms);
  }

  /** Until every receiver delivered `count` messages, or `ms` passed. */
  all(count: number, ms: number): Promise<void> {
    return this.#until(() => this.total >= count * this.#receivers, ms);
  }

  stop(): void {
    for (const s of this.#subscriptions) s.unsubscribe();
  }
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[i] as number;
}

const ms = (value: number) => (Number.isNaN(value) ? "–" : value.toFixed(1));
const pct = (share: number) => `${(share * 100).toFixed(share === 1 ? 0 : 1)} %`;

/** (a) `m` messages from node 1, one at a time: each waits until all others delivered it. */
async function latency(n: number, m: number, topic: Topic) {
  const { nodes, handles, formSeconds, oneSided } = await formCluster(n, topic);
  try {
    const from = handles[1] as GossipHandle;
    const others = handles.filter((h) => h !== from);
    // Warm-up: the first messages go to every neighbour eagerly until the tree is pruned.
    const warm = new Deliveries(others, 1);
    for (let seq = 0; seq < 5; seq++) {
      await from.publish(message(1, seq));
      await warm.message(seq, LATENCY_DEADLINE_MS);
    }
    warm.stop();
    const deliveries = new Deliveries(others, 2);
    const started = performance.now();
    for (let seq = 0; seq < m; seq++) {
      await from.publish(message(2, seq));
      await deliveries.message(seq, LATENCY_DEADLINE_MS);
    }
    const seconds = (performance.now() - started) / 1000;
    deliveries.stop();
    const sorted = [...deliveries.latencies].sort((a, b) => a - b);
    const hops = [...deliveries.hops].sort((a, b) => a - b);
    return {
      n,
      m,
      share: deliveries.total / (m * (n - 1)),
      median: percentile(sorted, 0.5),
      p95: percentile(sorted, 0.95),
      max: sorted.at(-1) ?? Number.NaN,
      medianHops: percentile(hops, 0.5),
      maxHops: hops.at(-1) ?? Number.NaN,
      seconds,
      formSeconds,
      oneSided,
      neighbours: nodes.reduce((sum, x) => sum + x.gossip.neighbours(topic).length, 0) / n,
    };
  } finally {
    await stopGossipNodes(nodes);
  }
}

/** (b) One step: node 1 publishes at `rate` per second for `seconds`, on a fresh overlay. */
async function throughput(n: number, rate: number, seconds: number, topic: Topic) {
  const { nodes, handles } = await formCluster(n, topic);
  try {
    const from = handles[1] as GossipHandle;
    const deliveries = new Deliveries(
      handles.filter((h) => h !== from),
      3,
    );
    const count = Math.round(rate * seconds);
    const interval = 1000 / rate;
    const started = performance.now();
    for (let seq = 0; seq < count; seq++) {
      const wait = started + seq * interval - performance.now();
      if (wait >= 1) await delay(wait);
      await from.publish(message(3, seq));
    }
    const sendSeconds = (performance.now() - started) / 1000;
    await deliveries.all(count, THROUGHPUT_DEADLINE_MS);
    deliveries.stop();
    const sorted = [...deliveries.latencies].sort((a, b) => a - b);
    const metrics = nodes.map((x) => x.gossip.metrics);
    return {
      rate,
      count,
      achieved: count / sendSeconds,
      share: deliveries.total / (count * (n - 1)),
      median: percentile(sorted, 0.5),
      p95: percentile(sorted, 0.95),
      rateLimited: metrics.reduce((sum, x) => sum + x.refusedPeers["rate-limited"], 0),
      slowPeers: metrics.reduce((sum, x) => sum + x.slowPeers, 0),
    };
  } finally {
    await stopGossipNodes(nodes);
  }
}

/** Benchmark entry (see bench/run.ts). */
export async function run(options: {
  quick: boolean;
}): Promise<{ title: string; markdown: string }> {
  const n = options.quick ? 8 : 20;
  const m = options.quick ? 20 : 100;
  const rates = options.quick ? [50, 200, 400, 800] : [50, 100, 200, 300, 400, 800];
  const seconds = options.quick ? 2 : 5;
  const { burst, perSecond } = DEFAULT_GOSSIP_LIMITS.rateLimit;

  const a = await latency(n, m, Topic.fromName("bench-gossip-latency"));
  console.log(
    `latency: ${n} nodes, ${m} messages: median ${ms(a.median)} ms, p95 ${ms(a.p95)} ms, ${pct(a.share)} delivered`,
  );
  const steps: Awaited<ReturnType<typeof throughput>>[] = [];
  for (const rate of rates) {
    const step = await throughput(n, rate, seconds, Topic.fromName(`bench-gossip-rate-${rate}`));
    console.log(
      `rate ${rate}/s (achieved ${step.achieved.toFixed(0)}/s): ${pct(step.share)} delivered, p95 ${ms(step.p95)} ms, links cut by rate limit ${step.rateLimited}`,
    );
    steps.push(step);
  }
  const full = steps.filter((s) => s.share === 1).map((s) => s.rate);
  const maxRate = full.length > 0 ? Math.max(...full) : undefined;

  return {
    title: "Gossip over real libp2p (Node, WebSockets)",
    markdown: [
      `${n} nodes in one Node process, each a Node endpoint listening on loopback WebSockets (noise,`,
      "yamux) with an in-memory address book and a GossipService at its default settings (active",
      "view 5, passive view 30, PlumTree defaults, per-link rate limit on). No discovery runs:",
      "every address book is given every other node's signed transport info and topic, the state",
      "discovery converges to; then each node calls `stream(topic)` and enters through up to 5 of",
      "them. Measuring starts once the overlay is connected by links both ends hold, no view names",
      `an outside node and no neighbour changed for ${QUIET_MS / 1000} s. Node 1 publishes;`,
      `${MESSAGE_SIZE}-byte messages carry their sequence number and send time (performance.now(),`,
      "one clock in one process); latency is send → `messages$` delivery, over every delivery at",
      "every other node. One process on this machine's cores runs all nodes, so the numbers",
      "include their contention for the event loop (noise and yamux of every link).",
      "",
      `**(a) Latency**: ${m} messages published one at a time (the next once all ${n - 1} others`,
      `delivered the last, or after ${LATENCY_DEADLINE_MS / 1000} s), after 5 warm-up messages.`,
      "",
      "| nodes | messages | delivered | median ms | p95 ms | max ms | median hops | max hops | mean neighbours | overlay formed in s | one-sided view entries |",
      "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
      `| ${a.n} | ${a.m} | ${pct(a.share)} | ${ms(a.median)} | ${ms(a.p95)} | ${ms(a.max)} | ${a.medianHops} | ${a.maxHops} | ${a.neighbours.toFixed(1)} | ${a.formSeconds.toFixed(1)} | ${a.oneSided} |`,
      "",
      `**(b) Throughput**: node 1 publishes at a fixed rate for ${seconds} s, each rate on a fresh`,
      `overlay; delivered = share of all (messages × ${n - 1}) deliveries made within`,
      `${THROUGHPUT_DEADLINE_MS / 1000} s after the last send. "Links cut" counts neighbours`,
      "disconnected by a receiver for exceeding the per-link rate limit (summed over nodes).",
      "",
      "| rate /s | achieved /s | messages | delivered | median ms | p95 ms | links cut by rate limit | slow-peer drops |",
      "|---:|---:|---:|---:|---:|---:|---:|---:|",
      ...steps.map(
        (s) =>
          `| ${s.rate} | ${s.achieved.toFixed(0)} | ${s.count} | ${pct(s.share)} | ${ms(s.median)} | ${ms(s.p95)} | ${s.rateLimited} | ${s.slowPeers} |`,
      ),
      "",
      `Highest tested rate with 100 % delivery: **${maxRate === undefined ? "none" : `${maxRate} messages/s`}**.`,
      "",
      `The default per-link rate limit (\`config.limits.rateLimit\`: burst ${burst}, ${perSecond}`,
      "messages/s per neighbour link, every gossip message of all topics counted) caps what one",
      "link may carry, and a PlumTree relay forwards each message over its eager tree links: a",
      `publish rate R above ${perSecond}/s trips it once the burst is spent (after ${burst}/(R − ${perSecond}) s),`,
      "the receiver cuts the link and ignores that neighbour for 60 s, and messages are lost while",
      "the tree repairs; shorter bursts above it pass. Raise the limit where one publisher must",
      "sustain more. Where the process cannot keep up (achieved < rate: every node's noise, yamux",
      "and CBOR share one event loop), the publisher catches up in bursts and the backlog reaches",
      "receivers in bursts, so links are cut below that average rate too. One-sided view entries:",
      "a neighbour that does not hold the node back (a race between a failed own dial and the",
      "peer's accepted stream left such entries until it was fixed; expected 0).",
    ].join("\n"),
  };
}

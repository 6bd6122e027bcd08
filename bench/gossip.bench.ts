// Gossip at scale: the sans-IO HyParView + PlumTree core on the virtual-time simulator, N nodes
// in one process, compared with flooding on the same overlay and with iroh-gossip's own bars.
import {
  DEFAULT_PLUMTREE_CONFIG,
  type GossipConfigInput,
  GossipSimulator,
  type SimGossipNode,
} from "@p2panda-web/core/gossip";

interface Row {
  failed: number;
  afterFailure: number;
  afterFailureUpstream: number;
  eventually: number;
  eventuallyUpstream: number;
  floodAfterFailure: number;
  afterHeal: number;
}

/** RMR and LDH of one kind of broadcast on a settled overlay, beside flooding from the same origins. */
export interface Stable {
  rmr: number[];
  ldh: number[];
  meanHops: number[];
  floodRmr: number[];
  floodLdh: number[];
  floodMeanHops: number[];
  graftsForMessage: number;
  graftsToOptimise: number;
}

function stable(): Stable {
  return {
    rmr: [],
    ldh: [],
    meanHops: [],
    floodRmr: [],
    floodLdh: [],
    floodMeanHops: [],
    graftsForMessage: 0,
    graftsToOptimise: 0,
  };
}

/**
 * Broadcasts 3 s apart from `origin` (or each from a random live node), each measured beside
 * flooding from the same origin over the same overlay. `first` numbers the random senders so
 * that a run split into several calls picks the same senders as one call.
 */
function measure(
  sim: GossipSimulator,
  count: number,
  into: Stable,
  origin?: SimGossipNode,
  first = 0,
): void {
  const before = { ...sim.controlsSent };
  for (let i = first; i < first + count; i++) {
    const live = sim.live;
    const from = origin ?? (live[(i * 7919 + 13) % live.length] as SimGossipNode);
    const key = sim.broadcast(from);
    sim.runFor(3_000);
    const r = sim.report(key);
    into.rmr.push(r.rmr);
    into.ldh.push(r.ldh);
    into.meanHops.push(r.meanHops);
    const f = sim.flood(from);
    into.floodRmr.push(f.rmr);
    into.floodLdh.push(f.ldh);
    into.floodMeanHops.push(f.meanHops);
  }
  into.graftsForMessage += (sim.controlsSent.graftForMessage - before.graftForMessage) / count;
  into.graftsToOptimise += (sim.controlsSent.graftToOptimise - before.graftToOptimise) / count;
}

/**
 * A stable overlay of `nodes`: joins and a shuffle round; one sender's first broadcast builds
 * the tree (it floods), then `count` more from it are measured (as iroh-gossip's single-sender
 * test does); then `randomTotal` broadcasts from random senders, of which the first `count` and
 * the last `count` are reported: the tree reshapes itself while senders change, and the last
 * ones show where it settles.
 */
export function stableOverlay(
  nodes: number,
  count: number,
  randomTotal: number,
  config?: GossipConfigInput,
) {
  const started = performance.now();
  const sim = new GossipSimulator({ nodes, seed: 1, ...(config ? { config } : {}) });
  sim.runFor(nodes * 10 + 65_000);
  const origin = sim.live[0] as SimGossipNode;
  measure(sim, 1, stable(), origin);
  const single = stable();
  measure(sim, count, single, origin);
  const firstRandom = stable();
  measure(sim, count, firstRandom);
  measure(sim, randomTotal - 2 * count, stable(), undefined, count);
  const lastRandom = stable();
  measure(sim, count, lastRandom, undefined, randomTotal - count);
  return { nodes, single, firstRandom, lastRandom, wallS: (performance.now() - started) / 1000 };
}

export function mean(xs: number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** One overlay of `nodes`; `failed` of them crash at once; broadcasts before, after, healed. */
function scenario(
  nodes: number,
  failed: number,
  broadcastsAfterFailure: number,
  announceRecent: boolean,
) {
  const sim = new GossipSimulator({
    nodes,
    seed: 1,
    config: announceRecent ? {} : { broadcast: { announceRecentToNewNeighbourMs: 0 } },
  });
  // Joins take N × 10 ms; then a shuffle round fills the passive views.
  sim.runFor(nodes * 10 + 65_000);
  sim.fail(failed);
  // Flooding over the damaged overlay, before any repair: the overlay's own connectivity.
  const flood = sim.flood(sim.live[0]!).reliability;
  const after: number[] = [];
  const keys = [];
  for (let i = 0; i < broadcastsAfterFailure; i++) {
    const key = sim.broadcast();
    keys.push(key);
    sim.runFor(1_000);
    after.push(sim.report(key).reliability);
  }
  sim.runFor(60_000);
  // The same broadcasts, counted again once the overlay had 60 s to repair itself.
  const eventually = keys.map((key) => sim.report(key).reliability);
  const healed: number[] = [];
  for (let i = 0; i < 3; i++) {
    const key = sim.broadcast();
    sim.runFor(3_000);
    healed.push(sim.report(key).reliability);
  }
  return { after: mean(after), eventually: mean(eventually), healed: mean(healed), flood };
}

export async function run(options: {
  quick: boolean;
}): Promise<{ title: string; markdown: string }> {
  const started = performance.now();
  const sizes = options.quick ? [100, 400] : [100, 1_000, 4_000, 10_000];
  const count = options.quick ? 5 : 10;
  const randomTotal = options.quick ? 20 : 40;
  const overlays = sizes.map((n) => stableOverlay(n, count, randomTotal));
  // The same overlay and senders with iroh-gossip's optimisation threshold, the one change of
  // the broadcast defaults measured here.
  const ablationNodes = options.quick ? 400 : 1_000;
  const upstreamThreshold = 7;
  const ablation = [
    { name: `${DEFAULT_PLUMTREE_CONFIG.optimizationThreshold} hops (default)`, config: undefined },
    {
      name: `${upstreamThreshold} hops (iroh-gossip)`,
      config: { broadcast: { optimizationThreshold: upstreamThreshold } },
    },
  ].map((v) => ({ ...v, overlay: stableOverlay(ablationNodes, count, randomTotal, v.config) }));
  const nodes = options.quick ? 400 : 4000;
  const failures = [0, 0.2, 0.5, 0.8];
  const broadcastsAfterFailure = options.quick ? 5 : 10;
  const rows: Row[] = [];
  for (const failed of failures) {
    const ours = scenario(nodes, failed, broadcastsAfterFailure, true);
    const upstream = scenario(nodes, failed, broadcastsAfterFailure, false);
    rows.push({
      failed,
      afterFailure: ours.after,
      afterFailureUpstream: upstream.after,
      eventually: ours.eventually,
      eventuallyUpstream: upstream.eventually,
      floodAfterFailure: ours.flood,
      afterHeal: ours.healed,
    });
  }
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  const n = (x: number) => x.toLocaleString("en");
  const ratio = (a: number[], b: number[]) => (mean(a) / mean(b)).toFixed(2);
  const stableRow = (o: (typeof overlays)[number], senders: string, s: Stable) =>
    `| ${n(o.nodes)} | ${senders} | ${mean(s.rmr).toFixed(3)} | ${mean(s.ldh).toFixed(1)} | ${mean(s.floodRmr).toFixed(2)} | ${mean(s.floodLdh).toFixed(1)} | ${ratio(s.ldh, s.floodLdh)} | ${ratio(s.meanHops, s.floodMeanHops)} | ${s.graftsForMessage.toFixed(1)} | ${s.graftsToOptimise.toFixed(1)} |`;
  const threshold = DEFAULT_PLUMTREE_CONFIG.optimizationThreshold;
  const markdown = [
    `Simulator: N nodes on one topic, iroh-gossip membership defaults (active 5, passive 30) and PlumTree defaults (measured graft timeouts from 80/40 ms up to 1 s, IHave 5 ms, tree optimisation at ${threshold} hops), one-way latency 10–100 ms per link (seeded), failure detected 200 ms after a send to a crashed node or 10 s after the crash on an idle link (keep-alive), p2panda healer on (5 s). Wall time ${(
      (performance.now() - started) / 1000
    ).toFixed(1)} s${options.quick ? " (quick mode)" : ""}.`,
    "",
    `**Stable overlay.** After the joins and a shuffle round, one sender's first broadcast builds the tree (it floods), then ${count} more from it are measured; then ${randomTotal} broadcasts from random senders follow, of which the first ${count} and the last ${count} are reported (the tree reshapes itself for each new sender; the last ones show where it settles). Broadcasts are 3 s apart, each beside flooding from the same origin over the same active views.`,
    "",
    "| N | senders | PlumTree RMR | PlumTree LDH | flooding RMR | flooding LDH | LDH / flooding LDH | mean hops / flooding's | grafts for a message per broadcast | tree-optimisation grafts per broadcast |",
    "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...overlays.flatMap((o) => [
      stableRow(o, "one", o.single),
      stableRow(o, `random, 1–${count}`, o.firstRandom),
      stableRow(o, `random, ${randomTotal - count + 1}–${randomTotal}`, o.lastRandom),
    ]),
    "",
    `Wall time per overlay (joins, ${1 + count + randomTotal} broadcasts, measurements): ${overlays.map((o) => `${n(o.nodes)} nodes ${o.wallS.toFixed(1)} s`).join(", ")}.`,
    "",
    `**Optimisation threshold, with and without** (N = ${n(ablationNodes)}, same seed, overlay and senders): a lazy neighbour whose announcement is this many hops shorter than the eager path a message came along becomes the parent.`,
    "",
    "| threshold | senders | PlumTree RMR | PlumTree LDH | flooding LDH | LDH / flooding LDH | mean hops / flooding's | tree-optimisation grafts per broadcast |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...ablation.flatMap(({ name, overlay: o }) =>
      (
        [
          ["one", o.single],
          [`random, 1–${count}`, o.firstRandom],
          [`random, ${randomTotal - count + 1}–${randomTotal}`, o.lastRandom],
        ] as const
      ).map(
        ([senders, s]) =>
          `| ${name} | ${senders} | ${mean(s.rmr).toFixed(3)} | ${mean(s.ldh).toFixed(1)} | ${mean(s.floodLdh).toFixed(1)} | ${ratio(s.ldh, s.floodLdh)} | ${ratio(s.meanHops, s.floodMeanHops)} | ${s.graftsToOptimise.toFixed(1)} |`,
      ),
    ),
    "",
    "iroh-gossip's own bars, from its `tests/sim.rs` (100 peers by default, 30 rounds, latency 10–100 ms): one sender RMR < 0.2 and LDH < 15; random senders (`big_multiple_sender`) RMR < 1 and LDH < 18.",
    "",
    `**Failures.** N = ${n(nodes)}; a fraction of the nodes crashes at once.`,
    "",
    "| Failed at once | Flooding over the damaged overlay, before repair | PlumTree: broadcasts after the failure, delivered within 1 s | same, delivered in the end | iroh-gossip behaviour: within 1 s | iroh-gossip behaviour: in the end | New broadcasts after 60 s of healing |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...rows.map(
      (r) =>
        `| ${pct(r.failed)} | ${pct(r.floodAfterFailure)} | ${pct(r.afterFailure)} | ${pct(r.eventually)} | ${pct(r.afterFailureUpstream)} | ${pct(r.eventuallyUpstream)} | ${pct(r.afterHeal)} |`,
    ),
    "",
    `The ${broadcastsAfterFailure} broadcasts after the failure are 1 s apart from random live nodes; "in the end" counts their deliveries again after 60 s more. Failures are only noticed when a node sends to a crashed neighbour (or after the 10 s keep-alive), so right after a massive failure the overlay is as broken as the flooding column shows; PlumTree cannot do better than flooding over it. "iroh-gossip behaviour" is the same code and settings without the repair announcements below.`,
    "",
    "*Repair announcements* (p2panda-web, `announceRecentToNewNeighbourMs`, default 15 s): after a neighbour failed, the passive node that replaces it is told (`ihave`) of the messages received in the last 15 s and grafts what it lacks, so a broadcast that was in flight through crashed nodes still reaches the part of the tree behind them. iroh-gossip sends nothing to a new neighbour.",
    "",
    "Reliability = live nodes that delivered / live nodes. RMR = payload messages / (delivered − 1) − 1 (0 = a perfect tree). LDH = most hops of any delivery. Flooding is computed on a snapshot of the same active views (every node forwards to all neighbours, first receipt along the fastest path). Graft timeouts: a node waits mean + 4 deviations of the delays it measured from a message's announcement to its eager arrival (an expired wait counts as twice the wait), at least 80 ms and at most 1 s, so a lazy link is grafted when a message is late for this overlay, not whenever an eager path is slower than 80 ms.",
  ].join("\n");
  return { title: "Gossip (HyParView + PlumTree)", markdown };
}

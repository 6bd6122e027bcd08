// Gossip at scale: the sans-IO HyParView + PlumTree core on the virtual-time simulator, N nodes
// in one process, compared with flooding on the same overlay and with the papers' figures.
import { GossipSimulator } from "@p2panda-web/core/gossip";

interface Row {
  failed: number;
  afterFailure: number;
  afterFailureUpstream: number;
  eventually: number;
  eventuallyUpstream: number;
  floodAfterFailure: number;
  afterHeal: number;
}

interface Stable {
  rmr: number[];
  ldh: number[];
  floodRmr: number[];
  floodLdh: number[];
}

function mean(xs: number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** One overlay of `nodes`; `failed` of them crash at once; broadcasts before, after, healed. */
function scenario(
  nodes: number,
  failed: number,
  broadcastsAfterFailure: number,
  announceRecent: boolean,
  stable?: Stable,
) {
  const sim = new GossipSimulator({
    nodes,
    seed: 1,
    config: announceRecent ? {} : { broadcast: { announceRecentToNewNeighbourMs: 0 } },
  });
  // Joins take N × 10 ms; then a shuffle round fills the passive views.
  sim.runFor(nodes * 10 + 65_000);
  if (stable !== undefined) {
    for (let i = 0; i < 5; i++) {
      const key = sim.broadcast();
      sim.runFor(3_000);
      const r = sim.report(key);
      // The first broadcast builds the tree (it floods); the tree's steady state is after it.
      if (i > 0) {
        stable.rmr.push(r.rmr);
        stable.ldh.push(r.ldh);
      }
      const f = sim.flood(sim.live[i] ?? sim.nodes[0]!);
      stable.floodRmr.push(f.rmr);
      stable.floodLdh.push(f.ldh);
    }
  }
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
  const nodes = options.quick ? 400 : 4000;
  const failures = [0, 0.2, 0.5, 0.8];
  const broadcastsAfterFailure = options.quick ? 5 : 10;
  const rows: Row[] = [];
  let stable: Stable | undefined;
  for (const failed of failures) {
    const first = stable === undefined;
    stable ??= { rmr: [], ldh: [], floodRmr: [], floodLdh: [] };
    const ours = scenario(nodes, failed, broadcastsAfterFailure, true, first ? stable : undefined);
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
  const s = stable as NonNullable<typeof stable>;
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  const paperReliability: Record<number, string> = {
    0: "100 %",
    0.2: "≈ 100 %",
    0.5: "≈ 100 %",
    0.8: "≈ 90 % or more",
  };
  const markdown = [
    `N = ${nodes.toLocaleString("en")} nodes on one topic, iroh-gossip defaults (active 5, passive 30, graft 80/40 ms, IHave 5 ms), one-way latency 10–100 ms per link (seeded), failure detected 200 ms after a send to a crashed node or 10 s after the crash on an idle link (keep-alive), p2panda healer on (5 s). Wall time ${((performance.now() - started) / 1000).toFixed(1)} s${options.quick ? " (quick mode)" : ""}.`,
    "",
    "| Failed at once | Flooding over the damaged overlay, before repair | PlumTree: broadcasts after the failure, delivered within 1 s | same, delivered in the end | iroh-gossip behaviour: within 1 s | iroh-gossip behaviour: in the end | New broadcasts after 60 s of healing | HyParView paper (≈, from memory) |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ...rows.map(
      (r) =>
        `| ${pct(r.failed)} | ${pct(r.floodAfterFailure)} | ${pct(r.afterFailure)} | ${pct(r.eventually)} | ${pct(r.afterFailureUpstream)} | ${pct(r.eventuallyUpstream)} | ${pct(r.afterHeal)} | ${paperReliability[r.failed] ?? ""} |`,
    ),
    "",
    `The ${broadcastsAfterFailure} broadcasts after the failure are 1 s apart from random live nodes; "in the end" counts their deliveries again after 60 s more. Failures are only noticed when a node sends to a crashed neighbour (or after the 10 s keep-alive), so right after a massive failure the overlay is as broken as the flooding column shows; PlumTree cannot do better than flooding over it.`,
    "",
    "| Stable overlay, no failures | RMR | LDH (hops) |",
    "| --- | --- | --- |",
    `| PlumTree (ours, mean of 4 broadcasts after the first) | ${mean(s.rmr).toFixed(2)} | ${mean(s.ldh).toFixed(1)} |`,
    `| Flooding on the same overlay (ours) | ${mean(s.floodRmr).toFixed(2)} | ${mean(s.floodLdh).toFixed(1)} |`,
    "| PlumTree paper, stable (≈, from memory) | ≈ 0 | somewhat above flooding |",
    "| Flooding / eager gossip in the paper (≈, from memory) | ≈ fanout − 1 (≈ 3–4) | lowest |",
    "",
    "*Repair announcements* (p2panda-web, `announceRecentToNewNeighbourMs`, default 15 s): after a neighbour failed, the passive node that replaces it is told (`ihave`) of the messages received in the last 15 s and grafts what it lacks, so a broadcast that was in flight through crashed nodes still reaches the part of the tree behind them. iroh-gossip sends nothing to a new neighbour.",
    "",
    "Reliability = live nodes that delivered / live nodes. RMR = payload messages / (delivered − 1) − 1 (0 = a perfect tree). LDH = most hops of any delivery. Flooding is computed on a snapshot of the same active views (every node forwards to all neighbours, first receipt along the fastest path). Our RMR stays above the paper's ≈ 0 because the 80 ms graft timeout is shorter than many eager paths with 10–100 ms links: lazy links get grafted, trading redundancy for latency (the paper used larger timeouts). Paper figures are approximate recollections, not measurements here.",
  ].join("\n");
  return { title: "Gossip (HyParView + PlumTree)", markdown };
}

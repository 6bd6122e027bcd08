// Confidential discovery at scale: the sans-IO discovery core (random walkers, backoff, PSI-hash
// handshakes, manager policy) on the virtual-time simulator, N nodes in one process. Every size
// runs twice in the same run: with member referrals (the default) and without (the baseline:
// a node must find every co-topic peer by its random walks).
import { DiscoverySimulator, type SimulationReport } from "@p2panda-web/core/discovery";

interface Case {
  nodes: number;
  /** Members of a topic refer each other (`referralSessions` 2) or not (0). */
  referrals: boolean;
}

const TOPICS_PER_NODE = 2;
const BOOTSTRAPS = 5;
/** Topics grow with N so that a topic has about 20 members whatever N (20 at N = 100). */
const topicsFor = (nodes: number) => Math.max(20, Math.round(nodes / 10));

/** The coupon-collector floor: uniform draws needed on average to see all of k items, k·H_k. */
export function couponCollector(k: number): number {
  let h = 0;
  for (let i = 1; i <= k; i++) h += 1 / i;
  return k * h;
}

export async function run(options: {
  quick: boolean;
}): Promise<{ title: string; markdown: string }> {
  const sizes = options.quick ? [100] : [100, 1000, 5000];
  const cases: Case[] = sizes.flatMap((nodes) => [
    { nodes, referrals: true },
    { nodes, referrals: false },
  ]);
  // Wall-clock budget per run; a run that does not converge in it reports where it stood.
  const wallBudgetMs = options.quick ? 10_000 : 150_000;
  const rows: string[] = [];
  const notes: string[] = [];
  const reports = new Map<string, SimulationReport>();
  for (const c of cases) {
    const topics = topicsFor(c.nodes);
    const report = new DiscoverySimulator({
      nodes: c.nodes,
      topics,
      topicsPerNode: TOPICS_PER_NODE,
      bootstrapNodes: BOOTSTRAPS,
      seed: 1,
      convergence: "topics",
      nodeSharing: "bootstrap-and-common-topics",
      bootstrapNodeSharing: "all",
      manager: c.referrals ? {} : { referralSessions: 0 },
    }).run({ maxVirtualMs: 6 * 3_600_000, maxWallMs: wallBudgetMs });
    reports.set(`${c.nodes}:${c.referrals}`, report);
    const s = (ms: number) => (ms / 1000).toFixed(1);
    const pair = (x: { median: number; p95: number }) => `${s(x.median)} / ${s(x.p95)}`;
    const k = report.peersPerNode.median;
    rows.push(
      `| ${c.nodes.toLocaleString("en")} | ${topics} | ${c.referrals ? "yes" : "no (baseline)"} | ` +
        `${report.convergedNodes}/${report.measuredNodes} | ${k} | ${pair(report.firstPeerMs)} | ` +
        `${pair(report.fivePeersMs)} | ${pair(report.convergenceMs)} | ` +
        `${report.sessionsToConverge.median} / ${report.sessionsToConverge.p95} | ${couponCollector(k).toFixed(0)} | ` +
        `${(report.bytesSentPerNode.median / 1024).toFixed(0)} | ${report.refusedSessions.toLocaleString("en")} | ` +
        `${(report.wallMs / 1000).toFixed(1)} |`,
    );
    if (!report.converged) {
      notes.push(
        `- N = ${c.nodes}, referrals ${c.referrals ? "on" : "off"}: stopped at the ${wallBudgetMs / 1000} s ` +
          `wall-clock budget (${s(report.virtualMs)} s virtual) with ${report.convergedNodes} of ` +
          `${report.measuredNodes} nodes converged; times of the others are counted up to the stop.`,
      );
    }
  }
  const ratios: string[] = [];
  for (const nodes of sizes) {
    const on = reports.get(`${nodes}:true`);
    const off = reports.get(`${nodes}:false`);
    if (on === undefined || off === undefined || on.convergenceMs.median === 0) continue;
    ratios.push(
      `- N = ${nodes.toLocaleString("en")}: median time to every co-topic peer ${(
        off.convergenceMs.median / on.convergenceMs.median
      ).toFixed(1)}× shorter with referrals` +
        (on.converged && off.converged
          ? ""
          : " (a run that hit the budget makes this a lower bound)") +
        ".",
    );
  }
  const markdown = [
    "| N | topics | member referrals | converged | co-topic peers k (median) | first co-topic peer, s (median / p95) | 5 co-topic peers, s | every co-topic peer, s | sessions per node until then (median / p95) | k·H_k | KiB sent per node (median) | refused (cap 16) | wall s |",
    "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows,
    "",
    `Setup: topics = max(20, N / 10), each node picks ${TOPICS_PER_NODE} at random (so a topic has about 20 members); ` +
      `${BOOTSTRAPS} bootstrap nodes every node knows, which hand out every node they know; other nodes share ` +
      "their own info, the bootstrap nodes and the nodes of a topic in common (`bootstrap-and-common-topics`, the " +
      "default); 2 walkers per node, upstream backoff and reset probability; one-way latency 20–80 ms per link; " +
      "at most 256 transport infos per `nodes` message. Seed 1. Virtual time from the start, all nodes starting at once.",
    "",
    'How to read: a node "knows" a co-topic peer once it has run a PSI session with it (either role), so it ' +
      "knows they share a topic — what gossip and sync need. *Member referrals*: at the end of a session between " +
      "two nodes that share a topic, each marks which of the nodes it hands over it found, in sessions of its own, " +
      "to share a topic with both; the receiver runs sessions with those (2 at a time, without the walkers' " +
      "backoff), and each such session verifies the claim as any other. Without them (the baseline, upstream's " +
      "rule) a node finds each co-topic peer by random walk steps. *k·H_k* is the coupon-collector floor: the " +
      "expected number of uniform random draws from the k co-topic peers alone until each was drawn once; a walk " +
      "that also steps on the other N − k nodes needs more. Sessions count both roles and failures.",
    "",
    ...ratios,
    ...(notes.length > 0 ? ["", ...notes] : []),
  ].join("\n");
  return { title: "Discovery (simulated, sans-IO core)", markdown };
}

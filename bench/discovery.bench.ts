// Confidential discovery at scale: the sans-IO discovery core (random walkers, backoff, PSI-hash
// handshakes, manager policy) on the virtual-time simulator, N nodes in one process.
import { DiscoverySimulator, type SimulationReport } from "@p2panda-web/core/discovery";

interface Case {
  nodes: number;
  convergence: "addresses" | "topics";
}

const TOPICS = 20;
const TOPICS_PER_NODE = 2;
const BOOTSTRAPS = 5;

export async function run(options: {
  quick: boolean;
}): Promise<{ title: string; markdown: string }> {
  const cases: Case[] = options.quick
    ? [
        { nodes: 100, convergence: "addresses" },
        { nodes: 300, convergence: "addresses" },
        { nodes: 50, convergence: "topics" },
      ]
    : [
        { nodes: 100, convergence: "addresses" },
        { nodes: 1000, convergence: "addresses" },
        { nodes: 2000, convergence: "addresses" },
        { nodes: 5000, convergence: "addresses" },
        { nodes: 100, convergence: "topics" },
        { nodes: 200, convergence: "topics" },
      ];
  // Wall-clock budget per run; a case that does not converge in it stops the larger ones.
  const wallBudgetMs = options.quick ? 5_000 : 150_000;
  const rows: string[] = [];
  const notes: string[] = [];
  const byCriterion = new Map<string, { nodes: number; report: SimulationReport }[]>();
  const skipped = new Set<string>();
  for (const c of cases) {
    if (skipped.has(c.convergence)) {
      notes.push(
        `- N = ${c.nodes} (${c.convergence}) not run: a smaller N did not converge within the budget.`,
      );
      continue;
    }
    const report = new DiscoverySimulator({
      nodes: c.nodes,
      topics: TOPICS,
      topicsPerNode: TOPICS_PER_NODE,
      bootstrapNodes: BOOTSTRAPS,
      seed: 1,
      convergence: c.convergence,
    }).run({ maxVirtualMs: 6 * 3_600_000, maxWallMs: wallBudgetMs });
    const s = (ms: number) => (ms / 1000).toFixed(1);
    rows.push(
      `| ${c.nodes.toLocaleString("en")} | ${c.convergence} | ${report.convergedNodes}/${report.measuredNodes} | ` +
        `${report.peersPerNode.median} | ${s(report.convergenceMs.median)} / ${s(report.convergenceMs.p95)} | ` +
        `${report.sessionsToConverge.median} / ${report.sessionsToConverge.p95} | ` +
        `${(report.bytesSentPerNode.median / 1024).toFixed(0)} | ${report.totalSessions.toLocaleString("en")} | ` +
        `${report.refusedSessions.toLocaleString("en")} | ${(report.wallMs / 1000).toFixed(1)} |`,
    );
    const list = byCriterion.get(c.convergence) ?? [];
    list.push({ nodes: c.nodes, report });
    byCriterion.set(c.convergence, list);
    if (!report.converged) {
      skipped.add(c.convergence);
      notes.push(
        `- N = ${c.nodes} (${c.convergence}) stopped at the ${wallBudgetMs / 1000} s wall-clock budget ` +
          `(${s(report.virtualMs)} s virtual) before every node converged.`,
      );
    }
  }
  const growth: string[] = [];
  for (const [criterion, list] of byCriterion) {
    const done = list.filter((x) => x.report.converged);
    for (let i = 1; i < done.length; i++) {
      const a = done[i - 1] as { nodes: number; report: SimulationReport };
      const b = done[i] as { nodes: number; report: SimulationReport };
      const ratio = (x: number, y: number) => (y === 0 ? "∞" : (x / y).toFixed(1));
      growth.push(
        `- ${criterion}: N ×${ratio(b.nodes, a.nodes)} → median convergence time ×` +
          `${ratio(b.report.convergenceMs.median, a.report.convergenceMs.median)}, median sessions ×` +
          `${ratio(b.report.sessionsToConverge.median, a.report.sessionsToConverge.median)}.`,
      );
    }
  }
  const markdown = [
    "| N | converged when a node … | converged | co-topic peers (median) | virtual time to converge, s (median / p95) | sessions per node (median / p95) | KiB sent per node (median) | sessions in total | refused (cap 16) | wall s |",
    "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows,
    "",
    `Setup: ${TOPICS} topics, each node picks ${TOPICS_PER_NODE} at random; ${BOOTSTRAPS} bootstrap nodes every node knows; ` +
      "2 walkers per node, upstream backoff and reset probability; one-way latency 20–80 ms per link; " +
      "`shareNodesWithCommonTopics = false` (upstream default), at most 256 transport infos per `nodes` message " +
      "(a random sample, own info first); simulated infos are the size of a signed WebSocket address (≈ 180 B). Seed 1.",
    "",
    "How to read: *addresses* = the node holds the transport info of every other node that shares one of its " +
      "topics (upstream's peer_discovery_in_network criterion); *topics* = it has also run a PSI session with each " +
      "of them, so it knows they share the topic (what gossip and sync need). Times are per node, from start. " +
      "Bytes are CBOR frames with their length prefix, all messages sent by the node over the whole run. " +
      "Sessions count both roles and failures (refused sessions at the crowded bootstrap nodes included).",
    "",
    "Growth with N:",
    ...(growth.length > 0 ? growth : ["- (only one size converged)"]),
    ...(notes.length > 0 ? ["", ...notes] : []),
  ].join("\n");
  return { title: "Discovery (simulated, sans-IO core)", markdown };
}

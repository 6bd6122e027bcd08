// Confidential discovery at scale: the sans-IO discovery core (random walkers, backoff, PSI-hash
// handshakes, manager policy) on the virtual-time simulator, N nodes in one process. Every size
// runs three times in the same run: with the defaults (member referrals and eager search), without
// member referrals (a node must find every co-topic peer by its random walks), and without eager
// search (upstream's backoff while a topic of ours has no member we know).
import { cpus, loadavg } from "node:os";
import { DiscoverySimulator, type SimulationReport } from "@p2panda-web/core/discovery";

interface Case {
  nodes: number;
  /** Members of a topic refer each other (`referralSessions` 2) or not (0). */
  referrals: boolean;
  /** Walkers stay eager while searching (`searchWindowMs` 60 s) or not (0). */
  eager: boolean;
}

const key = (c: Case) => `${c.nodes}:${c.referrals}:${c.eager}`;

/** This process's CPU time in milliseconds: the budget of a run, whatever the machine's load. */
const cpuMs = () => process.cpuUsage().user / 1000;

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
    { nodes, referrals: true, eager: true },
    { nodes, referrals: false, eager: true },
    { nodes, referrals: true, eager: false },
  ]);
  // CPU-time budget per run (the machine is shared; wall time would measure the others' load);
  // a run that does not converge in it reports where it stood.
  const cpuBudgetMs = options.quick ? 10_000 : 60_000;
  const rows: string[] = [];
  const notes: string[] = [];
  const reports = new Map<string, SimulationReport>();
  let totalCpu = 0;
  let totalSessions = 0;
  for (const c of cases) {
    const topics = topicsFor(c.nodes);
    const sim = new DiscoverySimulator({
      nodes: c.nodes,
      topics,
      topicsPerNode: TOPICS_PER_NODE,
      bootstrapNodes: BOOTSTRAPS,
      seed: 1,
      convergence: "topics",
      nodeSharing: "bootstrap-and-common-topics",
      bootstrapNodeSharing: "all",
      manager: {
        ...(c.referrals ? {} : { referralSessions: 0 }),
        ...(c.eager ? {} : { searchWindowMs: 0 }),
      },
    });
    const cpuBefore = cpuMs();
    const report = sim.run({
      maxVirtualMs: 6 * 3_600_000,
      maxWallMs: cpuBudgetMs,
      budgetClock: cpuMs,
    });
    const cpu = cpuMs() - cpuBefore;
    totalCpu += cpu;
    totalSessions += report.totalSessions;
    reports.set(key(c), report);
    const s = (ms: number) => (ms / 1000).toFixed(1);
    const pair = (x: { median: number; p95: number }) => `${s(x.median)} / ${s(x.p95)}`;
    const k = report.peersPerNode.median;
    rows.push(
      `| ${c.nodes.toLocaleString("en")} | ${topics} | ${c.referrals ? "yes" : "**no**"} | ${c.eager ? "yes" : "**no**"} | ` +
        `${report.convergedNodes}/${report.measuredNodes} | ${k} | ${pair(report.firstPeerMs)} | ` +
        `${pair(report.fivePeersMs)} | ${pair(report.convergenceMs)} | ` +
        `${report.sessionsToConverge.median} / ${report.sessionsToConverge.p95} | ${couponCollector(k).toFixed(0)} | ` +
        `${(report.bytesSentPerNode.median / 1024).toFixed(0)} | ${report.refusedSessions.toLocaleString("en")} | ` +
        `${report.totalSessions.toLocaleString("en")} | ${(cpu / 1000).toFixed(1)} | ${(report.wallMs / 1000).toFixed(1)} |`,
    );
    if (!report.converged) {
      notes.push(
        `- N = ${c.nodes.toLocaleString("en")}, referrals ${c.referrals ? "on" : "off"}, eager search ${c.eager ? "on" : "off"}: ` +
          `stopped at the ${cpuBudgetMs / 1000} s CPU budget (${s(report.virtualMs)} s virtual) with ` +
          `${report.convergedNodes} of ${report.measuredNodes} nodes converged; times of the others ` +
          "are counted up to the stop, so those medians are lower bounds.",
      );
    }
  }
  const perSession = totalCpu / Math.max(1, totalSessions);
  const load = loadavg()
    .map((l) => l.toFixed(1))
    .join(" / ");
  const ratios: string[] = [];
  for (const nodes of sizes) {
    const on = reports.get(key({ nodes, referrals: true, eager: true }));
    const off = reports.get(key({ nodes, referrals: false, eager: true }));
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
    "| N | topics | member referrals | eager search | converged | co-topic peers k (median) | first co-topic peer, s (median / p95) | 5 co-topic peers, s | every co-topic peer, s | sessions per node until then (median / p95) | k·H_k | KiB sent per node (median) | refused (cap 16) | sessions (all nodes) | CPU s | wall s |",
    "|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
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
      "that also steps on the other N − k nodes needs more. Sessions count both roles and failures. " +
      "*Eager search*: while a topic of a node has no member it knows, its walkers wait 1 s on average " +
      "between unproductive steps for 60 s after a start (`searchWindowMs`); without it, upstream's backoff " +
      "(+1–5 s per unproductive step, up to 30 s) from the first step on.",
    "",
    `Each run stops at ${cpuBudgetMs / 1000} s of CPU time (the simulator runs every PSI handshake, BLAKE3 ` +
      `included, and the manager's every decision; ${perSession.toFixed(2)} ms of CPU per session over this run). Load average ` +
      `(1 / 5 / 15 min) at the end of the run: ${load} on ${cpus().length} cores, the benchmark at nice 15; ` +
      "wall seconds depend on that load, CPU seconds hardly.",
    "",
    ...ratios,
    ...(notes.length > 0 ? ["", ...notes] : []),
  ].join("\n");
  return { title: "Discovery (simulated, sans-IO core)", markdown };
}

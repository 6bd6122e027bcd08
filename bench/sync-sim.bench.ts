// Sync at scale: every node's SyncManager and the log sync machines on the virtual-time sync
// simulator, N nodes on a few topics going offline and coming back while they write.
import { type SyncSimulationReport, SyncSimulator } from "@p2panda-web/core/sync";

/** 25 and 125 nodes per topic. */
const scenarios = (quick: boolean) =>
  quick
    ? [{ nodes: 200, topics: 8 }]
    : [
        { nodes: 200, topics: 8 },
        { nodes: 1_000, topics: 8 },
      ];

export async function run(options: {
  quick: boolean;
}): Promise<{ title: string; markdown: string }> {
  const reports: SyncSimulationReport[] = [];
  for (const { nodes, topics } of scenarios(options.quick)) {
    const sim = await SyncSimulator.create({ nodes, topics, writesPerNode: 2, seed: 1 });
    const report = sim.run();
    console.log(`  ${nodes} nodes: ${JSON.stringify(report)}`);
    reports.push(report);
  }
  const s = (ms: number | undefined) => (ms === undefined ? "—" : (ms / 1000).toFixed(1));
  const n = (x: number) => x.toLocaleString("en");
  const markdown = [
    "| N | topics | operations | went offline | converged | s to converge after the quiet point (median / p95 / max node) | s from a write until all of its topic hold it (median / p95 / max) | sessions | failed sessions | retries | operations sent per delivery | wall s |",
    "|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ...reports.map((r) => {
      const deliveries = r.operationsSent / Math.max(1, r.operationsDelivered);
      return `| ${n(r.nodes)} | ${r.topics} | ${n(r.operations)} | ${n(r.offlineEvents)} | ${r.missing === 0 ? "yes" : `no (${n(r.missing)} missing)`} | ${s(r.nodeConvergenceMs.median)} / ${s(r.nodeConvergenceMs.p95)} / ${s(r.nodeConvergenceMs.max)} | ${s(r.deliveryMs.median)} / ${s(r.deliveryMs.p95)} / ${s(r.deliveryMs.max)} | ${n(r.sessionsStarted)} | ${n(r.sessionsFailed)} | ${n(r.retries)} | ${deliveries.toFixed(2)} | ${s(r.wallMs)} |`;
    }),
    "",
    "Setup (`SyncSimulator`, seed 1, on the shared `sim/` network model): each node syncs one of 8 topics and writes 2 operations (64-byte payloads, real Ed25519 signatures) at random times in the first 60 s. During those 60 s, 0.5 % of the nodes leave every second (`scheduleChurn`) and as many come back, each after at least 10 s away; every node is back at 60 s. One-way latency 20–80 ms per link (`SimNetwork`); a dial to a node that is away fails after 3 s, a departure is noticed by its neighbours after 2 s. Each node keeps 5 overlay neighbours per topic and replaces those that leave (a stand-in for HyParView's active view); which neighbours get a session, retries (5 s) and live forwarding are the production `SyncManager`, each session the production `TopicHandshake` and `LogSync` machines. Signatures are not verified in the simulator (the sync catch-up rows measure that).",
    "",
    "How to read: *converge* = every node holds every operation of its topic; timed from the quiet point (60 s: the last write is done and every node is back), per node (`Convergence`) and for the whole network (the slowest node). Delivery times include the time an absent node stayed away. *Operations sent per delivery* counts every `op`/`live` message sent (including those lost to a departing node) per message that brought a node an operation it did not have: live mode floods the topic's sessions, so each node hears of a new operation from about each of its neighbours.",
  ].join("\n");
  return { title: "Sync (simulated: SyncManager and log sync under churn)", markdown };
}

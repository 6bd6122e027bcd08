import type { NodeId } from "../ids/node-id.ts";
import { isStale, type NodeInfo } from "../records/node-info.ts";
import { transportKind } from "../records/transport-info.ts";

/** Most known nodes a warm start dials before the configured bootstrap list. */
export const WARM_START_MAX_NODES = 4;

/**
 * The nodes a restarted node dials first, before its configured bootstrap list: those it
 * already knows from its address book that answered the last time they were tried and are
 * always on, bootstraps (a bootstrap list changes between releases; the one that answered
 * yesterday most likely still does) and nodes reachable over WebSockets (servers, not tabs),
 * most recently answered first. A reloaded tab so reaches the network even when the configured
 * bootstraps are slow or gone.
 */
export function warmStartNodes(
  known: readonly NodeInfo[],
  options: { readonly self: NodeId; readonly configured: ReadonlySet<NodeId> },
  max = WARM_START_MAX_NODES,
): NodeId[] {
  return known
    .filter((info) => {
      if (info.nodeId === options.self || options.configured.has(info.nodeId)) return false;
      const { lastSuccessAt, lastFailureAt } = info.metrics;
      if (lastSuccessAt === undefined || isStale(info)) return false;
      if (lastFailureAt !== undefined && lastFailureAt > lastSuccessAt) return false;
      const addresses = info.transports?.addresses ?? [];
      return info.bootstrap
        ? addresses.length > 0
        : addresses.some((a) => transportKind(a) === "websockets");
    })
    .sort((a, b) => (b.metrics.lastSuccessAt ?? 0) - (a.metrics.lastSuccessAt ?? 0))
    .slice(0, max)
    .map((info) => info.nodeId);
}

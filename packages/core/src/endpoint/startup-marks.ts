// The endpoint's steps on a page load's way to its first connection, as User Timing marks
// (runtime/startup-marks.ts): when the bootstrap's WebSocket opened, when Noise and Yamux were
// done on it, when it identified, when the relay reservation came and when our first transport
// info with an address was published. Each step is marked once, the first time it happens.
import type { Libp2p, Libp2pEvents } from "@libp2p/interface";
import type { Observable } from "rxjs";
import { NodeId } from "../ids/node-id.ts";
import { markStartup, performanceTimeOf } from "../runtime/startup-marks.ts";
import type { EndpointEvent } from "./events.ts";

function nodeIdOf(peer: { toString(): string }): NodeId | undefined {
  try {
    return NodeId.fromPeerId(peer.toString());
  } catch {
    return undefined;
  }
}

/**
 * Marks the endpoint's start-up steps (see `markStartup`) until each happened once; returns
 * what stops watching. Watches nothing outside a page, where no mark is set.
 */
export function markEndpointStartup(
  libp2p: Libp2p,
  bootstraps: ReadonlySet<NodeId>,
  events$: Observable<EndpointEvent>,
): () => void {
  if ((globalThis as { document?: unknown }).document === undefined) return () => {};
  const marked = new Set<string>();
  const once = (step: string, startTime?: number): void => {
    if (marked.has(step)) return;
    marked.add(step);
    markStartup(step, startTime);
  };
  const onOpen = (event: Libp2pEvents["connection:open"]): void => {
    const remote = nodeIdOf(event.detail.remotePeer);
    if (remote === undefined || !bootstraps.has(remote)) return;
    const { open, upgraded } = event.detail.timeline;
    once("bootstrap-websocket-open", performanceTimeOf(open));
    once("bootstrap-connected", upgraded === undefined ? undefined : performanceTimeOf(upgraded));
  };
  const onIdentify = (event: Libp2pEvents["peer:identify"]): void => {
    const remote = nodeIdOf(event.detail.peerId);
    if (remote !== undefined && bootstraps.has(remote)) once("bootstrap-identified");
  };
  libp2p.addEventListener("connection:open", onOpen);
  libp2p.addEventListener("peer:identify", onIdentify);
  const subscription = events$.subscribe((event) => {
    if (event.type === "endpoint:relay-reservation" && event.state === "gained") {
      once("relay-reservation");
    } else if (event.type === "endpoint:addresses-changed" && event.addresses.length > 0) {
      once("transport-info-published");
    }
  });
  return () => {
    libp2p.removeEventListener("connection:open", onOpen);
    libp2p.removeEventListener("peer:identify", onIdentify);
    subscription.unsubscribe();
  };
}

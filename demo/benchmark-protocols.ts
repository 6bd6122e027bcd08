// The demo's benchmark protocols (echo and sink of diagnostics.ts, the log catch-up of
// catch-up.ts) as services of the page's node. A page serves them only when asked with
// `?bench` in its URL (the browser benchmarks and the e2e echo test ask): a page opened by a
// user answers no protocol beyond p2panda's own.
import type { AddressBook } from "@p2panda-web/address-book";
import type { NodeService, NodeServiceFactories } from "@p2panda-web/core";
import type { Endpoint } from "@p2panda-web/core/endpoint";
import * as catchUp from "./catch-up.ts";
import * as diagnostics from "./diagnostics.ts";

/** The URL parameter that asks a page for the benchmark protocols. */
export const BENCHMARK_PROTOCOLS_PARAM = "bench";

/** Whether the page was asked to serve the benchmark protocols (`?bench`). */
export function benchmarkProtocolsRequested(location: Location = window.location): boolean {
  return new URLSearchParams(location.search).has(BENCHMARK_PROTOCOLS_PARAM);
}

/** A protocol the endpoint serves from start to stop. */
function served(
  endpoint: Endpoint,
  serve: (endpoint: Endpoint) => void,
  protocols: readonly string[],
): NodeService {
  return {
    start: () => serve(endpoint),
    stop: async () => {
      for (const protocol of protocols) await endpoint.unaccept(protocol);
    },
  };
}

/** The node services that serve the benchmark protocols. */
export const benchmarkServices: NodeServiceFactories<
  Record<string, NodeService>,
  Endpoint,
  AddressBook
> = {
  diagnostics: ({ endpoint }) =>
    served(endpoint, diagnostics.serveDiagnostics, [
      diagnostics.ECHO_PROTOCOL,
      diagnostics.SINK_PROTOCOL,
    ]),
  catchUp: ({ endpoint }) => served(endpoint, catchUp.serveCatchUp, [catchUp.CATCH_UP_PROTOCOL]),
};

import { DEFAULT_RELAY_SERVER_OPTIONS } from "@p2panda-web/core/node";
import type { Command } from "../command.ts";
import { runNode } from "../run-node.ts";
import { SHARED_FLAGS } from "./shared-flags.ts";

const MAX_RESERVATIONS_FLAG: Command["flags"][number] = {
  name: "max-reservations",
  type: "string",
  placeholder: "<n>",
  description: "Most relay reservations held at once.",
  defaultText: String(DEFAULT_RELAY_SERVER_OPTIONS.maxReservations),
};

const RELAY_DATA_LIMIT_FLAG: Command["flags"][number] = {
  name: "relay-data-limit",
  type: "string",
  placeholder: "<bytes>",
  description:
    "Relay nodes' data (discovery, gossip, sync) when they cannot connect directly (their relayedFallback option), up to this many bytes per relayed connection. Off unless this or --relay-duration-limit is given: circuits then carry WebRTC signalling only.",
  defaultText: "off (signalling only)",
};

const RELAY_DURATION_LIMIT_FLAG: Command["flags"][number] = {
  name: "relay-duration-limit",
  type: "string",
  placeholder: "<seconds>",
  description:
    "With data relaying on: longest a relayed connection stays open before it is cut (the nodes then dial a new one). Turns data relaying on by itself too.",
  defaultText: `${DEFAULT_RELAY_SERVER_OPTIONS.connectionDurationLimitMs / 1000} (with data relaying on)`,
};

/** `p2panda-web bootstrap`: a bootstrap and relay node for browsers. */
export const bootstrapCommand: Command = {
  name: "bootstrap",
  summary: "Run a bootstrap and circuit-relay node that browsers dial first.",
  description: [
    "Runs a bootstrap node: it listens on WebSockets, WebRTC-direct and TCP, and serves circuit",
    "relay v2 (bounded reservations, time- and data-limited relayed connections) so that browser",
    "nodes can reach each other over WebRTC. Prints one JSON line",
    '{"event":"listening","nodeId":"<hex>","addrs":[...]} when ready, then one JSON line per',
    "connection opened or closed. Progress and warnings go to stderr. SIGINT/SIGTERM stop it",
    "cleanly (connections closed, address book closed, exit code 0). It takes part in discovery",
    "(one JSON line per discovery session ended, failed or refused): others start walks from it.",
    "With --relay-data-limit or --relay-duration-limit its circuits also carry the sessions of",
    "nodes that cannot connect directly, within those limits per circuit (docs/bootstrap-node.md).",
  ].join("\n"),
  flags: [...SHARED_FLAGS, MAX_RESERVATIONS_FLAG, RELAY_DATA_LIMIT_FLAG, RELAY_DURATION_LIMIT_FLAG],
  run: (values, io) => runNode(values, io, { relay: true, label: "bootstrap node" }),
};

import {
  ADDRESS_BOOK_FILE,
  LOG_STORE_FILE,
  WEBRTC_DIRECT_CERTIFICATE_FILE,
} from "@p2panda-web/presets/node";
import type { Command } from "../command.ts";

/** Flags of both `bootstrap` and `node`. */
export const SHARED_FLAGS: Command["flags"] = [
  {
    name: "host",
    type: "string",
    placeholder: "<ip>",
    description: "IP address to listen on; 0.0.0.0 or :: for every interface.",
    defaultText: "127.0.0.1",
  },
  {
    name: "ws-port",
    type: "string",
    placeholder: "<port>",
    description: "WebSockets port (0 = any free port).",
    defaultText: "0",
  },
  {
    name: "tcp-port",
    type: "string",
    placeholder: "<port>",
    description: "TCP port (0 = any free port).",
    defaultText: "0",
  },
  {
    name: "webrtc-port",
    type: "string",
    placeholder: "<port>",
    description: "WebRTC-direct UDP port (0 = any free port).",
    defaultText: "0",
  },
  {
    name: "key-file",
    type: "string",
    placeholder: "<path>",
    description:
      "File holding the node's 32-byte Ed25519 seed (hex); created with mode 0600 if missing, so the node id survives restarts.",
    defaultText: "a new identity on every start",
  },
  {
    name: "network-id",
    type: "string",
    placeholder: "<hex>",
    description: "Network id, 64 hex characters; nodes of other networks cannot talk to it.",
    defaultText: "the p2panda default network",
  },
  {
    name: "data-dir",
    type: "string",
    placeholder: "<dir>",
    description: `Directory for the SQLite address book (${ADDRESS_BOOK_FILE}), the WebRTC-direct certificate (${WEBRTC_DIRECT_CERTIFICATE_FILE}, so its /certhash/ address survives restarts) and, with --sync, the logs (${LOG_STORE_FILE}).`,
    defaultText: "in memory, forgotten on exit",
  },
  {
    name: "allow-private-addresses",
    type: "boolean",
    description:
      "Advertise and dial loopback and private (LAN) addresses; needed for local development.",
  },
  {
    name: "bootstrap",
    type: "string",
    multiple: true,
    placeholder: "<multiaddr>",
    description: "Another bootstrap node to connect to (ending in /p2p/<peer id>).",
  },
];

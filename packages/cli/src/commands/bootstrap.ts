import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import {
  AddressBook,
  type AddressBookStore,
  memoryAddressBookStore,
} from "@p2panda-web/address-book";
import { sqliteAddressBookStore } from "@p2panda-web/address-book/sqlite";
import { Identity, NetworkId, Topic } from "@p2panda-web/core";
import { type DiscoveryEvent, DiscoveryService } from "@p2panda-web/core/discovery";
import type { Endpoint, EndpointEvent } from "@p2panda-web/core/endpoint";
import { createNodeEndpoint, DEFAULT_RELAY_SERVER_OPTIONS } from "@p2panda-web/core/node";
import { type CliIo, type Command, type FlagValues, UsageError } from "../command.ts";
import { loadOrCreateKeyFile } from "../key-file.ts";
import { LOG_STORE_FILE, startTopicServices } from "../topic-services.ts";

/** File name of the SQLite address book inside `--data-dir`. */
export const ADDRESS_BOOK_FILE = "address-book.sqlite";

/** The line printed once the node listens. */
export interface ListeningLine {
  readonly event: "listening";
  readonly nodeId: string;
  readonly addrs: string[];
}

/** A line printed per connection opened or closed. */
export interface ConnectionLine {
  readonly event: "connection-opened" | "connection-closed";
  readonly remote: string;
  readonly transport: string;
  readonly direction: "inbound" | "outbound";
  readonly limited: boolean;
}

/** A line printed per discovery session that ended or failed (and per refused session). */
export interface DiscoveryLine {
  readonly event:
    | "discovery-session-ended"
    | "discovery-session-failed"
    | "discovery-session-refused";
  readonly remote: string;
  readonly role?: "initiated" | "accepted";
  readonly sharedTopics?: number;
  readonly newlyLearned?: number;
  readonly reason?: string;
  readonly durationMs?: number;
}

function discoveryLine(event: DiscoveryEvent): DiscoveryLine | undefined {
  switch (event.type) {
    case "discovery:session-ended":
      return {
        event: "discovery-session-ended",
        remote: event.remoteNodeId,
        role: event.role,
        sharedTopics: event.result.topics.size,
        newlyLearned: event.newlyLearned,
        durationMs: Math.round(event.durationMs),
      };
    case "discovery:session-failed":
      return {
        event: "discovery-session-failed",
        remote: event.remoteNodeId,
        role: event.role,
        reason: event.reason,
        durationMs: Math.round(event.durationMs),
      };
    case "discovery:session-refused":
      return { event: "discovery-session-refused", remote: event.remoteNodeId };
    default:
      return undefined;
  }
}

function port(values: FlagValues, name: string): number {
  const raw = values[name];
  if (raw === undefined) return 0;
  const n = Number(raw);
  if (typeof raw !== "string" || !/^\d+$/.test(raw) || n > 65_535) {
    throw new UsageError(`--${name} must be a port number between 0 and 65535`);
  }
  return n;
}

function positive(values: FlagValues, name: string, fallback: number): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (typeof raw !== "string" || !/^\d+$/.test(raw) || n < 1) {
    throw new UsageError(`--${name} must be a positive integer`);
  }
  return n;
}

function connectionLine(event: EndpointEvent): ConnectionLine | undefined {
  if (event.type !== "endpoint:connection-opened" && event.type !== "endpoint:connection-closed") {
    return undefined;
  }
  return {
    event: event.type === "endpoint:connection-opened" ? "connection-opened" : "connection-closed",
    remote: event.remote,
    transport: event.transport,
    direction: event.direction,
    limited: event.limited,
  };
}

/** What differs between `bootstrap` and `node`. */
export interface NodeRole {
  /** Serve circuit relay v2 for browsers. */
  readonly relay: boolean;
  /** Name used in progress messages. */
  readonly label: string;
  /** Gossip and sync on the topics (`node` only). */
  readonly topicServices?: boolean;
}

/**
 * Runs a node until `io.signal` aborts: endpoint, address book and discovery for both commands;
 * circuit relay for `bootstrap`, gossip and sync on the topics for `node`.
 */
export async function runNode(values: FlagValues, io: CliIo, role: NodeRole): Promise<number> {
  const host = (values.host as string | undefined) ?? "127.0.0.1";
  const wsPort = port(values, "ws-port");
  const tcpPort = port(values, "tcp-port");
  const webrtcPort = port(values, "webrtc-port");
  const maxReservations = positive(
    values,
    "max-reservations",
    DEFAULT_RELAY_SERVER_OPTIONS.maxReservations,
  );
  let networkId: NetworkId = NetworkId.DEFAULT;
  if (values["network-id"] !== undefined) {
    try {
      networkId = NetworkId.fromHex(values["network-id"] as string);
    } catch {
      throw new UsageError("--network-id must be 64 hex characters (32 bytes)");
    }
  }
  const bootstrap = (values.bootstrap as string[] | undefined) ?? [];
  const topicNames = (values.topic as string[] | undefined) ?? [];
  const topics = topicNames.map((name) => Topic.fromName(name));
  const gossipOn = values.gossip === true;
  const syncOn = values.sync === true;
  if ((gossipOn || syncOn) && topics.length === 0) {
    throw new UsageError("--gossip and --sync need at least one --topic");
  }
  const allowPrivateAddresses = values["allow-private-addresses"] === true;

  let identity: Identity;
  const keyFile = values["key-file"] as string | undefined;
  if (keyFile === undefined) {
    identity = await Identity.generate();
    io.stderr("no --key-file: using a throwaway identity (the node id changes on every start)");
  } else {
    const key = await loadOrCreateKeyFile(keyFile);
    identity = key.identity;
    if (key.created) io.stderr(`created key file ${keyFile} (mode 0600)`);
    if (key.tooOpen) io.stderr(`warning: key file ${keyFile} is readable by others; chmod 600 it`);
  }

  const dataDir = values["data-dir"] as string | undefined;
  let store: AddressBookStore;
  if (dataDir === undefined) {
    store = memoryAddressBookStore();
  } else {
    await mkdir(dataDir, { recursive: true });
    store = await sqliteAddressBookStore(join(dataDir, ADDRESS_BOOK_FILE));
  }
  const addressBook = await AddressBook.open(store);
  for (const topic of topics) await addressBook.addTopic(identity.nodeId, topic);

  let endpoint: Endpoint | undefined;
  let discovery: DiscoveryService | undefined;
  let stopTopicServices: (() => Promise<void>) | undefined;
  try {
    endpoint = await createNodeEndpoint({
      identity,
      addressBook,
      networkId,
      host,
      tcpPort,
      wsPort,
      webrtcDirectPort: webrtcPort,
      allowPrivateAddresses,
      bootstrap,
      relay: role.relay ? { maxReservations } : false,
    });
    const subscription = endpoint.events$.subscribe((event) => {
      const line = connectionLine(event);
      if (line !== undefined) io.stdout(JSON.stringify(line));
    });
    // Every node takes part in discovery: a bootstrap is where others start their walks.
    discovery = new DiscoveryService({ endpoint, addressBook });
    discovery.events$.subscribe((event) => {
      const line = discoveryLine(event);
      if (line !== undefined) io.stdout(JSON.stringify(line));
    });
    const listening: ListeningLine = {
      event: "listening",
      nodeId: identity.nodeId,
      addrs: endpoint.listenAddresses(),
    };
    io.stderr(
      role.relay
        ? `${role.label} ${identity.nodeId} on network ${networkId}, relaying for up to ${maxReservations} nodes`
        : `${role.label} ${identity.nodeId} on network ${networkId}, ${topics.length} topic(s)`,
    );
    io.stdout(JSON.stringify(listening));
    await discovery.start();
    if (role.topicServices === true && (gossipOn || syncOn)) {
      stopTopicServices = await startTopicServices({
        endpoint,
        addressBook,
        identity,
        topics: new Map(topicNames.map((name, i) => [name, topics[i] as Topic])),
        gossip: gossipOn,
        sync: syncOn,
        ...(dataDir !== undefined ? { dataDir } : {}),
        ...(io.stdin !== undefined ? { input: io.stdin } : {}),
        io,
      });
    }

    if (!io.signal.aborted) {
      await new Promise<void>((resolve) =>
        io.signal.addEventListener("abort", () => resolve(), { once: true }),
      );
    }
    io.stderr("stopping: closing connections and the address book");
    await stopTopicServices?.();
    stopTopicServices = undefined;
    await discovery.stop();
    await endpoint.stop();
    subscription.unsubscribe();
    return 0;
  } finally {
    await stopTopicServices?.();
    await discovery?.stop();
    await endpoint?.stop();
    await addressBook.close();
  }
}

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
    description: `Directory for the SQLite address book (${ADDRESS_BOOK_FILE}) and, with --sync, the logs (${LOG_STORE_FILE}).`,
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

const MAX_RESERVATIONS_FLAG: Command["flags"][number] = {
  name: "max-reservations",
  type: "string",
  placeholder: "<n>",
  description: "Most relay reservations held at once.",
  defaultText: String(DEFAULT_RELAY_SERVER_OPTIONS.maxReservations),
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
  ].join("\n"),
  flags: [...SHARED_FLAGS, MAX_RESERVATIONS_FLAG],
  run: (values, io) => runNode(values, io, { relay: true, label: "bootstrap node" }),
};

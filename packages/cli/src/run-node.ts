// One p2panda node for as long as the CLI runs: both `bootstrap` and `node` are this with
// different roles. The node itself comes from the Node.js preset of createNode (SQLite in
// --data-dir); this module turns flags into its options and its events into JSON lines.
import { join } from "node:path";
import { Identity, NetworkId, Topic, TopicSecret } from "@p2panda-web/core";
import { DEFAULT_RELAY_SERVER_OPTIONS, type RelayServerOptions } from "@p2panda-web/core/node";
import {
  createNodeJsNode,
  LOG_STORE_FILE,
  WEBRTC_DIRECT_CERTIFICATE_FILE,
} from "@p2panda-web/presets/node";
import { type CliIo, type FlagValues, UsageError } from "./command.ts";
import { loadOrCreateKeyFile } from "./key-file.ts";
import { connectionLine, discoveryLine, type ListeningLine } from "./node-lines.ts";
import { startTopicServices, type TopicOfNode } from "./topic-services.ts";

/** What differs between `bootstrap` and `node`. */
export interface NodeRole {
  /** Serve circuit relay v2 for browsers. */
  readonly relay: boolean;
  /** Name used in progress messages. */
  readonly label: string;
  /** Gossip and sync on the topics (`node` only). */
  readonly topicServices?: boolean;
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

/** Longest relay duration limit: libp2p's relay times it with a timer (at most 2^31 - 1 ms). */
const MAX_RELAY_DURATION_S = Math.floor((2 ** 31 - 1) / 1000);

/**
 * The relay's data settings from `--relay-data-limit` and `--relay-duration-limit`: off (no
 * data relaying, the signalling defaults) unless one of them is given.
 */
export function relayDataSettings(values: FlagValues): RelayServerOptions {
  const data = values["relay-data-limit"];
  const duration = values["relay-duration-limit"];
  if (data === undefined && duration === undefined) return {};
  const dataLimit = positive(
    values,
    "relay-data-limit",
    DEFAULT_RELAY_SERVER_OPTIONS.connectionDataLimitBytes,
  );
  if (!Number.isSafeInteger(dataLimit)) {
    throw new UsageError("--relay-data-limit must be a whole number of bytes below 2^53");
  }
  const seconds = positive(
    values,
    "relay-duration-limit",
    DEFAULT_RELAY_SERVER_OPTIONS.connectionDurationLimitMs / 1000,
  );
  if (seconds > MAX_RELAY_DURATION_S) {
    throw new UsageError(`--relay-duration-limit must be at most ${MAX_RELAY_DURATION_S} seconds`);
  }
  return {
    relayData: true,
    connectionDataLimitBytes: dataLimit,
    connectionDurationLimitMs: seconds * 1000,
  };
}

async function loadIdentity(values: FlagValues, io: CliIo): Promise<Identity> {
  const keyFile = values["key-file"] as string | undefined;
  if (keyFile === undefined) {
    io.stderr("no --key-file: using a throwaway identity (the node id changes on every start)");
    return Identity.generate();
  }
  const key = await loadOrCreateKeyFile(keyFile);
  if (key.created) io.stderr(`created key file ${keyFile} (mode 0600)`);
  if (key.tooOpen) io.stderr(`warning: key file ${keyFile} is readable by others; chmod 600 it`);
  return key.identity;
}

/**
 * The topics of `--topic` (by name; with `--encrypt` the name is a topic secret whose derived id
 * and payload key are used) and `--topic-id` (by their hex id, without a key: a blind peer).
 */
function topicsOf(values: FlagValues): Map<string, TopicOfNode> {
  const encrypt = values.encrypt === true;
  const topics = new Map<string, TopicOfNode>();
  for (const name of (values.topic as string[] | undefined) ?? []) {
    if (!encrypt) {
      topics.set(name, { topic: Topic.fromName(name) });
      continue;
    }
    const secret = TopicSecret.fromName(name);
    topics.set(name, { topic: secret.topic, payloadKey: secret.payloadKey });
  }
  for (const hex of (values["topic-id"] as string[] | undefined) ?? []) {
    let topic: Topic;
    try {
      topic = Topic.fromHex(hex);
    } catch {
      throw new UsageError("--topic-id must be 64 hex characters (32 bytes)");
    }
    topics.set(topic, { topic });
  }
  return topics;
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
  const relayData = relayDataSettings(values);
  let networkId: NetworkId = NetworkId.DEFAULT;
  if (values["network-id"] !== undefined) {
    try {
      networkId = NetworkId.fromHex(values["network-id"] as string);
    } catch {
      throw new UsageError("--network-id must be 64 hex characters (32 bytes)");
    }
  }
  const bootstrap = (values.bootstrap as string[] | undefined) ?? [];
  const topicsByName = topicsOf(values);
  const topics = [...topicsByName.values()].map((t) => t.topic);
  const gossipOn = values.gossip === true;
  const syncOn = values.sync === true;
  if ((gossipOn || syncOn) && topics.length === 0) {
    throw new UsageError("--gossip and --sync need at least one --topic or --topic-id");
  }
  const allowPrivateAddresses = values["allow-private-addresses"] === true;
  const identity = await loadIdentity(values, io);
  const dataDir = values["data-dir"] as string | undefined;
  // Sync needs gossip too: it samples its peers from a derived topic's overlay.
  const topicServices = role.topicServices === true && (gossipOn || syncOn);

  let stopTopicServices: (() => void) | undefined;
  const node = await createNodeJsNode({
    identity,
    dataDir,
    endpoint: {
      networkId,
      host,
      tcpPort,
      wsPort,
      webrtcDirectPort: webrtcPort,
      allowPrivateAddresses,
      // What to change (e.g. --allow-private-addresses for a loopback bootstrap), once.
      warn: (message) => io.stderr(`warning: ${message}`),
      bootstrap,
      relay: role.relay ? { maxReservations, ...relayData } : false,
    },
    // Every node takes part in discovery: a bootstrap is where others start their walks, so it
    // hands out every node it knows; a node hands a stranger only itself and the bootstraps.
    discovery: role.relay ? { nodeSharing: "all" } : {},
    gossip: topicServices ? {} : false,
    sync: topicServices && syncOn ? {} : false,
    start: false,
  });
  try {
    for (const topic of topics) await node.addressBook.addTopic(identity.nodeId, topic);
    if (node.has("sync")) {
      io.stderr(
        dataDir === undefined
          ? "sync: no --data-dir, logs are kept in memory and forgotten on exit"
          : `sync: logs in ${join(dataDir, LOG_STORE_FILE)}`,
      );
    }
    io.stderr(
      dataDir === undefined
        ? "webrtc-direct: no --data-dir, a new certificate (and /certhash/ address) on every start"
        : `webrtc-direct: certificate in ${join(dataDir, WEBRTC_DIRECT_CERTIFICATE_FILE)}`,
    );
    node.endpoint.events$.subscribe((event) => {
      const line = connectionLine(event);
      if (line !== undefined) io.stdout(JSON.stringify(line));
    });
    node.discovery.events$.subscribe((event) => {
      const line = discoveryLine(event);
      if (line !== undefined) io.stdout(JSON.stringify(line));
    });
    const listening: ListeningLine = {
      event: "listening",
      nodeId: identity.nodeId,
      addrs: node.endpoint.listenAddresses(),
    };
    io.stderr(
      role.relay
        ? `${role.label} ${identity.nodeId} on network ${networkId}, relaying for up to ${maxReservations} nodes${
            relayData.relayData === true
              ? `, data too (up to ${relayData.connectionDataLimitBytes} bytes and ${(relayData.connectionDurationLimitMs ?? 0) / 1000} s per relayed connection)`
              : " (signalling only)"
          }`
        : `${role.label} ${identity.nodeId} on network ${networkId}, ${topics.length} topic(s)`,
    );
    io.stdout(JSON.stringify(listening));
    for (const name of (values.topic as string[] | undefined) ?? []) {
      const topicId = topicsByName.get(name)?.topic;
      if (topicId !== undefined) io.stdout(JSON.stringify({ event: "topic", name, topicId }));
    }
    await node.start();
    if (topicServices) {
      stopTopicServices = await startTopicServices({
        node,
        topics: topicsByName,
        gossip: gossipOn,
        sync: syncOn,
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
    return 0;
  } finally {
    stopTopicServices?.();
    // Sync and gossip leave their overlays first, so neighbours hear we are gone; the address
    // book closes last.
    await node.stop();
  }
}

import type { Command } from "../command.ts";
import { runNode } from "../run-node.ts";
import { SHARED_FLAGS } from "./shared-flags.ts";

const TOPIC_FLAG: Command["flags"][number] = {
  name: "topic",
  type: "string",
  multiple: true,
  placeholder: "<name>",
  description:
    "Topic to take part in, derived from a name (anyone who guesses the name can join). Repeatable.",
};

const GOSSIP_FLAG: Command["flags"][number] = {
  name: "gossip",
  type: "boolean",
  description: [
    "Join the topics' gossip overlays: publish each non-empty stdin line (UTF-8, at most 4,096",
    'bytes, else {"event":"gossip-publish-failed",...}) and print each received message as',
    '{"event":"gossip-message","topic":<name>,"from":<node id>,"text":...,"hops":n}, plus',
    "gossip-joined, gossip-neighbour-up/-down, gossip-left and gossip-peer-refused lines. The",
    "node keeps running when stdin ends. Needs --topic.",
  ].join(" "),
};

const SYNC_FLAG: Command["flags"][number] = {
  name: "sync",
  type: "boolean",
  description:
    'Sync the topics\' signed logs (in --data-dir, else in memory): each stdin line becomes a signed chat operation; every operation stored prints {"event":"sync-operation",...}. An always-on peer for browsers that were offline. Needs --topic.',
};

/** `p2panda-web node`: a headless node that takes part in discovery on the given topics. */
export const nodeCommand: Command = {
  name: "node",
  summary: "Run a headless node on topics: discovery, and optionally gossip and sync.",
  description: [
    "Runs a headless p2panda node: it dials the bootstrap nodes, takes part in confidential",
    "topic discovery with the given topics and prints one JSON line when listening, then one",
    "per connection and per discovery session ended, failed or refused. With --gossip it joins",
    "the topics' gossip overlays (stdin lines out, messages in: two such nodes on one topic are",
    "a chat); with --sync it syncs their logs and keeps them (SQLite in --data-dir), serving",
    "them to nodes that were offline. SIGINT/SIGTERM stop it cleanly: it leaves the overlays,",
    "then closes its connections (exit code 0).",
  ].join("\n"),
  flags: [...SHARED_FLAGS, TOPIC_FLAG, GOSSIP_FLAG, SYNC_FLAG],
  run: (values, io) => runNode(values, io, { relay: false, label: "node", topicServices: true }),
};

import type { Command } from "../command.ts";
import { runNode } from "../run-node.ts";
import { SHARED_FLAGS } from "./shared-flags.ts";

const TOPIC_FLAG: Command["flags"][number] = {
  name: "topic",
  type: "string",
  multiple: true,
  placeholder: "<name>",
  description:
    'Topic to take part in, derived from a name (anyone who guesses the name can join); prints {"event":"topic","name":<name>,"topicId":<hex>} with the id the network sees. Repeatable.',
};

const TOPIC_ID_FLAG: Command["flags"][number] = {
  name: "topic-id",
  type: "string",
  multiple: true,
  placeholder: "<hex>",
  description:
    'Topic id (64 hex characters, what a member\'s {"event":"topic",...} line prints) to take part in as a blind peer: it discovers, joins the overlays, relays gossip and, with --sync, stores and serves the logs, holding only ciphertext when the members encrypt. Lines name the topic by its id. Repeatable.',
};

const ENCRYPT_FLAG: Command["flags"][number] = {
  name: "encrypt",
  type: "boolean",
  description:
    "Treat each --topic name as a topic secret: the network sees only the topic id derived from it, and gossip messages and operation bodies are encrypted with the payload key derived from it. Members run with the same name and --encrypt; give a blind peer the printed topicId.",
};

const GOSSIP_FLAG: Command["flags"][number] = {
  name: "gossip",
  type: "boolean",
  description: [
    "Join the topics' gossip overlays: publish each non-empty stdin line (UTF-8, at most 4,096",
    'bytes, else {"event":"gossip-publish-failed",...}) and print each received message as',
    '{"event":"gossip-message","topic":<name>,"from":<node id>,"text":...,"hops":n}, plus',
    "gossip-joined, gossip-neighbour-up/-down, gossip-left and gossip-peer-refused lines. The",
    "node keeps running when stdin ends. Needs --topic or --topic-id.",
  ].join(" "),
};

const SYNC_FLAG: Command["flags"][number] = {
  name: "sync",
  type: "boolean",
  description:
    'Sync the topics\' signed logs (in --data-dir, else in memory): each stdin line becomes a signed chat operation; every operation stored prints {"event":"sync-operation",...}. An always-on peer for browsers that were offline. Needs --topic or --topic-id.',
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
    "them to nodes that were offline; with --topic-id instead of --topic it does so as a blind",
    "peer, holding only ciphertext of topics whose members run with --encrypt. SIGINT/SIGTERM stop it cleanly: it leaves the overlays,",
    "then closes its connections (exit code 0).",
  ].join("\n"),
  flags: [...SHARED_FLAGS, TOPIC_FLAG, TOPIC_ID_FLAG, ENCRYPT_FLAG, GOSSIP_FLAG, SYNC_FLAG],
  run: (values, io) => runNode(values, io, { relay: false, label: "node", topicServices: true }),
};

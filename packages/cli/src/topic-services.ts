// Gossip and sync for the `node` command: joins the topics' overlays, publishes stdin lines and
// prints what arrives as JSON lines. With `--sync --data-dir`, the node is an always-on peer that
// keeps the topics' logs in SQLite and serves them to nodes that were offline.
import {
  decodeCbor,
  encodeCbor,
  type P2pandaNode,
  type PayloadKey,
  type Topic,
} from "@p2panda-web/core";
import {
  type GossipHandle,
  type GossipServiceEvent,
  gossipPayloadContext,
} from "@p2panda-web/core/gossip";
import {
  authorOf,
  type Operation,
  type SyncHandle,
  type SyncServiceEvent,
} from "@p2panda-web/core/sync";
import type { CliIo } from "./command.ts";
import {
  type GossipLine,
  gossipLine,
  publishFailedLine,
  RecentGossip,
  repeatedLine,
} from "./gossip-lines.ts";

/** A topic of the node command: its id, and its payload key when the node is a member that encrypts. */
export interface TopicOfNode {
  readonly topic: Topic;
  readonly payloadKey?: PayloadKey;
}

/** A gossip message the topic's payload key does not open. */
export interface GossipUndecryptableLine {
  event: "gossip-undecryptable";
  topic: string;
  from: string;
}

/** What the node command asked for. */
export interface TopicServicesOptions {
  /** The running node: its gossip, and its sync when `sync` is on. */
  readonly node: Pick<P2pandaNode, "gossip" | "sync">;
  /** Topics by the name given on the command line (a `--topic-id` by its hex id). */
  readonly topics: ReadonlyMap<string, TopicOfNode>;
  /** Ephemeral messages: stdin lines out, received messages printed. */
  readonly gossip: boolean;
  /** Signed logs, in the node's sync stores. */
  readonly sync: boolean;
  /** Lines to publish (stdin). */
  readonly input?: AsyncIterable<string>;
  readonly io: CliIo;
}

/** Sync lines. `text` is set when the payload is a chat message (CBOR `{text}`), as the demo writes. */
export type SyncLine =
  | {
      event: "sync-operation";
      topic: string;
      author: string;
      seq: number;
      bytes: number;
      /** `local`: written by this node from stdin. */
      phase: "sync" | "live" | "local";
      text?: string;
    }
  | { event: "sync-history"; topic: string; operations: number }
  | {
      event: "sync-session-started" | "sync-finished" | "sync-live-started";
      remote: string;
      topic?: string;
    }
  | { event: "sync-failed"; remote: string; topic?: string; reason: string };

/** Largest line read from stdin; longer ones are reported and skipped. */
const MAX_LINE = 1 << 20;

function chatText(op: Operation): string | undefined {
  // With a payload key the plaintext is `payload`; a blind peer's bodies are ciphertext and
  // decode to no text.
  const bytes = op.payload ?? op.body;
  if (bytes === undefined) return undefined;
  try {
    const value = decodeCbor(bytes) as { text?: unknown } | null;
    return typeof value?.text === "string" ? value.text : undefined;
  } catch {
    return undefined;
  }
}

function operationLine(name: string, op: Operation, phase: "sync" | "live" | "local"): SyncLine {
  const text = chatText(op);
  return {
    event: "sync-operation",
    topic: name,
    author: authorOf(op.header),
    seq: op.header.seqNum,
    bytes: op.headerBytes.length + (op.body?.length ?? 0),
    phase,
    ...(text !== undefined ? { text } : {}),
  };
}

/**
 * A gossip event as this node prints it: a received message of a topic with a payload key
 * decrypted, or `undefined` when the key does not open it. The service's stream carries what
 * arrived on the wire; the handles decrypt only for their own subscribers.
 */
function openGossip(
  event: GossipServiceEvent,
  keys: ReadonlyMap<Topic, PayloadKey>,
): GossipServiceEvent | undefined {
  if (event.type !== "gossip:received") return event;
  const key = keys.get(event.topic);
  if (key === undefined) return event;
  try {
    return { ...event, content: key.open(event.content, gossipPayloadContext(event.topic)) };
  } catch {
    return undefined;
  }
}

/**
 * Joins the topics with the node's gossip and/or sync, prints their lines and publishes stdin
 * lines; resolves once joined. Returns the function that stops reading stdin (the node's stop
 * leaves the overlays).
 */
export async function startTopicServices(options: TopicServicesOptions): Promise<() => void> {
  const { io, node } = options;
  const print = (line: GossipLine | SyncLine | GossipUndecryptableLine) =>
    io.stdout(JSON.stringify(line));
  const names = new Map<Topic, string>();
  const keys = new Map<Topic, PayloadKey>();
  for (const [name, { topic, payloadKey }] of options.topics) {
    names.set(topic, name);
    if (payloadKey !== undefined) keys.set(topic, payloadKey);
  }

  const gossip = node.gossip;
  const gossipHandles = new Map<string, GossipHandle>();
  const syncHandles = new Map<string, SyncHandle>();

  // One subscription for every gossip line: the service's stream (unlike a handle's) still
  // carries `gossip:left` when a handle closes. Sync's internal overlays have no name here.
  const gossipNames = options.gossip ? names : new Map<Topic, string>();
  const recent = new RecentGossip();
  gossip.events$.subscribe((event) => {
    if (event.type === "gossip:received" && gossipNames.has(event.topic)) {
      recent.remember(event.topic, event.id);
    }
    const opened = openGossip(event, keys);
    if (opened === undefined) {
      const name = event.type === "gossip:received" ? gossipNames.get(event.topic) : undefined;
      if (name !== undefined && event.type === "gossip:received") {
        print({ event: "gossip-undecryptable", topic: name, from: event.deliveredBy });
      }
      return;
    }
    const line = gossipLine(opened, (topic) => gossipNames.get(topic));
    if (line !== undefined) print(line);
  });

  if (options.gossip) {
    for (const [name, { topic, payloadKey }] of options.topics) {
      gossipHandles.set(
        name,
        await gossip.stream(topic, payloadKey !== undefined ? { payloadKey } : {}),
      );
    }
  }

  if (options.sync) {
    const sync = node.sync;
    sync.events$.subscribe((event: SyncServiceEvent) => {
      const name = event.topic === undefined ? undefined : names.get(event.topic);
      const topic = name !== undefined ? { topic: name } : {};
      switch (event.type) {
        case "sync:operation-received":
          if (name !== undefined) print(operationLine(name, event.operation, event.phase));
          break;
        case "sync:session-started":
          print({ event: "sync-session-started", remote: event.remote, ...topic });
          break;
        case "sync:finished":
          print({ event: "sync-finished", remote: event.remote, ...topic });
          break;
        case "sync:live-started":
          print({ event: "sync-live-started", remote: event.remote, ...topic });
          break;
        case "sync:failed":
          print({
            event: "sync-failed",
            remote: event.remote,
            ...topic,
            reason: event.error.message,
          });
          break;
      }
    });
    for (const [name, { topic, payloadKey }] of options.topics) {
      const handle = await sync.stream(topic, payloadKey !== undefined ? { payloadKey } : {});
      syncHandles.set(name, handle);
      print({ event: "sync-history", topic: name, operations: (await handle.operations()).length });
    }
  }

  let reading = true;
  const readInput = async (): Promise<void> => {
    if (options.input === undefined) return;
    for await (const raw of options.input) {
      if (!reading) break;
      const line = raw.slice(0, MAX_LINE);
      if (line.trim() === "") continue;
      for (const [name, handle] of gossipHandles) {
        let id: Uint8Array;
        try {
          id = await handle.publish(new TextEncoder().encode(line));
        } catch (error) {
          print(publishFailedLine(name, error));
          continue;
        }
        if (!recent.remember(handle.topic, id)) {
          print(repeatedLine(name));
        } else if (handle.neighbours().length === 0) {
          io.stderr(`gossip: no neighbour on "${name}" yet; that line probably reached nobody`);
        }
      }
      for (const [name, handle] of syncHandles) {
        const op = await handle.publish(encodeCbor({ text: line }));
        print(operationLine(name, op, "local"));
      }
    }
  };
  // Runs until stdin ends; the node goes on after that (it may be a daemon with stdin closed).
  void readInput().catch((error: unknown) => io.stderr(`stdin: ${String(error)}`));

  return () => {
    reading = false;
  };
}

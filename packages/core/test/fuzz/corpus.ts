// The fuzzer's seed corpus: valid encodings of every message a remote can send us, built with
// the real encoders (and real signatures), so mutations start from what a decoder must accept.
import { concatBytes } from "../../src/bytes.ts";
import { encodeCbor } from "../../src/codec/cbor.ts";
import { encodeFrame } from "../../src/codec/framing.ts";
import type { DiscoveryMessage } from "../../src/discovery/messages.ts";
import type { GossipMessage, TopicMessage } from "../../src/gossip/messages.ts";
import { hash } from "../../src/hash.ts";
import { HybridTimestamp } from "../../src/hybrid-timestamp.ts";
import { Identity } from "../../src/identity/identity.ts";
import { NodeId } from "../../src/ids/node-id.ts";
import { Topic } from "../../src/ids/topic.ts";
import {
  createNodeInfo,
  encodeNodeInfo,
  withConnectionReport,
} from "../../src/records/node-info.ts";
import {
  type AuthenticatedTransportInfo,
  signTransportInfo,
  transportInfoToWire,
} from "../../src/records/transport-info.ts";
import { encodeSyncMessage, type TopicSyncMessage } from "../../src/sync/messages.ts";
import { createOperation, type Operation } from "../../src/sync/operation.ts";

/** Valid encodings per fuzz target, and who signed the signed ones. */
export interface Corpus {
  /** Signer of every transport info and operation in the corpus. */
  readonly author: Identity;
  readonly frames: Uint8Array[];
  readonly cbor: Uint8Array[];
  readonly discovery: Uint8Array[];
  readonly gossip: Uint8Array[];
  readonly sync: Uint8Array[];
  readonly headers: Uint8Array[];
  readonly transportInfos: Uint8Array[];
  readonly nodeInfos: Uint8Array[];
}

const filled = (length: number, value: number): Uint8Array => new Uint8Array(length).fill(value);

async function operations(author: Identity): Promise<Operation[]> {
  const first = await createOperation(author, { seqNum: 0, timestamp: 1_700_000_000_000_000 });
  const withPayload = await createOperation(author, {
    seqNum: 1,
    backlink: first.hash,
    timestamp: 1_700_000_000_000_001,
    payload: new TextEncoder().encode("hello"),
  });
  return [
    first,
    withPayload,
    await createOperation(author, {
      seqNum: 0,
      timestamp: 1,
      payload: filled(100, 7),
      logId: "chat",
    }),
    await createOperation(author, {
      seqNum: 2,
      backlink: withPayload.hash,
      timestamp: 2 ** 53 - 1,
      logId: [1, "doc", filled(4, 1)],
      extensions: { app: { nested: [1, 2, { deep: true }] }, tag: filled(8, 3) },
    }),
    await createOperation(author, {
      seqNum: 7,
      backlink: filled(32, 9),
      timestamp: 0,
      extensions: [null, -1, 0.5, "x", 2n ** 64n - 1n],
    }),
  ];
}

async function transportInfos(author: Identity): Promise<AuthenticatedTransportInfo[]> {
  const relay = await Identity.fromSecretKey(filled(32, 2));
  const relayPeer = NodeId.toPeerId(relay.nodeId).toString();
  return [
    await signTransportInfo(author, new HybridTimestamp(1_700_000_000_000, 0), [
      "/ip4/127.0.0.1/tcp/4001/ws",
    ]),
    await signTransportInfo(author, new HybridTimestamp(1_700_000_000_001, 3), [
      "/ip4/127.0.0.1/tcp/4002",
      `/dns4/relay.example/tcp/443/wss/p2p/${relayPeer}/p2p-circuit/webrtc`,
      "/memory/fuzz",
    ]),
    await signTransportInfo(author, new HybridTimestamp(0, 0), []),
  ];
}

/** Builds the corpus; deterministic (fixed keys and timestamps). */
export async function buildCorpus(): Promise<Corpus> {
  const author = await Identity.fromSecretKey(filled(32, 1));
  const other = await Identity.fromSecretKey(filled(32, 3));
  const topic = Topic.fromName("fuzz");
  const topicBytes = Topic.toBytes(topic);
  const ops = await operations(author);
  const infos = await transportInfos(author);
  const authorKey = NodeId.toBytes(author.nodeId);

  const discovery: DiscoveryMessage[] = [
    { type: "alice-salt-half", saltHalf: filled(32, 4) },
    { type: "bob-salt-half-and-hashes", saltHalf: filled(32, 5), topicHashes: [] },
    {
      type: "bob-salt-half-and-hashes",
      saltHalf: filled(32, 5),
      topicHashes: [filled(32, 1), filled(32, 2), filled(32, 3)],
    },
    { type: "alice-hashes", topicHashes: [filled(32, 6)] },
    { type: "nodes", transportInfos: [] },
    {
      type: "nodes",
      transportInfos: infos.map((info, i) => [
        i === 0 ? authorKey : filled(32, 10 + i),
        transportInfoToWire(info),
      ]),
    },
  ];

  const content = new TextEncoder().encode("typing…");
  const bodies: TopicMessage[] = [
    { type: "join" },
    { type: "forward-join", node: authorKey, ttl: 6 },
    { type: "shuffle", origin: authorKey, nodes: [filled(32, 1), filled(32, 2)], ttl: 3 },
    { type: "shuffle-reply", nodes: [] },
    { type: "neighbor", priority: "high" },
    { type: "neighbor", priority: "low" },
    { type: "disconnect", alive: true },
    { type: "gossip", id: hash(content), content, round: 0 },
    { type: "gossip", id: hash(new Uint8Array()), content: new Uint8Array(), round: 65_535 },
    { type: "ihave", entries: [[hash(content), 1]] },
    { type: "graft", id: null, round: 0 },
    { type: "graft", id: hash(content), round: 2 },
    { type: "prune" },
  ];
  const gossip: GossipMessage[] = bodies.map((body) => ({ topic: topicBytes, body }));

  const sync: TopicSyncMessage[] = [
    { type: "topic", topic },
    { type: "done" },
    { type: "close" },
    { type: "have", heights: [] },
    {
      type: "have",
      heights: [
        { author: author.nodeId, logId: 0, seqNum: 3 },
        { author: author.nodeId, logId: "chat", seqNum: 0 },
        { author: other.nodeId, logId: [1, "doc", filled(4, 1)], seqNum: 2 ** 53 - 1 },
      ],
    },
    { type: "presync", totalOperations: 0, totalBytes: 0 },
    { type: "presync", totalOperations: 5, totalBytes: 1_234_567 },
    ...ops.map((op) => ({
      type: "op" as const,
      header: op.headerBytes,
      ...(op.body !== undefined ? { body: op.body } : {}),
    })),
    ...ops.slice(0, 3).map((op) => ({
      type: "live" as const,
      header: op.headerBytes,
      ...(op.body !== undefined ? { body: op.body } : {}),
    })),
  ];

  const trustedNode = createNodeInfo(other.nodeId, {
    bootstrap: true,
    transports: { kind: "trusted", addresses: ["/ip4/127.0.0.1/tcp/1/ws"] },
  });
  const nodeInfos = [
    createNodeInfo(author.nodeId),
    createNodeInfo(author.nodeId, { transports: infos[1] as AuthenticatedTransportInfo }),
    withConnectionReport(withConnectionReport(trustedNode, true, 1_000), false, 2_000),
  ];

  const discoveryBytes = discovery.map((m) => encodeCbor(m));
  const gossipBytes = gossip.map((m) => encodeCbor(m));
  const syncBytes = sync.map((m) => encodeCbor(encodeSyncMessage(m)));
  const messages = [...discoveryBytes, ...gossipBytes, ...syncBytes];
  return {
    author,
    frames: [
      encodeFrame(new Uint8Array()),
      ...messages.slice(0, 8).map((m) => encodeFrame(m)),
      concatBytes(...messages.slice(8, 14).map((m) => encodeFrame(m))),
      encodeFrame(filled(300, 0xa5)),
    ],
    cbor: [
      ...messages,
      encodeCbor({ a: [1, -1, 0.5, "s", filled(3, 1), null, true, { b: 2n ** 64n - 1n }] }),
    ],
    discovery: discoveryBytes,
    gossip: gossipBytes,
    sync: syncBytes,
    headers: ops.map((op) => op.headerBytes),
    transportInfos: infos.map((info) => encodeCbor(transportInfoToWire(info))),
    nodeInfos: nodeInfos.map(encodeNodeInfo),
  };
}

// Every decoder a remote's bytes reach, as a fuzz target: from bytes (or, for message decoders,
// from an already decoded value) to the value the protocol then works with, including the checks
// that run on it before it is trusted (operation and transport-info validation).
import { concatBytes } from "../../src/bytes.ts";
import { decodeCbor, encodeCbor } from "../../src/codec/cbor.ts";
import { encodeFrame, FrameDecoder } from "../../src/codec/framing.ts";
import { type DiscoveryMessage, decodeDiscoveryMessage } from "../../src/discovery/messages.ts";
import { decodeGossipMessage } from "../../src/gossip/messages.ts";
import type { NodeId } from "../../src/ids/node-id.ts";
import { decodeNodeInfo, encodeNodeInfo, type NodeInfo } from "../../src/records/node-info.ts";
import {
  type AuthenticatedTransportInfo,
  transportInfoFromWire,
  transportInfoToWire,
  verifyTransportInfo,
} from "../../src/records/transport-info.ts";
import { encodeHeader } from "../../src/sync/header.ts";
import { DEFAULT_MAX_LOGS_IN_HAVE } from "../../src/sync/log-sync.ts";
import {
  decodeSyncMessage,
  encodeSyncMessage,
  type TopicSyncMessage,
} from "../../src/sync/messages.ts";
import { decodeOperation, type Operation } from "../../src/sync/operation.ts";
import { checkOperation, checkSignature } from "../../src/sync/validation.ts";
import type { Corpus } from "./corpus.ts";

/**
 * One decoder under fuzzing. `decode` returns what the protocol goes on with, or throws; for an
 * accepted input, `reencode` must give bytes that `decode` accepts again (so nothing a decoder
 * lets through makes later code choke).
 */
export interface FuzzTarget {
  readonly name: string;
  /** Valid encodings to mutate. */
  readonly corpus: readonly Uint8Array[];
  decode(bytes: Uint8Array): unknown;
  /** The value decoder alone (for values a CBOR layer built); absent for byte-level decoders. */
  decodeValue?(value: unknown): unknown;
  reencode(accepted: unknown): Uint8Array;
}

/** Largest frame of the frame target: the gossip limit, small enough that mutations cross it. */
const FRAME_LIMIT = 64 * 1024;

/**
 * Chunk sizes the frame target feeds its decoder, cycled from a start picked by the input's
 * length: a frame's prefix and body then arrive split at many places, deterministically (the
 * input's bytes alone reproduce a run).
 */
const CHUNK_SIZES = [1, 3, 64, 2, 7, 1024, 5, 4096];

function framesOf(bytes: Uint8Array): Uint8Array[] {
  const decoder = new FrameDecoder(FRAME_LIMIT);
  const frames: Uint8Array[] = [];
  let at = 0;
  let k = bytes.length % CHUNK_SIZES.length;
  while (at < bytes.length) {
    const size = CHUNK_SIZES[k++ % CHUNK_SIZES.length] as number;
    frames.push(...decoder.push(bytes.subarray(at, at + size)));
    at += size;
  }
  decoder.finish();
  return frames;
}

const syncLimits = { maxLogsInHave: DEFAULT_MAX_LOGS_IN_HAVE };

/** A sync message as the session handles it: operations decoded and validated too. */
async function syncMessage(value: unknown): Promise<TopicSyncMessage> {
  const message = decodeSyncMessage(value, syncLimits);
  if (message.type === "op" || message.type === "live") {
    await operation(message.header, message.body);
  }
  return message;
}

/**
 * A discovery message as the service ingests it: the message decoder leaves transport infos
 * opaque, and the service reads each one (`transportInfoFromWire`) before anything else.
 */
function discoveryMessage(value: unknown): DiscoveryMessage {
  const message = decodeDiscoveryMessage(value);
  if (message.type !== "nodes") return message;
  return {
    type: "nodes",
    transportInfos: message.transportInfos.map(([id, info]) => [id, transportInfoFromWire(info)]),
  };
}

function discoveryToWire(message: DiscoveryMessage): DiscoveryMessage {
  if (message.type !== "nodes") return message;
  return {
    type: "nodes",
    transportInfos: message.transportInfos.map(([id, info]) => [
      id,
      transportInfoToWire(info as AuthenticatedTransportInfo),
    ]),
  };
}

async function operation(header: Uint8Array, body?: Uint8Array): Promise<Operation> {
  const op = decodeOperation(header, body);
  checkOperation(op);
  await checkSignature(op);
  return op;
}

/** The targets, over `corpus`. Transport infos are verified as if `corpus.author` sent them. */
export function fuzzTargets(corpus: Corpus): FuzzTarget[] {
  const author: NodeId = corpus.author.nodeId;
  const transportInfo = async (value: unknown): Promise<AuthenticatedTransportInfo> => {
    const info = transportInfoFromWire(value);
    await verifyTransportInfo(author, info);
    return info;
  };
  return [
    {
      name: "frames (codec/framing.ts)",
      corpus: corpus.frames,
      decode: framesOf,
      reencode: (frames) =>
        concatBytes(...(frames as Uint8Array[]).map((f) => encodeFrame(f, FRAME_LIMIT))),
    },
    {
      name: "CBOR (codec/cbor.ts)",
      corpus: corpus.cbor,
      decode: (bytes) => decodeCbor(bytes),
      reencode: (value) => encodeCbor(value),
    },
    {
      name: "discovery messages",
      corpus: corpus.discovery,
      decode: (bytes) => discoveryMessage(decodeCbor(bytes)),
      decodeValue: discoveryMessage,
      reencode: (message) => encodeCbor(discoveryToWire(message as DiscoveryMessage)),
    },
    {
      name: "gossip messages",
      corpus: corpus.gossip,
      decode: (bytes) => decodeGossipMessage(decodeCbor(bytes)),
      decodeValue: (value) => decodeGossipMessage(value),
      reencode: (message) => encodeCbor(message),
    },
    {
      name: "sync messages (handshake, sync, live)",
      corpus: corpus.sync,
      decode: (bytes) => syncMessage(decodeCbor(bytes)),
      decodeValue: syncMessage,
      reencode: (message) => encodeCbor(encodeSyncMessage(message as TopicSyncMessage)),
    },
    {
      name: "operation headers (decode + validate)",
      corpus: corpus.headers,
      decode: (bytes) => operation(bytes),
      reencode: (op) => encodeHeader((op as Operation).header),
    },
    {
      name: "transport infos (decode + verify)",
      corpus: corpus.transportInfos,
      decode: (bytes) => transportInfo(decodeCbor(bytes)),
      decodeValue: transportInfo,
      reencode: (info) => encodeCbor(transportInfoToWire(info as AuthenticatedTransportInfo)),
    },
    {
      name: "node infos (records/node-info.ts)",
      corpus: corpus.nodeInfos,
      decode: decodeNodeInfo,
      reencode: (info) => encodeNodeInfo(info as NodeInfo),
    },
  ];
}

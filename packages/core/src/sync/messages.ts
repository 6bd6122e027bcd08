import { DecodeError } from "../codec/cbor.ts";
import { isBytes } from "../codec/message-shape.ts";
import { NodeId } from "../ids/node-id.ts";
import { Topic } from "../ids/topic.ts";
import { TooManyLogsError } from "./errors.ts";
import { VERIFYING_KEY_LENGTH } from "./header.ts";
import { type LogHeight, type LogHeights, logKey } from "./log-heights.ts";
import { isLogId } from "./log-id.ts";

/** Topic handshake (spec §6.3): initiator → `topic`; acceptor → `done`; initiator → `done`. */
export type HandshakeMessage =
  | { readonly type: "topic"; readonly topic: Topic }
  | { readonly type: "done" };

/** Log sync messages: `have`, then `presync` or `done`, then operations and `done`. */
export type LogSyncMessage =
  | { readonly type: "have"; readonly heights: LogHeights }
  | { readonly type: "presync"; readonly totalOperations: number; readonly totalBytes: number }
  | { readonly type: "op"; readonly header: Uint8Array; readonly body?: Uint8Array }
  | { readonly type: "done" };

/** Live mode messages: new operations, then `close`. */
export type LiveMessage =
  | { readonly type: "live"; readonly header: Uint8Array; readonly body?: Uint8Array }
  | { readonly type: "close" };

/** Every message of a topic log sync stream. `done` means handshake or sync done by state. */
export type TopicSyncMessage = HandshakeMessage | LogSyncMessage | LiveMessage;

/**
 * Encodes a message for a `MessageChannel` (which CBOR-encodes and frames it). Compact arrays
 * tagged by a string: `["topic", bytes]`, `["done"]`, `["have", [[author, [[logId, seqNum]…]]…]]`,
 * `["presync", ops, bytes]`, `["op", header, body | null]`, `["live", header, body | null]`,
 * `["close"]`.
 */
export function encodeSyncMessage(message: TopicSyncMessage): unknown {
  switch (message.type) {
    case "topic":
      return ["topic", Topic.toBytes(message.topic)];
    case "done":
    case "close":
      return [message.type];
    case "have": {
      const byAuthor = new Map<NodeId, [unknown, number][]>();
      for (const h of message.heights) {
        let logs = byAuthor.get(h.author);
        if (logs === undefined) {
          logs = [];
          byAuthor.set(h.author, logs);
        }
        logs.push([h.logId, h.seqNum]);
      }
      return ["have", [...byAuthor].map(([author, logs]) => [NodeId.toBytes(author), logs])];
    }
    case "presync":
      return ["presync", message.totalOperations, message.totalBytes];
    case "op":
    case "live":
      return [message.type, message.header, message.body ?? null];
  }
}

/** Limits checked while decoding, before anything is built from the message. */
export interface MessageLimits {
  /** Most logs a `have` may list. */
  readonly maxLogsInHave: number;
}

function uint(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new DecodeError(`${what} must be an unsigned integer below 2^53`);
  }
  return value;
}

function bytes(value: unknown, what: string): Uint8Array {
  if (!isBytes(value)) throw new DecodeError(`${what} must be bytes`);
  return value;
}

function arity(fields: unknown[], n: number, type: string): void {
  if (fields.length !== n) throw new DecodeError(`"${type}" message needs ${n - 1} field(s)`);
}

function decodeHave(value: unknown, limits: MessageLimits): LogHeight[] {
  if (!Array.isArray(value)) throw new DecodeError("have: expected an array of authors");
  // Count first so an oversized announcement is refused before we build anything from it.
  let count = 0;
  for (const entry of value as unknown[]) {
    if (!Array.isArray(entry) || entry.length !== 2 || !Array.isArray(entry[1])) {
      throw new DecodeError("have: each author entry is [author, logs]");
    }
    count += (entry[1] as unknown[]).length;
    if (count > limits.maxLogsInHave) throw new TooManyLogsError(count, limits.maxLogsInHave);
  }
  const heights: LogHeight[] = [];
  const seen = new Set<string>();
  for (const [authorBytes, logs] of value as [unknown, unknown[]][]) {
    const key = bytes(authorBytes, "have: author");
    if (key.length !== VERIFYING_KEY_LENGTH) throw new DecodeError("have: author must be 32 bytes");
    const author = NodeId.fromBytes(key);
    for (const log of logs) {
      if (!Array.isArray(log) || log.length !== 2) {
        throw new DecodeError("have: each log is [logId, seqNum]");
      }
      const [logId, seqNum] = log as [unknown, unknown];
      if (!isLogId(logId)) throw new DecodeError("have: invalid log id");
      const id = logKey(author, logId);
      if (seen.has(id)) throw new DecodeError("have: log listed twice");
      seen.add(id);
      heights.push({ author, logId, seqNum: uint(seqNum, "have: seqNum") });
    }
  }
  return heights;
}

/**
 * Decodes a received value into a message, strictly (exact arity and field types). Throws
 * `DecodeError` on anything malformed, {@link TooManyLogsError} on an oversized `have`.
 */
export function decodeSyncMessage(value: unknown, limits: MessageLimits): TopicSyncMessage {
  if (!Array.isArray(value) || value.length === 0 || typeof value[0] !== "string") {
    throw new DecodeError("sync message must be a tagged array");
  }
  const fields = value as unknown[];
  const type = fields[0] as string;
  switch (type) {
    case "topic": {
      arity(fields, 2, type);
      const topic = bytes(fields[1], "topic");
      if (topic.length !== 32) throw new DecodeError("topic must be 32 bytes");
      return { type, topic: Topic.fromBytes(topic) };
    }
    case "done":
    case "close":
      arity(fields, 1, type);
      return { type };
    case "have":
      arity(fields, 2, type);
      return { type, heights: decodeHave(fields[1], limits) };
    case "presync":
      arity(fields, 3, type);
      return {
        type,
        totalOperations: uint(fields[1], "presync: totalOperations"),
        totalBytes: uint(fields[2], "presync: totalBytes"),
      };
    case "op":
    case "live": {
      arity(fields, 3, type);
      const header = bytes(fields[1], `${type}: header`);
      if (fields[2] === null) return { type, header };
      return { type, header, body: bytes(fields[2], `${type}: body`) };
    }
    default:
      throw new DecodeError(`unknown sync message "${type.slice(0, 32)}"`);
  }
}

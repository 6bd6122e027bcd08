import { InvalidInputError } from "../errors.ts";
import { hash } from "../hash.ts";
import { NodeId } from "../ids/node-id.ts";
import {
  decodeHeader,
  type Extensions,
  encodeHeader,
  encodeUnsignedHeader,
  type Header,
  OPERATION_VERSION,
} from "./header.ts";
import { assertLogId, DEFAULT_LOG_ID, isLogId, type LogId } from "./log-id.ts";

/** The payload of an operation: raw bytes, opaque to p2panda. */
export type Body = Uint8Array;

/**
 * A signed header, its optional body and its id. `headerBytes` are the exact encoded header the
 * `hash` was computed over and that goes on the wire.
 */
export interface Operation {
  /** Operation id: BLAKE3 of `headerBytes`. */
  readonly hash: Uint8Array;
  readonly header: Header;
  readonly headerBytes: Uint8Array;
  /** Absent when the author had no payload or the payload was pruned. */
  readonly body?: Body;
  /**
   * The decrypted body: set only on operations handed out by a sync stream opened with a
   * `payloadKey` (its events, `operations()` and `publish`), when the key opens the body. It is
   * never stored or sent; the body (ciphertext) is what the signature covers.
   */
  readonly payload?: Uint8Array;
}

/** What signs operations: an `Identity` is one. */
export interface OperationSigner {
  readonly publicKey: Uint8Array;
  /** The Ed25519 signature of `message` by the key of `publicKey`. */
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/** Fields of a new operation (see {@link createOperation}). */
export interface CreateOperationInit {
  /** The body; none when absent or empty. */
  payload?: Uint8Array;
  /** The log this operation belongs to, stored as `extensions.log_id`. Default {@link DEFAULT_LOG_ID}. */
  logId?: LogId;
  /** Position in the log: 0 for the first operation. */
  seqNum: number;
  /** Hash of the previous operation of the log; required iff `seqNum > 0`. */
  backlink?: Uint8Array;
  /** Microseconds since the Unix epoch. */
  timestamp: number;
  /**
   * Application data. With a `logId` it must be a plain object (the log id is added as its
   * `log_id` field); without one any CBOR value.
   */
  extensions?: Extensions;
}

/** Operation id of an encoded header: BLAKE3 of the full encoding (signature included). */
export function operationHash(headerBytes: Uint8Array): Uint8Array {
  return hash(headerBytes);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Uint8Array) &&
    Object.getPrototypeOf(value) === Object.prototype
  );
}

/**
 * Builds and signs an operation with `signer` (an `Identity`). The log id, if any, travels
 * signed in the header's extensions as `{ log_id }`, so no peer can move an operation to
 * another log. Throws `InvalidInputError` on malformed fields (e.g. a backlink on `seqNum` 0).
 */
export async function createOperation(
  signer: OperationSigner,
  init: CreateOperationInit,
): Promise<Operation> {
  if (init.seqNum > 0 !== (init.backlink !== undefined)) {
    throw new InvalidInputError("a backlink is required iff seqNum > 0");
  }
  let extensions: Extensions = init.extensions ?? null;
  if (init.logId !== undefined) {
    assertLogId(init.logId);
    if (init.extensions !== undefined && !isPlainObject(init.extensions)) {
      throw new InvalidInputError("extensions must be a plain object when a logId is given");
    }
    extensions = {
      ...(init.extensions as Record<string, unknown> | undefined),
      log_id: init.logId,
    };
  }
  const body = init.payload !== undefined && init.payload.length > 0 ? init.payload : undefined;
  const unsigned: Header = {
    version: OPERATION_VERSION,
    verifyingKey: signer.publicKey,
    payloadSize: body?.length ?? 0,
    timestamp: init.timestamp,
    seqNum: init.seqNum,
    extensions,
    ...(body !== undefined ? { payloadHash: hash(body) } : {}),
    ...(init.backlink !== undefined ? { backlink: init.backlink } : {}),
  };
  const signature = await signer.sign(encodeUnsignedHeader(unsigned));
  const header: Header = { ...unsigned, signature };
  const headerBytes = encodeHeader(header);
  return {
    hash: operationHash(headerBytes),
    header,
    headerBytes,
    ...(body !== undefined ? { body } : {}),
  };
}

/**
 * An operation from its wire form: decodes the header strictly (throws `DecodeError`) and
 * computes the id. Validation is separate (`validateOperation`).
 */
export function decodeOperation(headerBytes: Uint8Array, body?: Uint8Array): Operation {
  const header = decodeHeader(headerBytes);
  return {
    hash: operationHash(headerBytes),
    header,
    headerBytes,
    ...(body !== undefined ? { body } : {}),
  };
}

/**
 * The log an operation belongs to: `extensions.log_id` when the extensions are a map holding a
 * valid log id, otherwise {@link DEFAULT_LOG_ID}.
 */
export function logIdOf(header: Header): LogId {
  const ext = header.extensions;
  if (isPlainObject(ext) && "log_id" in ext && isLogId(ext.log_id)) return ext.log_id;
  return DEFAULT_LOG_ID;
}

/** The author of an operation as a {@link NodeId}. */
export function authorOf(header: Header): NodeId {
  return NodeId.fromBytes(header.verifyingKey);
}

/** Bytes an operation takes on the wire and in metrics: header plus body. */
export function operationSize(operation: Operation): number {
  return operation.headerBytes.length + (operation.body?.length ?? 0);
}

import { bytesEqual, toHex } from "../bytes.ts";
import { P2pandaError } from "../errors.ts";
import { hash } from "../hash.ts";
import { verifySignature } from "../identity/ed25519.ts";
import { OPERATION_VERSION, unsignedBytesOf } from "./header.ts";
import { logIdKey } from "./log-id.ts";
import { logIdOf, type Operation } from "./operation.ts";
import type { SignatureCheck } from "./signature-batch.ts";

/**
 * Checks Ed25519 signatures; `nobleEd25519`, `webCryptoEd25519()` and a `VerifierPool`
 * are such verifiers.
 */
export interface SignatureVerifier {
  /** Whether `signature` is a valid (strict) Ed25519 signature of `message` by `publicKey`. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean>;
  /**
   * Optional: checks a batch at once (a pool spreads it over workers); one result per check,
   * in order. Without it, a batch is verified through {@link SignatureVerifier.verify}, a slice
   * at a time.
   */
  verifyMany?(checks: readonly SignatureCheck[]): Promise<readonly boolean[]>;
}

/** The default verifier: WebCrypto when the runtime has it, else noble (strict on both). */
export const defaultVerifier: SignatureVerifier = { verify: verifySignature };

/** Base class of every reason an operation is invalid. */
export class InvalidOperationError extends P2pandaError {
  static override readonly name: string = "InvalidOperationError";
}

/** The signature is missing or does not verify against the author's key. */
export class SignatureMismatchError extends InvalidOperationError {
  static override readonly name: string = "SignatureMismatchError";
  constructor() {
    super("SIGNATURE_MISMATCH", "operation signature does not verify against its author");
  }
}

/** The header's version is not {@link OPERATION_VERSION}. */
export class UnsupportedVersionError extends InvalidOperationError {
  static override readonly name: string = "UnsupportedVersionError";
  readonly version: number;
  constructor(version: number) {
    super(
      "UNSUPPORTED_VERSION",
      `operation version ${version} is not supported (need ${OPERATION_VERSION})`,
    );
    this.version = version;
  }
}

/** Payload size and hash disagree with each other or with the body. */
export class PayloadMismatchError extends InvalidOperationError {
  static override readonly name: string = "PayloadMismatchError";
  constructor(message: string) {
    super("PAYLOAD_MISMATCH", message);
  }
}

/** `seqNum > 0` without a backlink. */
export class BacklinkMissingError extends InvalidOperationError {
  static override readonly name: string = "BacklinkMissingError";
  constructor() {
    super("BACKLINK_MISSING", "an operation with seqNum > 0 needs a backlink");
  }
}

/** A backlink on the first operation of a log (`seqNum` 0). */
export class UnexpectedBacklinkError extends InvalidOperationError {
  static override readonly name: string = "UnexpectedBacklinkError";
  constructor() {
    super("UNEXPECTED_BACKLINK", "the first operation of a log (seqNum 0) has no backlink");
  }
}

/** The previous operation is by another author or in another log. */
export class AuthorMismatchError extends InvalidOperationError {
  static override readonly name: string = "AuthorMismatchError";
  constructor(message = "a log holds operations of one author only") {
    super("AUTHOR_MISMATCH", message);
  }
}

/** `seqNum` is not the previous one plus one. */
export class SeqNumMismatchError extends InvalidOperationError {
  static override readonly name: string = "SeqNumMismatchError";
  readonly expected: number;
  readonly actual: number;
  constructor(expected: number, actual: number) {
    super("SEQ_NUM_MISMATCH", `expected seqNum ${expected}, got ${actual}`);
    this.expected = expected;
    this.actual = actual;
  }
}

/** The backlink is not the hash of the previous operation. */
export class BacklinkMismatchError extends InvalidOperationError {
  static override readonly name: string = "BacklinkMismatchError";
  constructor() {
    super("BACKLINK_MISMATCH", "backlink does not match the previous operation");
  }
}

/**
 * Every check of {@link validateOperation} except the signature, synchronously: version,
 * payload size and hash against each other and the body, backlink presence against `seqNum`,
 * and, given the previous operation of the log, same author and log, `seqNum + 1`, backlink.
 * Throws the matching {@link InvalidOperationError}.
 */
export function checkOperation(operation: Operation, previous?: Operation): void {
  const { header, body } = operation;
  if (header.version !== OPERATION_VERSION) throw new UnsupportedVersionError(header.version);
  if (header.payloadSize > 0 !== (header.payloadHash !== undefined)) {
    throw new PayloadMismatchError("payload hash must be present iff payload size > 0");
  }
  if (body !== undefined) {
    if (body.length !== header.payloadSize) {
      throw new PayloadMismatchError(
        `body of ${body.length} bytes, header claims ${header.payloadSize}`,
      );
    }
    if (body.length > 0 && !bytesEqual(hash(body), header.payloadHash as Uint8Array)) {
      throw new PayloadMismatchError("body does not match the payload hash");
    }
  }
  if (header.seqNum === 0 && header.backlink !== undefined) throw new UnexpectedBacklinkError();
  if (header.seqNum > 0 && header.backlink === undefined) throw new BacklinkMissingError();
  if (previous !== undefined) checkAgainstPrevious(operation, previous);
}

/** The chain checks alone: `operation` directly follows `previous` in the same log. */
export function checkAgainstPrevious(operation: Operation, previous: Operation): void {
  const { header } = operation;
  if (!bytesEqual(previous.header.verifyingKey, header.verifyingKey)) {
    throw new AuthorMismatchError();
  }
  if (logIdKey(logIdOf(previous.header)) !== logIdKey(logIdOf(header))) {
    throw new AuthorMismatchError("the previous operation belongs to another log");
  }
  if (header.seqNum !== previous.header.seqNum + 1) {
    throw new SeqNumMismatchError(previous.header.seqNum + 1, header.seqNum);
  }
  if (header.backlink === undefined || !bytesEqual(header.backlink, previous.hash)) {
    throw new BacklinkMismatchError();
  }
}

/** Verifies the author's signature over the unsigned header; throws {@link SignatureMismatchError}. */
export async function checkSignature(
  operation: Operation,
  verifier: SignatureVerifier = defaultVerifier,
): Promise<void> {
  const { header, headerBytes } = operation;
  if (header.signature === undefined) throw new SignatureMismatchError();
  const ok = await verifier
    .verify(header.verifyingKey, unsignedBytesOf(headerBytes), header.signature)
    .catch(() => false);
  if (!ok) throw new SignatureMismatchError();
}

/** What verifying an operation's signature checks, or `undefined` when it has none. */
export function signatureCheckOf(operation: Operation): SignatureCheck | undefined {
  const { header, headerBytes } = operation;
  if (header.signature === undefined) return undefined;
  return {
    publicKey: header.verifyingKey,
    message: unsignedBytesOf(headerBytes),
    signature: header.signature,
  };
}

/**
 * Verifies the signatures of `operations` with one {@link SignatureVerifier.verifyMany} call;
 * returns the index of the first that fails (missing or wrong), or -1 when all verify. The
 * caller throws {@link SignatureMismatchError} for it, as {@link checkSignature} would.
 */
export async function firstBadSignature(
  operations: readonly Operation[],
  verifier: SignatureVerifier & Required<Pick<SignatureVerifier, "verifyMany">>,
): Promise<number> {
  const checks: SignatureCheck[] = [];
  const at: number[] = [];
  let missing = -1;
  for (let i = 0; i < operations.length; i++) {
    const check = signatureCheckOf(operations[i] as Operation);
    if (check === undefined) {
      missing = i;
      break;
    }
    checks.push(check);
    at.push(i);
  }
  const valid = checks.length === 0 ? [] : await verifier.verifyMany(checks).catch(() => []);
  for (let i = 0; i < checks.length; i++) if (valid[i] !== true) return at[i] as number;
  return missing;
}

/**
 * Validates an operation (spec §6.1): the signature verifies; the version is supported; payload
 * size and hash match the body; a backlink is present iff `seqNum > 0`; and against `previous`
 * (the operation before it in the same log, if given): same author and log, `seqNum + 1`,
 * backlink = its hash. Cheap checks run first. Throws an {@link InvalidOperationError} subclass.
 */
export async function validateOperation(
  operation: Operation,
  previous?: Operation,
  verifier: SignatureVerifier = defaultVerifier,
): Promise<void> {
  checkOperation(operation, previous);
  await checkSignature(operation, verifier);
}

/** Short hex of an operation id, for messages and logs. */
export function shortHash(id: Uint8Array): string {
  return toHex(id.subarray(0, 5));
}

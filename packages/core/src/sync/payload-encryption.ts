import { concatBytes } from "../bytes.ts";
import { PayloadDecryptionError, type PayloadKey } from "../crypto/payload-key.ts";
import { Topic } from "../ids/topic.ts";
import type { Operation } from "./operation.ts";

const LOG_PAYLOAD_CONTEXT = new TextEncoder().encode("p2panda-web log payload v1");

/**
 * The associated data of an operation body sealed for `topic` by `author` (its verifying key):
 * a body opens only in an operation of the same author on the same topic, so a blind peer that
 * holds a member's ciphertext cannot sign it into a log of its own and pass it off as its words.
 */
export function logPayloadContext(topic: Topic, author: Uint8Array): Uint8Array {
  return concatBytes(LOG_PAYLOAD_CONTEXT, Topic.toBytes(topic), author);
}

/** What {@link revealOperation} makes of a stored operation. */
export interface RevealedOperation {
  /** The operation, with `payload` set when the key opened its body. */
  readonly operation: Operation;
  /** Why the body did not open (absent when it did, or when there is no body). */
  readonly error?: PayloadDecryptionError;
}

/**
 * Opens an operation's body with the topic's payload key. The operation itself (header, body,
 * hash) is left as received and stored: its signature covers the ciphertext.
 */
export function revealOperation(
  key: PayloadKey,
  topic: Topic,
  operation: Operation,
): RevealedOperation {
  if (operation.body === undefined) return { operation };
  try {
    const payload = key.open(
      operation.body,
      logPayloadContext(topic, operation.header.verifyingKey),
    );
    return { operation: { ...operation, payload } };
  } catch (error) {
    return {
      operation,
      error: error instanceof PayloadDecryptionError ? error : new PayloadDecryptionError(),
    };
  }
}

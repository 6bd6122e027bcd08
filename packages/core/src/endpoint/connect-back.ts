// Two tabs reach each other only over WebRTC, and each set-up is signalled through a relay. When
// both dialled at the same moment (they learn of each other from the same bootstrap in the same
// second), the two set-ups crossed: one side gave its own up half-way, the other side's peer
// connection for it opened on one end only, and the pair took 3–7 s instead of under one. So
// exactly one of the two sets the connection up: the node with the smaller id. The other opens a
// relayed connection, asks on it to be dialled ("connect back": one request byte), and waits for
// the one-byte answer; the asked node dials it over that same relayed connection. A node that
// does not serve the protocol (or refuses) is dialled the old way.

import type { ByteDuplex } from "../codec/message-channel.ts";
import type { NodeId } from "../ids/node-id.ts";

/** Protocol name (under the network's protocol prefix) of a request to be dialled back. */
export const CONNECT_BACK_PROTOCOL = "p2panda-web/webrtc_connect_back/v1";

/** How the asked node answered: one byte on the stream, then it closes its side. */
export type ConnectBackOutcome =
  /** It has a direct connection to us now. */
  | "connected"
  /** It will not dial (it is not the one to, or is over a limit): we dial ourselves. */
  | "refused"
  /** It tried and its WebRTC set-up to us failed. */
  | "failed"
  /** No valid answer in time (timeout, reset, malformed): we dial ourselves. */
  | "no-answer";

/** The request: the only byte an asker sends. */
const REQUEST_BYTE = 1;
/** How long the asked node waits for the request byte after the stream opened. */
export const CONNECT_BACK_REQUEST_TIMEOUT_MS = 5_000;

const REPLY_BYTES: Record<Exclude<ConnectBackOutcome, "no-answer">, number> = {
  connected: 1,
  refused: 0,
  failed: 2,
};

/**
 * Whether we ask `remote` to set up the WebRTC connection between us instead of dialling it: the
 * node with the smaller id dials.
 */
export function asksToBeDialled(self: NodeId, remote: NodeId): boolean {
  return remote < self;
}

/**
 * Asks to be dialled and reads the asked node's one-byte answer. Never throws: anything but a single known byte before
 * `signal` aborts is `"no-answer"` (and the stream is reset).
 */
export async function readConnectBackAnswer(
  duplex: ByteDuplex,
  signal: AbortSignal,
): Promise<ConnectBackOutcome> {
  const onAbort = (): void => duplex.abort(new Error("no connect-back answer in time"));
  if (signal.aborted) {
    onAbort();
    return "no-answer";
  }
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    await duplex.write(Uint8Array.of(REQUEST_BYTE));
    for await (const chunk of duplex.source) {
      if (chunk.length === 0) continue;
      // The answer is one byte: the first decides; more in the same chunk is malformed.
      const outcome = chunk.length === 1 ? outcomeOf(chunk[0] as number) : undefined;
      if (outcome === undefined) break;
      // The asked node closed its side after the answer; closing ours ends the stream, so the
      // relayed connection carries nothing and is closed once the direct one is up.
      duplex.closeWrite().catch(() => duplex.abort(new Error("connect-back stream failed")));
      return outcome;
    }
    duplex.abort(new Error("malformed or missing connect-back answer"));
    return "no-answer";
  } catch {
    return "no-answer";
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

function outcomeOf(byte: number): ConnectBackOutcome | undefined {
  for (const [outcome, value] of Object.entries(REPLY_BYTES)) {
    if (value === byte) return outcome as ConnectBackOutcome;
  }
  return undefined;
}

/**
 * Answers a request to be dialled: waits for the request byte (at most
 * {@link CONNECT_BACK_REQUEST_TIMEOUT_MS}), runs `dial` (bounded by its own deadline), then
 * writes its outcome and closes. Never throws; a stream that fails, stalls or sends anything but
 * the request byte is reset and nothing is dialled.
 */
export async function answerConnectBack(
  duplex: ByteDuplex,
  dial: () => Promise<Exclude<ConnectBackOutcome, "no-answer">>,
  requestTimeoutMs = CONNECT_BACK_REQUEST_TIMEOUT_MS,
): Promise<void> {
  const timer = setTimeout(
    () => duplex.abort(new Error("no connect-back request in time")),
    requestTimeoutMs,
  );
  try {
    let request: Uint8Array | undefined;
    try {
      for await (const chunk of duplex.source) {
        if (chunk.length === 0) continue;
        request = chunk;
        break;
      }
    } finally {
      clearTimeout(timer);
    }
    if (request?.length !== 1 || request[0] !== REQUEST_BYTE) {
      duplex.abort(new Error("malformed connect-back request"));
      return;
    }
    const outcome = await dial();
    await duplex.write(Uint8Array.of(REPLY_BYTES[outcome]));
    await duplex.closeWrite();
  } catch (error) {
    duplex.abort(error instanceof Error ? error : new Error(String(error)));
  }
}

/** Asks in a row refused or not answered after which we stop asking for a while. */
export const CONNECT_BACK_PAUSE_AFTER = 2;
/** How long we dial every node ourselves after {@link CONNECT_BACK_PAUSE_AFTER} asks in vain. */
export const CONNECT_BACK_PAUSE_MS = 30_000;

/**
 * When to stop asking to be dialled. An ask costs a relayed connection, a stream and the asked
 * node's answer before we dial ourselves; on a busy machine all three are slow and the asked node
 * is busy too. In 12 tabs on two cores, 79 asks in 90 s brought no connection: each one ended
 * at its 5 s deadline or with a refusal (median 3 s), out of the session's 10 s. After
 * {@link CONNECT_BACK_PAUSE_AFTER} asks in a row were refused or not answered, we dial ourselves for
 * {@link CONNECT_BACK_PAUSE_MS}; one ask after that decides whether the pause starts again.
 * Pure: the caller passes the time.
 */
export class ConnectBackPause {
  #inVain = 0;
  #until = 0;

  /** Whether to ask now (`now` in ms since the epoch, or any clock that starts at 0 or later). */
  asks(now: number): boolean {
    return now >= this.#until;
  }

  /**
   * What an ask brought. In vain: a refusal or no answer. A node that dialled us (`"connected"`)
   * or tried to (`"failed"`) did its part, whatever its WebRTC set-up gave.
   */
  answered(outcome: ConnectBackOutcome, now: number): void {
    if (outcome === "connected" || outcome === "failed") {
      this.#inVain = 0;
    } else if (++this.#inVain >= CONNECT_BACK_PAUSE_AFTER) {
      this.#until = now + CONNECT_BACK_PAUSE_MS;
      // After the pause a single ask in vain starts the next one.
      this.#inVain = CONNECT_BACK_PAUSE_AFTER - 1;
    }
  }
}

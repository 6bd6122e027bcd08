import type { MessageChannel } from "../codec/message-channel.ts";
import { asDiscoveryError } from "./errors.ts";
import { type DiscoveryLimits, decodeDiscoveryMessage } from "./messages.ts";
import type { DiscoveryResult, PsiHandshake, PsiOutput } from "./psi-handshake.ts";

export type { MessageChannel } from "../codec/message-channel.ts";

/** Options of {@link runDiscoverySession}. */
export interface DiscoverySessionOptions extends DiscoveryLimits {
  /** Aborting (e.g. the manager's session timeout) aborts the channel and rejects with the reason. */
  signal?: AbortSignal;
  /**
   * When the whole session must be over, in `now()` milliseconds. Every receive waits at most
   * until then, so a stalled remote fails the session with `timeout` even if nobody aborts it.
   */
  deadline?: number;
  /** The clock of `deadline`. Default `Date.now`. */
  now?: () => number;
  /** Called after each message (or the remote's close) arrived, before the handshake sees it. */
  onReceived?: () => void;
}

/**
 * Runs one PSI handshake (either role) over a {@link MessageChannel}: every incoming message is
 * shape- and cap-checked before the handshake sees it. On success returns the result with our
 * side closed; on any failure aborts the channel.
 *
 * @throws DiscoveryProtocolError — the handshake's own errors as they are; channel failures
 *   named by {@link asDiscoveryError} (bad CBOR → `malformed-frame`, an oversized frame →
 *   `frame-too-large`, a stall → `timeout`, a reset → `channel-error`, a plain exception →
 *   `internal-error`), and the abort reason when `signal` fires (named the same way).
 */
export async function runDiscoverySession(
  channel: MessageChannel,
  handshake: PsiHandshake,
  options: DiscoverySessionOptions = {},
): Promise<DiscoveryResult> {
  const { signal, deadline } = options;
  const now = options.now ?? Date.now;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    if (signal === undefined) return;
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  aborted.catch(() => {});
  try {
    const race = <T>(p: Promise<T>): Promise<T> => (signal ? Promise.race([p, aborted]) : p);
    const perform = async (out: PsiOutput): Promise<DiscoveryResult | undefined> => {
      for (const message of out.send) await race(channel.send(message));
      if (out.closeOurSide) await race(channel.close());
      return out.result;
    };
    let result = await perform(handshake.start());
    while (result === undefined) {
      const raw = await race(channel.receive(receiveOptions(deadline, now)));
      options.onReceived?.();
      const out =
        raw === undefined
          ? handshake.remoteClosed()
          : handshake.receive(decodeDiscoveryMessage(raw, options));
      result = await perform(out);
    }
    return result;
  } catch (error) {
    const failure = asDiscoveryError(error);
    channel.abort(failure);
    throw failure;
  } finally {
    if (onAbort) signal?.removeEventListener("abort", onAbort);
  }
}

function receiveOptions(deadline: number | undefined, now: () => number) {
  if (deadline === undefined) return undefined;
  // The channel reads a timeout of 0 as "wait forever": a deadline already passed must still
  // fail the receive, after the shortest wait.
  return { timeoutMs: Math.max(1, deadline - now()) };
}

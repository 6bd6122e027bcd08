import type { MessageChannel } from "../codec/message-channel.ts";
import { P2pandaError } from "../errors.ts";
import { DiscoveryProtocolError } from "./errors.ts";
import { type DiscoveryLimits, decodeDiscoveryMessage } from "./messages.ts";
import type { DiscoveryResult, PsiHandshake, PsiOutput } from "./psi-handshake.ts";

export type { MessageChannel } from "../codec/message-channel.ts";

/** Options of {@link runDiscoverySession}. */
export interface DiscoverySessionOptions extends DiscoveryLimits {
  /** Aborting (e.g. the manager's session timeout) aborts the channel and rejects with the reason. */
  signal?: AbortSignal;
}

/**
 * Runs one PSI handshake (either role) over a {@link MessageChannel}: every incoming message is
 * shape- and cap-checked before the handshake sees it. On success returns the result with our
 * side closed; on any failure aborts the channel.
 *
 * @throws DiscoveryProtocolError — the handshake's own errors as they are; channel failures
 *   (decode errors, resets, oversized frames) wrapped with reason `channel-error`, and the
 *   abort reason when `signal` fires (wrapped the same way unless it is already one).
 */
export async function runDiscoverySession(
  channel: MessageChannel,
  handshake: PsiHandshake,
  options: DiscoverySessionOptions = {},
): Promise<DiscoveryResult> {
  const { signal } = options;
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
      const raw = await race(channel.receive());
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

function asDiscoveryError(error: unknown): DiscoveryProtocolError {
  if (error instanceof DiscoveryProtocolError) return error;
  const what =
    error instanceof P2pandaError
      ? error.code
      : error instanceof Error
        ? error.message
        : String(error);
  return new DiscoveryProtocolError("channel-error", what, { cause: error });
}

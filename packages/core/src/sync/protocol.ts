import type { MessageChannel } from "../codec/message-channel.ts";

/**
 * The data-type-agnostic seam of sync (spec §6.5): a protocol runs over one message channel to
 * one remote and produces an output. Log sync (`SyncSession`) is one implementation; an app can
 * bring its own (sets, Merkle trees…) and have a manager start it per (topic, remote, liveMode)
 * exactly like log sync.
 *
 * Contract for implementations:
 * - `run` drives the whole session over `channel` and resolves with the output once the protocol
 *   ended cleanly (it half-closes the channel with `channel.close()` when it has nothing more to
 *   send);
 * - on bad input from the remote (malformed, out of order, oversized, stalled) it rejects with a
 *   typed `P2pandaError` and aborts the channel; it never leaves the channel half-used;
 * - it does no I/O other than the channel and its own stores, takes time and randomness
 *   injected, and reports progress through `emit` (plain values; the manager turns them into an
 *   event stream).
 */
export interface SyncProtocol<TOutput, TEvent = never> {
  /** Short name, for logs and events. */
  readonly name: string;
  run(channel: MessageChannel, emit?: (event: TEvent) => void): Promise<TOutput>;
}

/** What {@link runProtocol} reports. */
export type ProtocolOutcome<T> =
  | { readonly ok: true; readonly output: T }
  | { readonly ok: false; readonly error: Error };

/**
 * Runs a protocol and settles with its outcome instead of throwing; aborts the channel on an
 * error so the remote learns of it. For managers that run many sessions side by side.
 */
export async function runProtocol<T, E>(
  protocol: SyncProtocol<T, E>,
  channel: MessageChannel,
  emit?: (event: E) => void,
): Promise<ProtocolOutcome<T>> {
  try {
    return { ok: true, output: await protocol.run(channel, emit) };
  } catch (error) {
    const err = error instanceof Error ? error : new Error(String(error));
    channel.abort(err);
    return { ok: false, error: err };
  }
}

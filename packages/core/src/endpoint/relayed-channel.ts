import type { Connection } from "@libp2p/interface";
import type { MessageChannel } from "../codec/message-channel.ts";
import { RelayedConnectionEndedError } from "./errors.ts";
import { relayedEndReason } from "./relayed-fallback.ts";

/**
 * How long a failed read or write waits for its relayed connection to close before the failure
 * is taken for the stream's own: the muxer resets the streams of a circuit the relay cut in the
 * same moment as (sometimes just before) the connection reports itself closed.
 */
const CLOSE_GRACE_MS = 500;

/**
 * Wraps the channel of a session on a relayed (limited) connection so that its end by the relay
 * (the circuit's data or time limit, the relay gone) surfaces as a
 * {@link RelayedConnectionEndedError} rather than a bare stream reset: sessions, metrics and
 * `endpoint:session-failed` events then say why.
 */
export function relayedChannel(
  channel: MessageChannel,
  connection: Connection,
  onEnded: () => void = () => {},
): MessageChannel {
  // libp2p's circuit transport counts what is left of the data limit as bytes pass; it is read
  // when the connection closes.
  let closed = connection.status !== "open";
  /** Whether `onEnded` was called (once per session, whichever of read and write fails first). */
  let ended = false;
  const closedPromise = new Promise<void>((resolve) => {
    if (closed) resolve();
    else
      connection.addEventListener(
        "close",
        () => {
          closed = true;
          resolve();
        },
        { once: true },
      );
  });
  const map = async (error: unknown): Promise<never> => {
    if (error instanceof RelayedConnectionEndedError) throw error;
    if (!closed) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        closedPromise,
        new Promise((resolve) => {
          timer = setTimeout(resolve, CLOSE_GRACE_MS);
        }),
      ]);
      clearTimeout(timer);
    }
    if (!closed) throw error;
    if (!ended) onEnded();
    ended = true;
    throw new RelayedConnectionEndedError(
      channel.remote,
      relayedEndReason(connection.limits?.bytes),
      {
        cause: error,
      },
    );
  };
  return {
    remote: channel.remote,
    send: (message) => channel.send(message).catch(map),
    receive: (options) => channel.receive(options).catch(map),
    close: () => channel.close().catch(map),
    abort: (error) => channel.abort(error),
  };
}

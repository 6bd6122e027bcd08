import type { Connection } from "@libp2p/interface";
import type { ByteDuplex } from "../codec/message-channel.ts";
import type { NodeId } from "../ids/node-id.ts";
import { RelayedConnectionEndedError } from "./errors.ts";
import { relayedEndReason } from "./relayed-fallback.ts";

/**
 * How long a failed read or write waits for its relayed connection to close before the failure
 * is taken for the stream's own: the muxer resets the streams of a circuit the relay cut in the
 * same moment as (sometimes just before) the connection reports itself closed.
 */
const CLOSE_GRACE_MS = 500;

/**
 * Wraps the duplex of a session on a relayed (limited) connection so that its end by the relay
 * (the circuit's data or time limit, the relay gone) surfaces as a
 * {@link RelayedConnectionEndedError} rather than a bare stream reset: sessions, metrics and
 * `endpoint:session-failed` events then say why.
 */
export function relayedDuplex(
  remote: NodeId,
  duplex: ByteDuplex,
  connection: Connection,
  onEnded: () => void = () => {},
): ByteDuplex {
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
      await Promise.race([
        closedPromise,
        new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS)),
      ]);
    }
    if (!closed) throw error;
    if (!ended) onEnded();
    ended = true;
    throw new RelayedConnectionEndedError(remote, relayedEndReason(connection.limits?.bytes), {
      cause: error,
    });
  };
  const source = duplex.source;
  return {
    write: (bytes) => duplex.write(bytes).catch(map),
    source: {
      async *[Symbol.asyncIterator]() {
        try {
          yield* source;
        } catch (error) {
          await map(error);
        }
      },
    },
    closeWrite: () => duplex.closeWrite().catch(map),
    abort: (error) => duplex.abort(error),
  };
}

import type { Libp2pInit } from "libp2p";
import { InvalidInputError } from "../errors.ts";

/** One entry of libp2p's `transports` (and of `BrowserEndpointOptions.transports`). */
export type TransportFactory = NonNullable<Libp2pInit["transports"]>[number];

/**
 * Gives every dial of `transport` a deadline of its own, below the endpoint's per-address
 * timeout (`addressDialTimeoutMs`, 6 s in browsers, which tab-to-tab WebRTC set-ups in a crowd
 * need). For transports to servers over UDP, WebRTC-direct and WebTransport: when the server is
 * down, nothing answers their handshake (the browser ignores "port unreachable"), so a dial of
 * such an address waits for the whole per-address timeout, while a WebSocket dial of the same
 * server is refused at once. libp2p dials a node's addresses one after another, and every dial of
 * the node meanwhile (a bootstrap reconnect, the relay's reservation) joins the one running: after
 * a bootstrap restart, the tabs of the demo got their bootstrap back only when that wait was over,
 * 4.5 s after the restart with 6 s, 1.6–1.8 s with a deadline of 3 s here (lifecycle e2e).
 *
 * ```ts
 * transports: [withDialDeadline(webRTCDirect({ rtcConfiguration: { iceServers: [] } }), 3_000)]
 * ```
 *
 * A dial that reaches its deadline fails as an aborted dial of that address; the node's other
 * addresses are tried next, as after any failed address.
 * @throws InvalidInputError if `deadlineMs` is not a positive number of milliseconds.
 */
export function withDialDeadline(
  transport: TransportFactory,
  deadlineMs: number,
): TransportFactory {
  if (!(deadlineMs > 0 && Number.isFinite(deadlineMs))) {
    throw new InvalidInputError(
      `a dial deadline must be a positive number of ms, not ${deadlineMs}`,
    );
  }
  return (components) => {
    const made = transport(components);
    const dial = made.dial.bind(made);
    made.dial = (address, options) =>
      dial(address, {
        ...options,
        signal: AbortSignal.any([options.signal, AbortSignal.timeout(deadlineMs)]),
      });
    return made;
  };
}

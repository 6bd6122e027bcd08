import { circuitRelayTransport } from "@libp2p/circuit-relay-v2";
import { webRTC } from "@libp2p/webrtc";
import { webSockets } from "@libp2p/websockets";
import { InvalidInputError } from "../errors.ts";
import type { Endpoint } from "./endpoint.ts";
import {
  DEFAULT_BROWSER_ADDRESS_DIAL_TIMEOUT_MS,
  DEFAULT_IDLE_CONNECTION_TIMEOUT_MS,
  DEFAULT_MAX_DIRECT_CONNECTIONS,
  type EndpointOptions,
  type EndpointPreset,
} from "./endpoint-options.ts";
import { startEndpoint } from "./libp2p-endpoint.ts";
import type { OverlaySignalling } from "./overlay-relays.ts";
import { guardInitChannels } from "./webrtc-init-channel.ts";

/** Options of {@link createEndpoint}. */
export interface BrowserEndpointOptions extends EndpointOptions {
  /**
   * STUN/TURN servers for WebRTC (`RTCConfiguration.iceServers`). Default none, so no third
   * party is contacted: tabs then offer only host candidates, which browsers hide behind random
   * mDNS names (`<uuid>.local`), so two tabs connect only where one can resolve the other's
   * name: two tabs of one Chromium always can, Chromium and Firefox only where multicast DNS
   * works between them (docs/browsers.md). For users on different networks add
   *
   * - a STUN server (`{ urls: "stun:stun.example.org:3478" }`): each tab learns its public
   *   address (a server-reflexive candidate, which needs no mDNS), enough behind most NATs;
   * - a TURN server (`{ urls: "turn:turn.example.org:3478?transport=udp", username,
   *   credential }`): traffic is relayed through it where no direct path exists (symmetric
   *   NATs, UDP blocked; `turns:` for TLS). Give TURN credentials that expire, as anyone who
   *   reads them from the page can use the server.
   *
   * See also {@link relayOnly}.
   */
  readonly iceServers?: RTCIceServer[];
  /**
   * Relay-only mode, for users who do not want peers to learn their IP address: WebRTC uses only
   * the TURN servers of `iceServers` (`iceTransportPolicy: "relay"`), so a peer sees the TURN
   * server's address, never ours. Needs at least one `turn:`/`turns:` server (else
   * `InvalidInputError`). The TURN operator and the bootstrap (over WebSockets) still see our
   * address; traffic takes the longer path through the TURN server. Default `false`.
   */
  readonly relayOnly?: boolean;
  /** More listen addresses (the preset listens on `/p2p-circuit` and `/webrtc`). */
  readonly listen?: readonly string[];
  /**
   * More libp2p transports to dial with, besides WebSockets, WebRTC and circuit relay: e.g.
   * `webRTCDirect({ rtcConfiguration: { iceServers: [] } })` from `@libp2p/webrtc` or
   * `webTransport()` from `@libp2p/webtransport`, for servers that offer no WebSockets
   * (WebRTC-direct needs no TLS certificate). Default none. They are passed in rather than
   * switched on by a flag so that an app which does not use them does not ship them (together
   * ~12 KB gzip). Without `rtcConfiguration`, libp2p's WebRTC-direct uses public STUN servers.
   * Wrap those two in {@link withDialDeadline}: a server that is down never answers them, and
   * every dial of it then waits out the per-address timeout (`addressDialTimeoutMs`).
   */
  readonly transports?: EndpointPreset["transports"];
  /**
   * Signalling through the overlay: pass `overlaySignalling()` (from this module) and the node
   * relays WebRTC signalling (never data: circuits are limited to 64 KiB and 30 s) for its direct
   * WebRTC neighbours and reserves a slot on up to 4 of them, advertising
   * `/p2p/<neighbour>/p2p-circuit/webrtc/p2p/<us>`. A node connected to one of those neighbours
   * then sets up a direct connection with us through it, with no bootstrap. The Noise handshake
   * on the circuit authenticates both ends and carries the SDP (with the DTLS fingerprints), so
   * the neighbour can neither read nor forge the set-up. Per-node rates (`signallingLimits`)
   * apply as for any relay. Default none (an app that does not use it does not ship libp2p's
   * relay server, ~2 KB gzip).
   */
  readonly overlaySignalling?: OverlaySignalling;
}

/**
 * Creates and starts the browser endpoint (it also runs in Node, where WebRTC comes from
 * node-datachannel). It dials WebSockets addresses (and those of the `transports` passed in,
 * such as WebRTC-direct or WebTransport), and once it holds a reservation on a relay (a
 * bootstrap node) it is reachable at `…/p2p-circuit/webrtc/p2p/<id>`: other nodes signal through
 * the relay and then talk over a direct WebRTC connection. Reservation changes show as `endpoint:relay-reservation` events and
 * in the advertised addresses.
 *
 * Unlike libp2p's browser default, plain `ws://` addresses may be dialled (pages served over
 * https cannot use them anyway, and local development needs them); loopback and LAN addresses
 * only with `allowPrivateAddresses`.
 *
 * @throws InvalidInputError on malformed options (`relayOnly` without a TURN server); libp2p
 * errors if it cannot start.
 */
export async function createEndpoint(options: BrowserEndpointOptions): Promise<Endpoint> {
  const relayOnly = options.relayOnly === true;
  if (relayOnly && !(options.iceServers ?? []).some(isTurnServer)) {
    throw new InvalidInputError(
      "relayOnly needs a TURN server (turn: or turns: URL) in iceServers",
    );
  }
  // A set-up's "init" channel must not hang the dialler (see `webrtc-init-channel.ts`).
  if (typeof globalThis.RTCPeerConnection === "function") {
    guardInitChannels(
      globalThis.RTCPeerConnection as unknown as Parameters<typeof guardInitChannels>[0],
    );
  }
  const overlay = options.overlaySignalling;
  const withDefaults = {
    idleConnectionTimeoutMs: DEFAULT_IDLE_CONNECTION_TIMEOUT_MS,
    maxDirectConnections: DEFAULT_MAX_DIRECT_CONNECTIONS,
    addressDialTimeoutMs: DEFAULT_BROWSER_ADDRESS_DIAL_TIMEOUT_MS,
    warmStart: true,
    ...options,
  };
  return await startEndpoint(withDefaults, {
    transports: [
      webSockets(),
      webRTC({
        rtcConfiguration: {
          iceServers: options.iceServers ?? [],
          ...(relayOnly ? { iceTransportPolicy: "relay" as const } : {}),
        },
      }),
      circuitRelayTransport(),
      ...(options.transports ?? []),
    ],
    listen: ["/p2p-circuit", "/webrtc", ...(options.listen ?? [])],
    ...(overlay === undefined ? {} : { overlayRelays: overlay.relays, services: overlay.services }),
  });
}

function isTurnServer(server: RTCIceServer): boolean {
  const urls = typeof server.urls === "string" ? [server.urls] : server.urls;
  return urls.some((url) => /^turns?:/i.test(url));
}

import { circuitRelayServer, circuitRelayTransport } from "@libp2p/circuit-relay-v2";
import type { StreamHandler } from "@libp2p/interface";
import { tcp } from "@libp2p/tcp";
import { type TransportCertificate, webRTC, webRTCDirect } from "@libp2p/webrtc";
import { webSockets } from "@libp2p/websockets";
import type { Endpoint } from "../endpoint/endpoint.ts";
import type { EndpointOptions } from "../endpoint/endpoint-options.ts";
import { startEndpoint } from "../endpoint/libp2p-endpoint.ts";
import { RELAYED_DATA_PROTOCOL } from "../endpoint/relayed-fallback.ts";
import { InvalidInputError } from "../errors.ts";
import { NetworkId, protocolId } from "../ids/network-id.ts";
import { nodeCryptoLibp2pKey } from "./node-crypto-ed25519.ts";

/** Bounds of the circuit-relay v2 server (what browsers use to reach each other). */
export interface RelayServerOptions {
  /** Most reservations held at once. Default 128. */
  readonly maxReservations?: number;
  /** How long a reservation lasts before the client must renew it. Default 1 h. */
  readonly reservationTtlMs?: number;
  /** Longest a relayed connection may stay open. Default 2 min (enough for WebRTC signalling). */
  readonly connectionDurationLimitMs?: number;
  /** Most bytes relayed per relayed connection. Default 128 KiB. */
  readonly connectionDataLimitBytes?: number;
  /** Most concurrent relay (HOP) requests being served. Default 64. */
  readonly maxInboundHopStreams?: number;
  /**
   * Let nodes run their sessions over our circuits when they cannot connect directly (their
   * `relayedFallback` option): we serve the `relayed-data` protocol, which tells them so, and
   * each circuit carries up to `connectionDataLimitBytes` for up to `connectionDurationLimitMs`
   * (set both to what you are willing to pay for). Default `false`: circuits are for WebRTC
   * signalling only (the limits then bound signalling).
   */
  readonly relayData?: boolean;
}

/** Defaults of {@link RelayServerOptions}. */
export const DEFAULT_RELAY_SERVER_OPTIONS: Required<RelayServerOptions> = Object.freeze({
  maxReservations: 128,
  reservationTtlMs: 60 * 60 * 1000,
  connectionDurationLimitMs: 2 * 60 * 1000,
  connectionDataLimitBytes: 128 * 1024,
  maxInboundHopStreams: 64,
  relayData: false,
});

/** Whether `value` is a whole number of at least 1 that fits a double exactly. */
function positiveInteger(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 1;
}

/**
 * The relay's bounds with the defaults filled in.
 * @throws InvalidInputError on a bound that is not a positive integer.
 */
export function relayServerSettings(
  options: RelayServerOptions = {},
): Required<RelayServerOptions> {
  const settings = { ...DEFAULT_RELAY_SERVER_OPTIONS, ...options };
  for (const name of [
    "maxReservations",
    "reservationTtlMs",
    "connectionDurationLimitMs",
    "connectionDataLimitBytes",
    "maxInboundHopStreams",
  ] as const) {
    if (!positiveInteger(settings[name])) {
      throw new InvalidInputError(`relay ${name} must be a positive integer`);
    }
  }
  // libp2p's relay waits this long with a timer: above 2^31 - 1 ms it would fire at once.
  if (settings.connectionDurationLimitMs > 2 ** 31 - 1) {
    throw new InvalidInputError(
      "relay connectionDurationLimitMs must be at most 2147483647 (24.8 days)",
    );
  }
  return settings;
}

/** What {@link relayedDataSign} needs of libp2p's registrar. */
interface ProtocolRegistrar {
  handle(protocol: string, handler: StreamHandler): Promise<void>;
  unhandle(protocol: string): Promise<void>;
}

/**
 * A libp2p service that serves {@link RELAYED_DATA_PROTOCOL}: identify then lists it among our
 * protocols, which is how a node learns that our circuits may carry its sessions. A stream
 * opened on it is closed at once.
 */
function relayedDataSign(protocol: string) {
  return (components: { registrar: ProtocolRegistrar }) => ({
    async start(): Promise<void> {
      await components.registrar.handle(protocol, (stream) => {
        stream.close().catch(() => {});
      });
    },
    async stop(): Promise<void> {
      await components.registrar.unhandle(protocol);
    },
  });
}

/** Options of {@link createNodeEndpoint}. */
export interface NodeEndpointOptions extends EndpointOptions {
  /** IP address the listeners bind to. Default `127.0.0.1`; `0.0.0.0` or `::` for all. */
  readonly host?: string;
  /** TCP port; `0` picks a free one, `false` disables the listener. Default 0. */
  readonly tcpPort?: number | false;
  /** WebSockets port; `0` picks a free one, `false` disables. Default 0. */
  readonly wsPort?: number | false;
  /** WebRTC-direct (UDP) port; `0` picks a free one, `false` disables. Default 0. */
  readonly webrtcDirectPort?: number | false;
  /** More listen multiaddrs. */
  readonly listen?: readonly string[];
  /** Serve circuit relay v2 with these bounds; `false` to not relay. Default on. */
  readonly relay?: RelayServerOptions | false;
  /**
   * Reserve a slot on relays we connect to and listen for WebRTC through them (what browsers
   * do), for a Node node behind a NAT. Default `false`.
   */
  readonly relayClient?: boolean;
  /**
   * STUN/TURN servers for WebRTC, as in the browser endpoint (`BrowserEndpointOptions.iceServers`);
   * default none.
   */
  readonly iceServers?: RTCIceServer[];
  /**
   * The WebRTC-direct listener's certificate (see `loadOrCreateWebRtcDirectCertificate`). Default
   * a new one on every start, so the listener's `/certhash/` and with it its address change.
   */
  readonly webrtcDirectCertificate?: TransportCertificate;
}

function ipPrefix(host: string): string {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) return `/ip4/${host}`;
  if (host.includes(":")) return `/ip6/${host}`;
  throw new InvalidInputError(`host must be an IPv4 or IPv6 address: ${host}`);
}

function port(name: string, value: number | false | undefined): number | false {
  if (value === false) return false;
  const n = value ?? 0;
  if (!Number.isSafeInteger(n) || n < 0 || n > 65_535) {
    throw new InvalidInputError(`${name} must be a port number (0–65535) or false`);
  }
  return n;
}

/**
 * Creates and starts a Node.js endpoint: listens on TCP, WebSockets and WebRTC-direct (browsers
 * dial the latter two), serves circuit relay v2 with bounded reservations and per-connection
 * time and data limits, and dials every transport the browser preset dials. This is what a
 * bootstrap node runs (`p2panda-web bootstrap`).
 *
 * @throws InvalidInputError on a malformed host or port; libp2p errors if a port is taken.
 */
export function createNodeEndpoint(options: NodeEndpointOptions): Promise<Endpoint> {
  const prefix = ipPrefix(options.host ?? "127.0.0.1");
  const tcpPort = port("tcpPort", options.tcpPort);
  const wsPort = port("wsPort", options.wsPort);
  const webrtcPort = port("webrtcDirectPort", options.webrtcDirectPort);
  const listen: string[] = [];
  if (tcpPort !== false) listen.push(`${prefix}/tcp/${tcpPort}`);
  if (wsPort !== false) listen.push(`${prefix}/tcp/${wsPort}/ws`);
  if (webrtcPort !== false) listen.push(`${prefix}/udp/${webrtcPort}/webrtc-direct`);
  if (options.relayClient === true) listen.push("/p2p-circuit", "/webrtc");
  listen.push(...(options.listen ?? []));

  const iceServers = options.iceServers ?? [];
  const relay = options.relay === false ? undefined : relayServerSettings(options.relay);
  const networkId = options.networkId ?? NetworkId.DEFAULT;
  return startEndpoint(options, {
    transports: [
      tcp(),
      webSockets(),
      webRTCDirect({
        rtcConfiguration: { iceServers },
        ...(options.webrtcDirectCertificate === undefined
          ? {}
          : { certificate: options.webrtcDirectCertificate }),
      }),
      webRTC({ rtcConfiguration: { iceServers } }),
      circuitRelayTransport(),
    ],
    listen,
    privateKey: nodeCryptoLibp2pKey(options.identity),
    services:
      relay === undefined
        ? {}
        : {
            relay: circuitRelayServer({
              maxInboundHopStreams: relay.maxInboundHopStreams,
              reservations: {
                maxReservations: relay.maxReservations,
                reservationTtl: relay.reservationTtlMs,
                applyDefaultLimit: true,
                defaultDurationLimit: relay.connectionDurationLimitMs,
                defaultDataLimit: BigInt(relay.connectionDataLimitBytes),
              },
            }),
            ...(relay.relayData
              ? {
                  relayedData: relayedDataSign(protocolId(RELAYED_DATA_PROTOCOL, networkId)),
                }
              : {}),
          },
  });
}

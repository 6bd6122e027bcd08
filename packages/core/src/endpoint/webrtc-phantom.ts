// A WebRTC connection that libp2p opened over a peer connection that never connected.
//
// When the dialling side gives a WebRTC set-up up (its stall guard or address timeout), the
// answering side's signalling handler in @libp2p/webrtc takes the end of the signalling stream
// as the end of ICE and upgrades its peer connection anyway: the node then holds an "open"
// direct connection on which no data channel will ever open, and takes it instead of dialling
// until pings close it (seconds later). Seen between Chromium and Firefox tabs that could not
// resolve each other's mDNS host candidates (docs/browsers.md): every such "connection" sat on
// a peer connection in state "new".

/** What a libp2p WebRTC connection keeps of its peer connection (a private field). */
interface WithPeerConnection {
  readonly maConn?: { readonly peerConnection?: { readonly connectionState?: unknown } };
}

/**
 * The `connectionState` of the RTCPeerConnection under a libp2p connection, or `undefined` when
 * it is no WebRTC connection or libp2p keeps it where we do not look (then nothing is judged).
 */
export function peerConnectionState(connection: unknown): string | undefined {
  if (typeof connection !== "object" || connection === null) return undefined;
  const state = (connection as WithPeerConnection).maConn?.peerConnection?.connectionState;
  return typeof state === "string" ? state : undefined;
}

/**
 * Whether a connection that just opened is a phantom: a WebRTC connection whose peer connection
 * has not even started connecting ("new"). libp2p opens a WebRTC connection only after ICE
 * connected (dialler and answerer alike), so "new" at that moment means the set-up ended
 * without one. Other states are left alone: node-datachannel's peer connection reports its
 * state with a delay (a working Node connection can still read "connecting" here), and a
 * failed or closed one closes its libp2p connection by itself.
 */
export function isPhantomWebRtcConnection(connection: unknown): boolean {
  return peerConnectionState(connection) === "new";
}

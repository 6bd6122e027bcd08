// The bundle budget's baseline (bench/bundle-budget.ts): the smallest libp2p browser node a web
// app would otherwise ship to do what ours does on the wire: WebSockets to a bootstrap, WebRTC
// between tabs signalled through a circuit relay, Noise, yamux, identify and ping.

import { circuitRelayTransport } from "@libp2p/circuit-relay-v2";
import { identify } from "@libp2p/identify";
import { noise } from "@libp2p/noise";
import { ping } from "@libp2p/ping";
import { webRTC } from "@libp2p/webrtc";
import { webSockets } from "@libp2p/websockets";
import { yamux } from "@libp2p/yamux";
import { createLibp2p } from "libp2p";

const node = await createLibp2p({
  addresses: { listen: ["/p2p-circuit", "/webrtc"] },
  transports: [webSockets(), webRTC(), circuitRelayTransport()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: { identify: identify(), ping: ping() },
});
document.body.textContent = node.peerId.toString();

// Vite settings shared by the demo (vite.config.ts), the browser tests (vitest.config.ts) and
// the browser benchmarks (bench/browser.ts).

/** Workspace packages resolve to their TypeScript sources through the `source` condition. */
export const browserConditions = ["source", "module", "browser", "development|production"];

/**
 * Dependencies to pre-bundle when the server starts. Discovering them on the first page load
 * makes Vite re-optimise and reload the page, which fails whatever test or benchmark runs in it.
 */
export const browserDependencies = [
  "rxjs",
  "@noble/curves/ed25519.js",
  "@noble/hashes/blake3.js",
  "@noble/hashes/sha2.js",
  "@noble/hashes/scrypt.js",
  "@noble/ciphers/chacha.js",
  "@multiformats/multiaddr",
  "@libp2p/crypto/keys",
  "@libp2p/peer-id",
  "libp2p",
  "@libp2p/utils",
  "@libp2p/memory",
  "@libp2p/circuit-relay-v2",
  "@libp2p/webrtc",
  "@libp2p/websockets",
  "@libp2p/webtransport",
  "@libp2p/noise",
  "@libp2p/yamux",
  "@libp2p/identify",
  "@libp2p/interface",
  "@libp2p/ping",
];

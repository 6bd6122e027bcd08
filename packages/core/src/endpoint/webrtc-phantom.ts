// A WebRTC connection that libp2p opened over a peer connection that never connected.
//
// When the dialling side gives a WebRTC set-up up (its stall guard or address timeout), the
// answering side's signalling handler in @libp2p/webrtc takes the end of the signalling stream
// as the end of ICE and upgrades its peer connection anyway: the node then holds an "open"
// direct connection on which no data channel will ever open, and takes it instead of dialling
// until pings close it (seconds later). Seen between Chromium and Firefox tabs that could not
// resolve each other's mDNS host candidates (docs/browsers.md): every such "connection" sat on
// a peer connection in state "new". Where the dialler gave up after ICE had started checking
// (a crossing dial that gave way, seen under load), the answerer's peer connection is still
// "connecting" when libp2p opens the connection, and never connects: those are watched.
import { systemTimers, type Timers } from "../runtime/timers.ts";

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
 * state with a delay (a working Node connection can still read "connecting" here: such ones are
 * given a grace, {@link UnconfirmedWebRtcConnections}), and a failed or closed one closes its
 * libp2p connection by itself.
 */
export function isPhantomWebRtcConnection(connection: unknown): boolean {
  return peerConnectionState(connection) === "new";
}

/** The part of an RTCPeerConnection the watch below needs. */
interface WatchedPeerConnection {
  readonly connectionState?: unknown;
  addEventListener?(type: "connectionstatechange", listener: () => void): void;
  removeEventListener?(type: "connectionstatechange", listener: () => void): void;
}

/**
 * How long a WebRTC connection that opened on a peer connection still "connecting" gets to
 * connect before it is taken for a phantom. A real one is through within moments: the answerer
 * opens its side only once ICE connected or the dialler closed the signalling stream, which the
 * dialler does only after data went both ways.
 */
export const WEBRTC_CONNECT_GRACE_MS = 1_000;

/**
 * WebRTC connections that opened on a peer connection still "connecting": the answerer's side
 * of a set-up that the dialler gave up after ICE started checking (a crossing dial that gave
 * way, its stall guard or timeout). Seen between Chromium and Firefox under load: Firefox held
 * such a connection as "direct" while Chromium waited 5 s for Firefox to dial it. Until its peer
 * connection connects, such a connection is not taken as a direct one ({@link has}); if it has
 * not connected after the grace, `onPhantom` is called to close it. A peer connection that
 * connects, or a connection that closes, ends the watch.
 */
export class UnconfirmedWebRtcConnections {
  readonly #graceMs: number;
  readonly #timers: Timers;
  readonly #onPhantom: (id: string) => void;
  readonly #onConnected: (id: string) => void;
  readonly #watched = new Map<string, { stop: () => void; settled: Promise<boolean> }>();
  readonly #verdicts = new Map<string, (connected: boolean) => void>();

  /**
   * @param onPhantom closes the connection with this id (its peer connection did not connect).
   * @param onConnected told when a watched connection's peer connection connected (it is a
   *   direct connection from now on).
   */
  constructor(
    onPhantom: (id: string) => void,
    onConnected: (id: string) => void,
    graceMs = WEBRTC_CONNECT_GRACE_MS,
    timers = systemTimers,
  ) {
    this.#onPhantom = onPhantom;
    this.#onConnected = onConnected;
    this.#graceMs = graceMs;
    this.#timers = timers;
  }

  /**
   * Starts watching `connection` (id `id`) when its peer connection is the platform's own
   * (`globalThis.RTCPeerConnection`: a browser's) and still "connecting" or "new"; returns whether
   * it did. "new" too: a page whose main thread is busy learns its peer connection's state late,
   * and the soak saw a working connection read "new" when it opened (and closed as a phantom at
   * once, so the pair set WebRTC up a second time).
   */
  watch(id: string, connection: unknown): boolean {
    const state = peerConnectionState(connection);
    if ((state !== "connecting" && state !== "new") || this.#watched.has(id)) return false;
    const pc = (connection as { maConn: { peerConnection: WatchedPeerConnection } }).maConn
      .peerConnection;
    // Only a browser's own peer connection: node-datachannel's (Node) reports its state late
    // enough that working Node connections were closed by the grace in the WebSockets tests.
    const Native = (globalThis as { RTCPeerConnection?: unknown }).RTCPeerConnection;
    if (typeof Native !== "function" || !(pc instanceof Native)) return false;
    const onChange = (): void => {
      if (pc.connectionState !== "connected" || !this.#watched.has(id)) return;
      this.#settle(id, true);
      this.#onConnected(id);
    };
    const timer = this.#timers.after(this.#graceMs, () => {
      if (!this.#watched.has(id)) return;
      const connected = pc.connectionState === "connected";
      this.#settle(id, connected);
      if (connected) this.#onConnected(id);
      else this.#onPhantom(id);
    });
    let verdict: (connected: boolean) => void = () => {};
    const settled = new Promise<boolean>((resolve) => {
      verdict = resolve;
    });
    this.#verdicts.set(id, verdict);
    this.#watched.set(id, {
      stop: () => {
        timer.cancel();
        pc.removeEventListener?.("connectionstatechange", onChange);
      },
      settled,
    });
    pc.addEventListener?.("connectionstatechange", onChange);
    return true;
  }

  /** Whether the connection with this id is watched (opened, but not connected yet). */
  has(id: string): boolean {
    return this.#watched.has(id);
  }

  /**
   * Resolves once the watch of this connection ended: `true` when its peer connection
   * connected, `false` when it closed or was taken for a phantom; `undefined` when it is not
   * watched.
   */
  settled(id: string): Promise<boolean> | undefined {
    return this.#watched.get(id)?.settled;
  }

  /** Ends the watch of one connection (it closed). */
  forget(id: string): void {
    this.#settle(id, false);
  }

  #settle(id: string, connected: boolean): void {
    const watch = this.#watched.get(id);
    if (watch === undefined) return;
    this.#watched.delete(id);
    watch.stop();
    this.#verdicts.get(id)?.(connected);
    this.#verdicts.delete(id);
  }

  /** Ends every watch (the endpoint stops); their verdicts are `false`. */
  clear(): void {
    for (const id of [...this.#watched.keys()]) this.forget(id);
  }
}

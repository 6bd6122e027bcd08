import type { Connection } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import type { EndpointEvent } from "@p2panda-web/core/endpoint";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  isPhantomWebRtcConnection,
  peerConnectionState,
  UnconfirmedWebRtcConnections,
  WEBRTC_CONNECT_GRACE_MS,
} from "../../src/endpoint/webrtc-phantom.ts";
import { memoryNode, stopAll } from "./helpers.ts";

afterEach(async () => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
  await stopAll();
});

/** A peer connection whose state the test moves on (with its `connectionstatechange` event). */
class FakePeerConnection extends EventTarget {
  connectionState: string;
  constructor(state: string) {
    super();
    this.connectionState = state;
  }
  moveTo(state: string): void {
    this.connectionState = state;
    this.dispatchEvent(new Event("connectionstatechange"));
  }
}

/** A libp2p connection as `@libp2p/webrtc` makes it, with the peer connection under it. */
function webRtcConnection(peerId: string, state: string, abort = vi.fn()) {
  return {
    id: `webrtc-${state}`,
    remotePeer: peerIdFromString(peerId),
    remoteAddr: multiaddr(`/webrtc/p2p/${peerId}`),
    direction: "inbound",
    limits: undefined,
    status: "open",
    streams: [],
    maConn: { peerConnection: { connectionState: state } },
    abort,
  } as unknown as Connection;
}

describe("a WebRTC connection whose peer connection never started connecting is a phantom", () => {
  it.each([
    ["new", true],
    // node-datachannel reports its state late; failed and closed ones close by themselves.
    ["connecting", false],
    ["failed", false],
    ["closed", false],
    ["connected", false],
  ])("peer connection %s: phantom %s", (state, phantom) => {
    expect(
      isPhantomWebRtcConnection({ maConn: { peerConnection: { connectionState: state } } }),
    ).toBe(phantom);
  });

  it("judges nothing it cannot read: other transports, other shapes", () => {
    for (const other of [
      undefined,
      null,
      1,
      {},
      { maConn: {} },
      { maConn: { peerConnection: {} } },
    ]) {
      expect(peerConnectionState(other)).toBeUndefined();
      expect(isPhantomWebRtcConnection(other)).toBe(false);
    }
  });
});

describe("the endpoint closes a phantom WebRTC connection as it opens", () => {
  it("aborts it, counts it, and neither reports nor emits it (nor its close)", async () => {
    const a = await memoryNode();
    const b = await memoryNode();
    const events: EndpointEvent[] = [];
    const subscription = a.endpoint.events$.subscribe((e) => events.push(e));
    const abort = vi.fn();
    const phantom = webRtcConnection(b.endpoint.libp2p.peerId.toString(), "new", abort);
    const before = { ...a.endpoint.metrics };

    a.endpoint.libp2p.dispatchEvent(new CustomEvent("connection:open", { detail: phantom }));
    a.endpoint.libp2p.dispatchEvent(new CustomEvent("connection:close", { detail: phantom }));
    subscription.unsubscribe();

    expect(abort).toHaveBeenCalledTimes(1);
    expect(a.endpoint.metrics.webRtcPhantomsClosed).toBe(before.webRtcPhantomsClosed + 1);
    expect(a.endpoint.metrics.connectionsOpened).toBe(before.connectionsOpened);
    expect(a.endpoint.metrics.connectionsClosed).toBe(before.connectionsClosed);
    expect(events.filter((e) => e.type.startsWith("endpoint:connection-"))).toEqual([]);
  });

  it("keeps a WebRTC connection whose peer connection is connected", async () => {
    const a = await memoryNode();
    const b = await memoryNode();
    const abort = vi.fn();
    const live = webRtcConnection(b.endpoint.libp2p.peerId.toString(), "connected", abort);
    const opened = a.endpoint.metrics.connectionsOpened;

    a.endpoint.libp2p.dispatchEvent(new CustomEvent("connection:open", { detail: live }));

    expect(abort).not.toHaveBeenCalled();
    expect(a.endpoint.metrics.webRtcPhantomsClosed).toBe(0);
    expect(a.endpoint.metrics.connectionsOpened).toBe(opened + 1);
  });
});

describe("a WebRTC connection opened on a peer connection still connecting gets a grace to connect", () => {
  // Browsers only: the fake stands in for the browser's RTCPeerConnection.
  beforeEach(() => {
    vi.stubGlobal("RTCPeerConnection", FakePeerConnection);
  });

  // Chromium ↔ Firefox under load: Chromium gave its crossing dial up after Firefox had begun
  // ICE checks; Firefox's libp2p opened its side anyway (peer connection "connecting", never
  // connected) and used it as its direct connection while Chromium waited 5 s for Firefox's dial.
  it("is closed as a phantom when it has not connected after the grace", () => {
    vi.useFakeTimers();
    const phantoms: string[] = [];
    const connected: string[] = [];
    const watch = new UnconfirmedWebRtcConnections(
      (id) => phantoms.push(id),
      (id) => connected.push(id),
    );
    const pc = new FakePeerConnection("connecting");
    expect(watch.watch("c1", { maConn: { peerConnection: pc } })).toBe(true);
    expect(watch.has("c1")).toBe(true);
    const verdict = watch.settled("c1");
    vi.advanceTimersByTime(WEBRTC_CONNECT_GRACE_MS - 1);
    expect(phantoms).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(phantoms).toEqual(["c1"]);
    expect(connected).toEqual([]);
    expect(watch.has("c1")).toBe(false);
    return expect(verdict).resolves.toBe(false);
  });

  // "new" too. Soak, with every tab's trace merged: the answering tab's libp2p opened its side
  // when the dialler closed the signalling stream, and its busy page still read the peer
  // connection as "new"; closed at once as a phantom, the pair set WebRTC up a second time.
  it.each(["connecting", "new"])(
    "a peer connection still %s becomes a direct connection as soon as it connects",
    async (state) => {
      vi.useFakeTimers();
      const phantoms: string[] = [];
      const connected: string[] = [];
      const watch = new UnconfirmedWebRtcConnections(
        (id) => phantoms.push(id),
        (id) => connected.push(id),
      );
      const pc = new FakePeerConnection(state);
      expect(watch.watch("c1", { maConn: { peerConnection: pc } })).toBe(true);
      const verdict = watch.settled("c1");
      vi.advanceTimersByTime(300);
      pc.moveTo("connected");
      expect(connected).toEqual(["c1"]);
      expect(watch.has("c1")).toBe(false);
      await expect(verdict).resolves.toBe(true);
      vi.advanceTimersByTime(10_000);
      expect(phantoms).toEqual([]);
    },
  );

  it("watches only peer connections that are connecting, and ends a watch when the connection closes", async () => {
    vi.useFakeTimers();
    const phantoms: string[] = [];
    const watch = new UnconfirmedWebRtcConnections(
      (id) => phantoms.push(id),
      () => {},
    );
    for (const state of ["connected", "failed", "closed"]) {
      expect(
        watch.watch(state, { maConn: { peerConnection: new FakePeerConnection(state) } }),
      ).toBe(false);
    }
    expect(watch.watch("other", {})).toBe(false);
    // A peer connection that is not the platform's (node-datachannel's in Node) is left alone.
    const foreign = new EventTarget() as EventTarget & { connectionState: string };
    foreign.connectionState = "connecting";
    expect(watch.watch("foreign", { maConn: { peerConnection: foreign } })).toBe(false);
    expect(watch.settled("other")).toBeUndefined();
    watch.watch("c1", { maConn: { peerConnection: new FakePeerConnection("connecting") } });
    const verdict = watch.settled("c1");
    watch.forget("c1");
    await expect(verdict).resolves.toBe(false);
    vi.advanceTimersByTime(10_000);
    expect(phantoms).toEqual([]);
  });

  it("the endpoint closes one that does not connect in time and counts it as a phantom", async () => {
    const a = await memoryNode();
    const b = await memoryNode();
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const abort = vi.fn();
    const pc = new FakePeerConnection("connecting");
    const connection = {
      ...webRtcConnection(b.endpoint.libp2p.peerId.toString(), "connecting", abort),
      id: "webrtc-unconfirmed",
      maConn: { peerConnection: pc },
    } as unknown as Connection;
    const getConnections = a.endpoint.libp2p.getConnections.bind(a.endpoint.libp2p);
    vi.spyOn(a.endpoint.libp2p, "getConnections").mockImplementation((peer) => [
      ...getConnections(peer),
      connection,
    ]);
    a.endpoint.libp2p.dispatchEvent(new CustomEvent("connection:open", { detail: connection }));
    // Not taken as a direct connection while it is unconfirmed.
    expect(a.endpoint.isConnected?.(b.endpoint.nodeId)).toBe(false);
    vi.advanceTimersByTime(WEBRTC_CONNECT_GRACE_MS);
    expect(abort).toHaveBeenCalledTimes(1);
    expect(a.endpoint.metrics.webRtcPhantomsClosed).toBe(1);
  });

  it("the endpoint takes one whose peer connection connects as direct", async () => {
    const a = await memoryNode();
    const b = await memoryNode();
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const abort = vi.fn();
    const pc = new FakePeerConnection("connecting");
    const connection = {
      ...webRtcConnection(b.endpoint.libp2p.peerId.toString(), "connecting", abort),
      id: "webrtc-unconfirmed",
      maConn: { peerConnection: pc },
    } as unknown as Connection;
    const getConnections = a.endpoint.libp2p.getConnections.bind(a.endpoint.libp2p);
    vi.spyOn(a.endpoint.libp2p, "getConnections").mockImplementation((peer) => [
      ...getConnections(peer),
      connection,
    ]);
    a.endpoint.libp2p.dispatchEvent(new CustomEvent("connection:open", { detail: connection }));
    pc.moveTo("connected");
    expect(a.endpoint.isConnected?.(b.endpoint.nodeId)).toBe(true);
    vi.advanceTimersByTime(10_000);
    expect(abort).not.toHaveBeenCalled();
    expect(a.endpoint.metrics.webRtcPhantomsClosed).toBe(0);
  });
});

import type { Connection } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import type { EndpointEvent } from "@p2panda-web/core/endpoint";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  isPhantomWebRtcConnection,
  peerConnectionState,
} from "../../src/endpoint/webrtc-phantom.ts";
import { memoryNode, stopAll } from "./helpers.ts";

afterEach(stopAll);

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

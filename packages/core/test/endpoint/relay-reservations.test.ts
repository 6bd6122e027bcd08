import { multiaddr } from "@multiformats/multiaddr";
import { describe, expect, it } from "vitest";
import { circuitRelayOf, RelayReservations } from "../../src/endpoint/relay-reservations.ts";
import { Identity } from "../../src/identity/identity.ts";
import { NodeId } from "../../src/ids/node-id.ts";

const peer = (id: NodeId) => NodeId.toPeerId(id).toString();
const circuit = (relay: NodeId, me: NodeId) =>
  multiaddr(`/ip4/10.0.0.1/tcp/4001/ws/p2p/${peer(relay)}/p2p-circuit/webrtc/p2p/${peer(me)}`);

describe("relay reservations: read from our own addresses", () => {
  it("the relay of a circuit address is the /p2p right before /p2p-circuit", async () => {
    const [relay, me] = await Promise.all([Identity.generate(), Identity.generate()]);
    expect(circuitRelayOf(circuit(relay.nodeId, me.nodeId))).toBe(relay.nodeId);
    expect(circuitRelayOf(multiaddr(`/ip4/10.0.0.1/tcp/4001/ws/p2p/${peer(me.nodeId)}`))).toBe(
      undefined,
    );
    expect(circuitRelayOf(multiaddr("/p2p-circuit"))).toBe(undefined);
  });

  it("a relay that is not an Ed25519 peer is not one of ours", () => {
    // An RSA-style (Qm…) peer id cannot be a node id.
    const rsa = "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N";
    expect(circuitRelayOf(multiaddr(`/ip4/10.0.0.1/tcp/1/p2p/${rsa}/p2p-circuit`))).toBe(undefined);
  });

  it("update reports the relays gained and lost since the last call", async () => {
    const [a, b, me] = await Promise.all([
      Identity.generate(),
      Identity.generate(),
      Identity.generate(),
    ]);
    const relays = new RelayReservations();
    expect(relays.update([circuit(a.nodeId, me.nodeId)])).toEqual({
      gained: [a.nodeId],
      lost: [],
    });
    expect(relays.has(a.nodeId)).toBe(true);
    // The same set again: nothing changed.
    expect(relays.update([circuit(a.nodeId, me.nodeId)])).toEqual({ gained: [], lost: [] });
    expect(relays.update([circuit(b.nodeId, me.nodeId)])).toEqual({
      gained: [b.nodeId],
      lost: [a.nodeId],
    });
    expect(relays.list()).toEqual([b.nodeId]);
    expect(relays.update([])).toEqual({ gained: [], lost: [b.nodeId] });
    expect(relays.has(b.nodeId)).toBe(false);
  });
});

import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.ts";
import { TransportInfoPublisher } from "../../src/endpoint/transport-info-publisher.ts";
import { Identity } from "../../src/identity/identity.ts";
import { NodeId } from "../../src/ids/node-id.ts";
import type { NodeInfo } from "../../src/records/node-info.ts";
import {
  type AuthenticatedTransportInfo,
  verifyTransportInfo,
} from "../../src/records/transport-info.ts";

function mapBook() {
  const infos = new Map<NodeId, NodeInfo>();
  return {
    infos,
    nodeInfo: (id: NodeId) => infos.get(id),
    insertNodeInfo: async (info: NodeInfo) => {
      infos.set(info.nodeId, info);
      return true;
    },
  };
}

async function setUp() {
  const identity = await Identity.generate();
  const peer = NodeId.toPeerId(identity.nodeId).toString();
  const addr = (n: number) => `/ip4/10.0.0.${n}/tcp/4001/ws/p2p/${peer}`;
  const book = mapBook();
  const published: AuthenticatedTransportInfo[] = [];
  let current = [addr(1)];
  const publisher = new TransportInfoPublisher({
    identity,
    addressBook: book,
    clock: new ManualClock(1_000),
    addresses: () => current,
    onPublished: (info) => published.push(info),
  });
  const set = (next: string[]) => {
    current = next;
  };
  return { identity, addr, book, published, publisher, set };
}

describe("transport info publisher", () => {
  it("signs and stores the advertised addresses; the same set again is not published", async () => {
    const { identity, addr, book, published, publisher, set } = await setUp();
    publisher.addressesMaybeChanged();
    await publisher.settled;
    expect(published).toHaveLength(1);
    const info = publisher.current as AuthenticatedTransportInfo;
    expect(info.addresses).toEqual([addr(1)]);
    expect(book.infos.get(identity.nodeId)?.transports).toBe(info);
    await expect(verifyTransportInfo(identity.nodeId, info)).resolves.toBeUndefined();
    set([addr(1)]);
    publisher.addressesMaybeChanged();
    await publisher.settled;
    expect(published).toHaveLength(1);
    set([addr(1), addr(2)]);
    publisher.addressesMaybeChanged();
    await publisher.settled;
    expect(published).toHaveLength(2);
    expect(published[1]?.timestamp.isAfter(info.timestamp)).toBe(true);
  });

  it("losing every address is not published; the next non-empty set is", async () => {
    const { addr, published, publisher, set } = await setUp();
    publisher.addressesMaybeChanged();
    await publisher.settled;
    set([]);
    publisher.addressesMaybeChanged();
    await publisher.settled;
    expect(published).toHaveLength(1);
    expect(publisher.current?.addresses).toEqual([addr(1)]);
    set([addr(9)]);
    publisher.addressesMaybeChanged();
    await publisher.settled;
    expect(published.map((i) => i.addresses)).toEqual([[addr(1)], [addr(9)]]);
  });

  it("a newer info of ours from an earlier run is outdone, not undercut", async () => {
    const first = await setUp();
    first.publisher.addressesMaybeChanged();
    await first.publisher.settled;
    const earlier = first.publisher.current as AuthenticatedTransportInfo;
    // A second run with the same identity and book, but a clock far behind the stored stamp.
    const published: AuthenticatedTransportInfo[] = [];
    const again = new TransportInfoPublisher({
      identity: first.identity,
      addressBook: first.book,
      clock: new ManualClock(0),
      addresses: () => [first.addr(1)],
      onPublished: (info) => published.push(info),
    });
    again.addressesMaybeChanged();
    await again.settled;
    expect(published[0]?.timestamp.isAfter(earlier.timestamp)).toBe(true);
  });

  it("publishes nothing after stop", async () => {
    const { published, publisher } = await setUp();
    publisher.stop();
    publisher.addressesMaybeChanged();
    await publisher.settled;
    expect(published).toHaveLength(0);
    expect(publisher.current).toBeUndefined();
  });
});

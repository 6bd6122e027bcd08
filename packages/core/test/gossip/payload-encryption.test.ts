import { afterEach, describe, expect, it } from "vitest";
import { PayloadKey } from "../../src/crypto/payload-key.ts";
import type { GossipHandleEvent } from "../../src/gossip/gossip-handle.ts";
import { TopicSecret } from "../../src/ids/topic-secret.ts";
import { allJoined, GossipCluster, next, receivedText, text } from "./service-helpers.ts";

const secret = TopicSecret.fromName("gossip-payload-encryption");
const topic = secret.topic;
let cluster: GossipCluster;

afterEach(async () => {
  await cluster?.stop();
});

describe("gossip with a payload key", () => {
  it("members read the plaintext; a blind relay sees ciphertext only; a wrong key gets gossip:undecryptable", async () => {
    cluster = new GossipCluster();
    const [a, blind, b, stranger] = [
      await cluster.add(),
      await cluster.add(),
      await cluster.add(),
      await cluster.add(),
    ];
    // A line: a — blind — b — stranger; the blind peer is a neighbour of the writer.
    await cluster.learn(a, blind, topic);
    await cluster.learn(blind, b, topic);
    await cluster.learn(b, stranger, topic);
    const ha = await a.gossip.stream(topic, { payloadKey: secret.payloadKey });
    const hblind = await blind.gossip.stream(topic);
    const hb = await b.gossip.stream(topic, { payloadKey: secret.payloadKey });
    const hs = await stranger.gossip.stream(topic, { payloadKey: PayloadKey.random() });
    await allJoined([ha, hblind, hb, hs]);

    const seenByBlind: Uint8Array[] = [];
    hblind.messages$.subscribe((m) => seenByBlind.push(m.content));
    const undecryptable = next(
      hs.events$,
      (e: GossipHandleEvent) => e.type === "gossip:undecryptable",
    );
    const plaintext = "meet at the usual place";
    const reached = receivedText(hb, plaintext);
    const id = await ha.publish(text(plaintext));
    const delivery = await reached;
    expect(delivery.id).toEqual(id);
    const event = await undecryptable;
    if (event.type === "gossip:undecryptable") {
      expect(event.error.code).toBe("PAYLOAD_UNDECRYPTABLE");
      expect(event.id).toEqual(id);
    }
    await expect.poll(() => seenByBlind.length).toBe(1);
    expect(Buffer.from(seenByBlind[0] as Uint8Array).includes(Buffer.from(plaintext))).toBe(false);
    // Nobody's link went down over it.
    expect(stranger.events.some((e) => e.type === "gossip:peer-refused")).toBe(false);
    expect(b.events.some((e) => e.type === "gossip:peer-refused")).toBe(false);
    expect(hs.neighbours().length).toBeGreaterThan(0);
  });
});

import { describe, expect, it } from "vitest";
import { decodeCbor, encodeCbor } from "../../src/codec/cbor.ts";
import { decodeGossipMessage, gossipMessageTopic } from "../../src/gossip/messages.ts";
import { Topic } from "../../src/ids/topic.ts";

describe("gossipMessageTopic: the topic a gossip message is for", () => {
  it("is the topic whose bytes the message carries, after the wire round trip", () => {
    const topic = Topic.fromName("gossip-message-topic");
    const wire = encodeCbor({ topic: Topic.toBytes(topic), body: { type: "join" } });
    const message = decodeGossipMessage(decodeCbor(wire));
    expect(gossipMessageTopic(message)).toBe(topic);
    expect(Topic.is(gossipMessageTopic(message))).toBe(true);
  });
});

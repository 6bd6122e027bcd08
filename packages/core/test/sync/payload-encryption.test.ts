import { afterEach, describe, expect, it } from "vitest";
import { PayloadKey } from "../../src/crypto/payload-key.ts";
import { TopicSecret } from "../../src/ids/topic-secret.ts";
import type { Operation } from "../../src/sync/operation.ts";
import { validateOperation } from "../../src/sync/validation.ts";
import { holds, nextSyncEvent, SyncCluster, text, untext } from "./service-helpers.ts";

const secret = TopicSecret.fromName("payload-encryption");
const topic = secret.topic;
const lines = ["the first secret line", "the second secret line", "the third secret line"];
let cluster: SyncCluster;

afterEach(async () => {
  await cluster?.stop();
});

function containsAny(bytes: Uint8Array | undefined, needles: readonly string[]): boolean {
  if (bytes === undefined) return false;
  const haystack = Buffer.from(bytes);
  return needles.some((n) => haystack.includes(Buffer.from(n)));
}

async function expectValidChain(ops: readonly Operation[]): Promise<void> {
  let previous: Operation | undefined;
  for (const op of ops) {
    await validateOperation(op, previous);
    previous = op;
  }
}

describe("sync with a payload key: members read, a blind peer holds ciphertext", () => {
  it("a blind peer stores and verifies ciphertext and hands a member who was offline the whole history", async () => {
    cluster = new SyncCluster();
    const [writer, blind] = [await cluster.add(), await cluster.add()];
    const hw = await writer.sync.stream(topic, { payloadKey: secret.payloadKey });
    const hb = await blind.sync.stream(topic);
    await cluster.meshKnown(topic);
    const published: Operation[] = [];
    for (const line of lines) published.push(await hw.publish(text(line)));
    // What the writer gets back carries the plaintext beside the sealed body.
    expect(published.map((op) => untext(op.payload))).toEqual(lines);
    expect(published.some((op) => containsAny(op.body, lines))).toBe(false);
    await holds(hb, 3);

    const held = await blind.logStore.range(writer.id, topic as string);
    expect(held).toHaveLength(3);
    // The signature covers the ciphertext: the blind peer verified and stored a valid chain.
    await expectValidChain(held);
    expect(held.some((op) => containsAny(op.body, lines) || op.payload !== undefined)).toBe(false);
    // Nothing the blind peer was handed (events, operations()) carries plaintext.
    expect((await hb.operations()).some((op) => op.payload !== undefined)).toBe(false);
    for (const event of blind.syncEvents) {
      if (event.type === "sync:operation-received") {
        expect(containsAny(event.operation.body, lines)).toBe(false);
        expect(event.operation.payload).toBeUndefined();
      }
    }

    // The writer leaves; a member who was offline meets only the blind peer.
    await writer.node.stop();
    cluster.gossip.offline(writer);
    const reader = await cluster.add();
    const hr = await reader.sync.stream(topic, { payloadKey: secret.payloadKey });
    await cluster.meshKnown(topic, [blind, reader]);
    await holds(hr, 3);
    const read = await hr.operations();
    expect(read.map((op) => untext(op.payload))).toEqual(lines);
    expect(reader.syncEvents.some((e) => e.type === "sync:payload-undecryptable")).toBe(false);
    const received = reader.syncEvents.filter((e) => e.type === "sync:operation-received");
    expect(
      received
        .map((e) => e.type === "sync:operation-received" && untext(e.operation.payload))
        .sort(),
    ).toEqual([...lines].sort());
  });

  it("a body the key does not open is reported per operation, stored, and the session goes on", async () => {
    cluster = new SyncCluster();
    const [writer, other] = [await cluster.add(), await cluster.add()];
    const hw = await writer.sync.stream(topic, {
      payloadKey: PayloadKey.random(),
      liveMode: false,
    });
    const ho = await other.sync.stream(topic, { payloadKey: secret.payloadKey, liveMode: false });
    await hw.publish(text("sealed with another key"));
    await hw.publish(text("and another"));
    const finished = nextSyncEvent(other, (e) => e.type === "sync:finished");
    await cluster.meshKnown(topic);
    await holds(ho, 2);
    await finished;
    const undecryptable = other.syncEvents.filter((e) => e.type === "sync:payload-undecryptable");
    expect(undecryptable).toHaveLength(2);
    for (const event of undecryptable) {
      if (event.type !== "sync:payload-undecryptable") continue;
      expect(event.error.code).toBe("PAYLOAD_UNDECRYPTABLE");
      expect(event.remote).toBe(writer.id);
    }
    expect(other.syncEvents.some((e) => e.type === "sync:failed")).toBe(false);
    expect((await ho.operations()).map((op) => op.payload)).toEqual([undefined, undefined]);
  });

  it("a member's ciphertext signed into another author's log does not open (the author is bound)", async () => {
    cluster = new SyncCluster();
    const [writer, forger, reader] = [
      await cluster.add(),
      await cluster.add(),
      await cluster.add(),
    ];
    const hw = await writer.sync.stream(topic, { payloadKey: secret.payloadKey, liveMode: false });
    const original = await hw.publish(text("only the writer said this"));
    // The forger (a blind peer) re-publishes the writer's sealed body as its own operation.
    const hf = await forger.sync.stream(topic, { liveMode: false });
    await hf.publish(original.body as Uint8Array);
    const hr = await reader.sync.stream(topic, { payloadKey: secret.payloadKey, liveMode: false });
    await cluster.meshKnown(topic, [forger, reader]);
    await holds(hr, 1);
    const [copy] = await hr.operations();
    expect(copy?.payload).toBeUndefined();
    await expect
      .poll(() => reader.syncEvents.some((e) => e.type === "sync:payload-undecryptable"))
      .toBe(true);
  });

  it("without a payload key nothing changes: bodies are stored and handed out as written", async () => {
    cluster = new SyncCluster();
    const [a, b] = [await cluster.add(), await cluster.add()];
    const ha = await a.sync.stream(topic, { liveMode: false });
    const hb = await b.sync.stream(topic, { liveMode: false });
    const op = await ha.publish(text("plain"));
    expect(untext(op.body)).toBe("plain");
    expect(op.payload).toBeUndefined();
    await cluster.meshKnown(topic);
    await holds(hb, 1);
    expect(untext((await hb.operations())[0]?.body)).toBe("plain");
  });
});

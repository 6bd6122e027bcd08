import { describe, expect, it } from "vitest";
import { DecodeError } from "../../src/codec/cbor.ts";
import { type MessageChannel, memoryChannelPair } from "../../src/codec/message-channel.ts";
import type { NodeId } from "../../src/ids/node-id.ts";
import { SyncProtocolError, UnexpectedStreamClosureError } from "../../src/sync/errors.ts";
import { runProtocol, type SyncProtocol } from "../../src/sync/protocol.ts";
import { SyncSession } from "../../src/sync/session.ts";
import { MemoryLogStore, MemoryTopicStore } from "../../src/sync/store/memory.ts";

/**
 * A grow-only set of strings, synced through the same seam as log sync: each side sends its
 * whole set once (`["items", [...]]`) and merges what it receives.
 */
class GrowOnlySetProtocol implements SyncProtocol<Set<string>, { type: "added"; item: string }> {
  readonly name = "g-set";
  readonly items: Set<string>;
  constructor(items: Iterable<string>) {
    this.items = new Set(items);
  }
  async run(channel: MessageChannel, emit?: (e: { type: "added"; item: string }) => void) {
    await channel.send(["items", [...this.items]]);
    await channel.close();
    const message = await channel.receive();
    if (message === undefined) throw new UnexpectedStreamClosureError("sync");
    if (!Array.isArray(message) || message[0] !== "items" || !Array.isArray(message[1])) {
      throw new SyncProtocolError("g-set/await-items", String((message as unknown[])?.[0]));
    }
    for (const item of message[1] as unknown[]) {
      if (typeof item !== "string") throw new DecodeError("g-set items are strings");
      if (!this.items.has(item)) {
        this.items.add(item);
        emit?.({ type: "added", item });
      }
    }
    return this.items;
  }
}

const A = "0a".repeat(32) as NodeId;
const B = "0b".repeat(32) as NodeId;

describe("data-type-agnostic seam (spec §6.5)", () => {
  it("runs another data type through the same interface", async () => {
    const a = new GrowOnlySetProtocol(["x", "y"]);
    const b = new GrowOnlySetProtocol(["y", "z"]);
    const added: string[] = [];
    const [ca, cb] = memoryChannelPair(A, B);
    const [ra, rb] = await Promise.all([
      runProtocol(a, ca, (e) => added.push(e.item)),
      runProtocol(b, cb),
    ]);
    expect(ra.ok && [...ra.output].sort()).toEqual(["x", "y", "z"]);
    expect(rb.ok && [...rb.output].sort()).toEqual(["x", "y", "z"]);
    expect(added).toEqual(["z"]);
  });

  it("reports a protocol error as an outcome and aborts the channel", async () => {
    const [ca, cb] = memoryChannelPair(A, B);
    const running = runProtocol(new GrowOnlySetProtocol([]), ca);
    await cb.send(["nonsense"]);
    const outcome = await running;
    expect(!outcome.ok && outcome.error).toBeInstanceOf(SyncProtocolError);
    await expect(cb.receive().then(() => cb.receive())).rejects.toBeDefined();
  });

  it("log sync is one implementation of the same seam", () => {
    const session: SyncProtocol<unknown, unknown> = new SyncSession({
      role: "acceptor",
      logStore: new MemoryLogStore(),
      topicStore: new MemoryTopicStore(),
    });
    expect(session.name).toBe("topic-log-sync");
  });
});

import { describe, expect, it } from "vitest";
import { toHex } from "../../src/bytes.ts";
import { memoryChannelPair } from "../../src/codec/message-channel.ts";
import { nobleEd25519 } from "../../src/identity/ed25519.ts";
import type { NodeId } from "../../src/ids/node-id.ts";
import { Topic } from "../../src/ids/topic.ts";
import type { OperationReceivedEvent } from "../../src/sync/events.ts";
import type { LogId } from "../../src/sync/log-id.ts";
import type { Operation } from "../../src/sync/operation.ts";
import { validateOperation } from "../../src/sync/validation.ts";
import { collect, Peer, runPair } from "./helpers.ts";

const topic = Topic.fromName("e2e");

async function holdings(peer: Peer): Promise<string[]> {
  const logs = await peer.topicStore.resolve(topic);
  const ids: string[] = [];
  for (const [author, logIds] of logs) {
    for (const logId of logIds) {
      for (const op of await peer.logStore.range(author, logId)) ids.push(toHex(op.hash));
    }
  }
  return ids.sort();
}

async function sync(a: Peer, b: Peer) {
  return runPair(
    a.session({ role: "initiator", topic }),
    b.session({ role: "acceptor" }),
    a.id,
    b.id,
  );
}

describe("end to end over memory channels", () => {
  it("e2e_log_sync: catch up, then live mode both ways, then close", async () => {
    const a = await Peer.create(1);
    const b = await Peer.create(2);
    await a.write("a0", 0, topic);
    await b.write("b0", 0, topic);
    const sa = a.session({ role: "initiator", topic, liveMode: true });
    const sb = b.session({ role: "acceptor", liveMode: true });
    const ea = collect(sa);
    const eb = collect(sb);
    const [ca, cb] = memoryChannelPair(a.id, b.id);
    const running = Promise.all([sa.run(ca), sb.run(cb)]);
    const liveB = new Promise<OperationReceivedEvent>((resolve) =>
      sb.events$.subscribe((e) => {
        if (e.type === "sync:operation-received" && e.phase === "live") resolve(e);
      }),
    );
    const liveA = new Promise<OperationReceivedEvent>((resolve) =>
      sa.events$.subscribe((e) => {
        if (e.type === "sync:operation-received" && e.phase === "live") resolve(e);
      }),
    );
    const a1 = await a.write("a1", 0, topic);
    const b1 = await b.write("b1", 0, topic);
    sa.publish(a1);
    sb.publish(b1);
    expect((await liveB).operation.hash).toEqual(a1.hash);
    expect((await liveA).operation.hash).toEqual(b1.hash);
    sa.close();
    const [ma, mb] = await running;
    expect(ma.sentLiveOperations).toBe(1);
    expect(mb.receivedLiveOperations).toBe(1);
    expect(ea.at(-1)?.type).toBe("sync:live-finished");
    expect(eb.at(-1)?.type).toBe("sync:live-finished");
    expect(await holdings(a)).toEqual(await holdings(b));
    expect(await holdings(a)).toHaveLength(4);
  });

  it("offline catch-up: A writes 500 operations; B syncs and holds all 500 verified in log order", async () => {
    const a = await Peer.create(1);
    const b = await Peer.create(2);
    for (let i = 0; i < 500; i++) await a.write(`entry ${i}`, 0, topic);
    const [, mb] = await runPair(
      a.session({ role: "initiator", topic }),
      b.session({ role: "acceptor", verifier: nobleEd25519 }),
      a.id,
      b.id,
    );
    expect(mb.storedOperations).toBe(500);
    const ops = await b.logStore.range(a.id, 0);
    expect(ops.map((o) => o.header.seqNum)).toEqual([...Array(500).keys()]);
    let previous: Operation | undefined;
    for (const op of ops) {
      await validateOperation(op, previous);
      previous = op;
    }
    expect(new TextDecoder().decode(ops[499]?.body)).toBe("entry 499");
  });

  it("e2e_three_party_sync: three nodes with disjoint writes converge", async () => {
    const [a, b, c] = await Promise.all([Peer.create(1), Peer.create(2), Peer.create(3)]);
    for (let i = 0; i < 20; i++) {
      await a.write(`a${i}`, 0, topic);
      await b.write(`b${i}`, i % 2, topic);
      await c.write(`c${i}`, "c", topic);
    }
    // A round with every pair at once, then a second: what B learned from C reaches A.
    for (let round = 0; round < 2; round++) {
      await Promise.all([sync(a, b), sync(b, c), sync(c, a)]);
    }
    const all = await holdings(a);
    expect(all).toHaveLength(60);
    expect(await holdings(b)).toEqual(all);
    expect(await holdings(c)).toEqual(all);
  });

  it("a node forwards live operations between sessions (what a manager does)", async () => {
    const [a, b, c] = await Promise.all([Peer.create(1), Peer.create(2), Peer.create(3)]);
    // A's log starts after the sessions did: the app's rule says it belongs to the topic.
    const isTopicLog = (_topic: Topic, _author: NodeId, logId: LogId) => logId === 0;
    const ab = a.session({ role: "initiator", topic, liveMode: true });
    const ba = b.session({ role: "acceptor", liveMode: true, isTopicLog });
    const bc = b.session({ role: "initiator", topic, liveMode: true });
    const cb = c.session({ role: "acceptor", liveMode: true, isTopicLog });
    ba.events$.subscribe((e) => {
      if (e.type === "sync:operation-received") bc.publish(e.operation);
    });
    const atC = new Promise<Operation>((resolve) =>
      cb.events$.subscribe((e) => {
        if (e.type === "sync:operation-received") resolve(e.operation);
      }),
    );
    const [c1, c2] = memoryChannelPair(a.id, b.id);
    const [c3, c4] = memoryChannelPair(b.id, c.id);
    const running = Promise.all([ab.run(c1), ba.run(c2), bc.run(c3), cb.run(c4)]);
    const op = await a.write("hello C", 0, topic);
    ab.publish(op);
    expect((await atC).hash).toEqual(op.hash);
    expect((await c.logStore.latest(a.id, 0))?.hash).toEqual(op.hash);
    ab.close();
    bc.close();
    await running;
  });
});

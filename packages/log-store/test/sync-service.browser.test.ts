// SyncService with its stores in Chromium's real IndexedDB: a node that was offline catches up
// on a whole log, and everything it received is still there, verified, after the database is
// closed and opened again (a closed and reopened tab).
import { Topic } from "@p2panda-web/core";
import { validateOperation } from "@p2panda-web/core/sync";
import { afterEach, describe, expect, it } from "vitest";
import { holds, SyncCluster, text } from "../../core/test/sync/service-helpers.ts";
import { openIndexedDbSyncStores } from "../src/index.ts";

const run = Math.random().toString(36).slice(2);
let cluster: SyncCluster | undefined;

afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

describe("sync service over IndexedDB (Chromium)", () => {
  it("B, offline while A wrote 200 operations, catches up; a reopened database still has them", async () => {
    const topic = Topic.fromName(`browser-sync-${run}`);
    cluster = new SyncCluster();
    const storesA = await openIndexedDbSyncStores(`sync-a-${run}`);
    const storesB = await openIndexedDbSyncStores(`sync-b-${run}`);
    const a = await cluster.add(storesA);
    const b = await cluster.add(storesB);
    await cluster.meshKnown(topic);
    cluster.network.setOffline(b.id, true);
    const ha = await a.sync.stream(topic, { liveMode: false });
    for (let i = 0; i < 200; i++) await ha.publish(text(`op ${i}`));
    cluster.network.setOffline(b.id, false);
    const hb = await b.sync.stream(topic, { liveMode: false });
    await holds(hb, 200, 30_000);
    await cluster.stop();
    cluster = undefined;
    await storesA.close();
    await storesB.close();

    const reopened = await openIndexedDbSyncStores(`sync-b-${run}`);
    try {
      const logs = await reopened.topicStore.resolve(topic);
      expect([...logs.keys()]).toContain(a.identity.nodeId);
      const ops = await reopened.logStore.range(a.identity.nodeId, ha.logId);
      expect(ops.map((op) => op.header.seqNum)).toEqual([...Array(200).keys()]);
      let previous: (typeof ops)[number] | undefined;
      for (const op of ops) {
        await validateOperation(op, previous);
        previous = op;
      }
    } finally {
      await reopened.close();
    }
  }, 60_000);
});

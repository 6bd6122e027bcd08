// The Node.js joinTopic: two processes' worth of nodes on loopback WebSockets, one the other's
// bootstrap, and the key and log kept in a data directory across restarts.
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { filter, firstValueFrom, timeout } from "rxjs";
import { describe, expect, it } from "vitest";
import { IDENTITY_FILE, joinTopic } from "../src/node/index.ts";
import { LOOPBACK, tempDirPerTest } from "./node-fixtures.ts";

const tempDir = tempDirPerTest("p2panda-join-");

describe("joinTopic (Node.js)", () => {
  it("keeps the key (0600) and the log in the data dir across restarts", async () => {
    const dataDir = join(tempDir(), "a");
    const first = await joinTopic({ topic: "node join: keep", dataDir, endpoint: LOOPBACK });
    await first.log.append("kept");
    await first.leave();
    const key = await readFile(join(dataDir, IDENTITY_FILE), "utf8");
    expect(key.trim()).toMatch(/^[0-9a-f]{64}$/);
    expect((await stat(join(dataDir, IDENTITY_FILE))).mode & 0o777).toBe(0o600);

    const again = await joinTopic({ topic: "node join: keep", dataDir, endpoint: LOOPBACK });
    expect(again.node.identity.nodeId).toBe(first.node.identity.nodeId);
    expect((await again.log.history()).map((e) => e.text())).toEqual(["kept"]);
    await again.leave();
  });

  it("exchanges a message and a log entry with a node it bootstraps from", async () => {
    const topic = "node join: pair";
    const a = await joinTopic({ topic, endpoint: LOOPBACK });
    const address = a.node.endpoint.listenAddresses().find((x) => x.includes("/ws"));
    expect(address).toBeDefined();
    const b = await joinTopic({ topic, bootstrap: address as string, endpoint: LOOPBACK });
    try {
      const received = firstValueFrom(a.messages$.pipe(timeout(20_000)));
      await b.publish("from b"); // queued until discovery and the overlay bring a in
      expect((await received).from).toBe(b.node.identity.nodeId);
      const synced = firstValueFrom(
        b.log.operations$.pipe(
          filter((e) => e.author === a.node.identity.nodeId),
          timeout(20_000),
        ),
      );
      await a.log.append("from a");
      expect((await synced).text()).toBe("from a");
    } finally {
      await Promise.all([a.leave(), b.leave()]);
    }
  });
});

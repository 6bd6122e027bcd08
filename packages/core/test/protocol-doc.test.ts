// docs/protocol.md is what a second implementation is written from: the constants it states
// must be the ones this code uses.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { toHex } from "../src/bytes.ts";
import { NetworkId, ProtocolName, protocolId } from "../src/ids/network-id.ts";
import { SYNC_TOPIC_MIX } from "../src/sync/sync-service.ts";

const doc = readFileSync(new URL("../../../docs/protocol.md", import.meta.url), "utf8");

describe("docs/protocol.md", () => {
  it("lists each protocol's name and its id on the default network as the code derives it", () => {
    const rows = [
      ...doc.matchAll(/^\| \w[\w ]* \| `(p2panda\/[^`]+)` \| `(\/p2panda\/[0-9a-f]{64})` \|$/gm),
    ];
    expect(rows.map((r) => r[1]).sort()).toEqual(Object.values(ProtocolName).sort());
    for (const [, name, id] of rows) {
      expect(id).toBe(protocolId(name as string, NetworkId.DEFAULT));
    }
  });

  it("states the default network id and the sync topic's mixing constant", () => {
    expect(doc).toContain(`\`${NetworkId.DEFAULT}\``);
    expect(doc).toContain(toHex(SYNC_TOPIC_MIX));
  });
});

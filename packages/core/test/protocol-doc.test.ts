// docs/protocol.md is what a second implementation is written from: the constants it states
// must be the ones this code uses.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { toHex } from "../src/bytes.ts";
import { DEFAULT_MAX_CBOR_DEPTH } from "../src/codec/cbor.ts";
import { DEFAULT_MAX_FRAME_SIZE } from "../src/codec/framing.ts";
import {
  DEFAULT_FRAME_TIMEOUT_MS,
  DEFAULT_RECEIVE_TIMEOUT_MS,
} from "../src/codec/message-channel.ts";
import { DEFAULT_DISCOVERY_MANAGER_CONFIG } from "../src/discovery/discovery-manager.ts";
import {
  DEFAULT_MAX_TOPIC_HASHES,
  DEFAULT_MAX_TRANSPORT_INFOS,
} from "../src/discovery/messages.ts";
import { DEFAULT_ENDPOINT_LIMITS } from "../src/endpoint/endpoint-options.ts";
import { DEFAULT_GOSSIP_LIMITS } from "../src/gossip/config.ts";
import {
  DEFAULT_GOSSIP_FIRST_MESSAGE_TIMEOUT_MS,
  DEFAULT_GOSSIP_KEEP_ALIVE_MS,
  DEFAULT_GOSSIP_LINK_GRACE_MS,
  GOSSIP_MAX_FRAME_SIZE,
} from "../src/gossip/gossip-service.ts";
import { NetworkId, ProtocolName, protocolId } from "../src/ids/network-id.ts";
import { MAX_ADDRESS_LENGTH, MAX_TRANSPORT_ADDRESSES } from "../src/records/transport-info.ts";
import { MAX_HEADER_SIZE } from "../src/sync/header.ts";
import { MAX_LOG_ID_SIZE } from "../src/sync/log-id.ts";
import { DEFAULT_MAX_LOGS_IN_HAVE, DEFAULT_MAX_OPERATION_SIZE } from "../src/sync/log-sync.ts";
import { DEFAULT_SYNC_FIRST_MESSAGE_TIMEOUT_MS } from "../src/sync/log-sync-protocol.ts";
import { DEFAULT_SYNC_COOL_DOWN_MS } from "../src/sync/remote-fault.ts";
import { SYNC_TOPIC_MIX } from "../src/sync/sync-service.ts";

const n = (value: number) => value.toLocaleString("en-US");
const s = (ms: number) => `${ms / 1000} s`;

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

  it("states the limits the code applies, in its table of limits", () => {
    const gossip = DEFAULT_GOSSIP_LIMITS;
    const discovery = DEFAULT_DISCOVERY_MANAGER_CONFIG;
    const rows = [
      `| frame (discovery, sync) | ${DEFAULT_MAX_FRAME_SIZE / 1024 / 1024} MiB |`,
      `| frame (gossip) | ${GOSSIP_MAX_FRAME_SIZE / 1024} KiB |`,
      `| CBOR nesting | ${DEFAULT_MAX_CBOR_DEPTH} |`,
      `| receive / frame deadline | ${s(DEFAULT_RECEIVE_TIMEOUT_MS)} / ${s(DEFAULT_FRAME_TIMEOUT_MS)} |`,
      `| inbound streams per remote and protocol | ${DEFAULT_ENDPOINT_LIMITS.maxInboundStreamsPerNode} |`,
      `| transport info addresses / address length | ${MAX_TRANSPORT_ADDRESSES} / ${n(MAX_ADDRESS_LENGTH)} characters |`,
      `| discovery session / first message | ${s(discovery.sessionTimeoutMs)} / ${s(discovery.firstMessageTimeoutMs)} |`,
      `| topic hashes / transport infos per message | ${n(DEFAULT_MAX_TOPIC_HASHES)} / ${DEFAULT_MAX_TRANSPORT_INFOS} |`,
      `| gossip content / \`ihave\` entries / shuffle nodes | ${n(gossip.maxMessageSize)} bytes / ${gossip.maxIHaveEntries} / ${gossip.maxShuffleNodes} |`,
      `| gossip rate per link | burst ${gossip.rateLimit.burst}, ${gossip.rateLimit.perSecond}/s |`,
      `| gossip keep-alive / receive deadline / first message | ${s(DEFAULT_GOSSIP_KEEP_ALIVE_MS)} / ${s(DEFAULT_GOSSIP_KEEP_ALIVE_MS + DEFAULT_GOSSIP_LINK_GRACE_MS)} / ${s(DEFAULT_GOSSIP_FIRST_MESSAGE_TIMEOUT_MS)} |`,
      `| operation / header / log id | ${n(DEFAULT_MAX_OPERATION_SIZE)} / ${n(MAX_HEADER_SIZE)} / ${MAX_LOG_ID_SIZE} bytes |`,
      `| logs in \`have\` | ${n(DEFAULT_MAX_LOGS_IN_HAVE)} |`,
      `| sync first message | ${s(DEFAULT_SYNC_FIRST_MESSAGE_TIMEOUT_MS)} |`,
      `| cool-downs: discovery / gossip / sync | ${discovery.misbehaviourCooldownMs / 60_000} min / ${s(gossip.floodCooldownMs)} / ${s(DEFAULT_SYNC_COOL_DOWN_MS)} |`,
    ];
    for (const row of rows) expect(doc).toContain(row);
  });
});

// Hostile input over real libp2p streams (loopback WebSockets), in both roles: a remote that
// sends bytes no honest node sends, or stalls, ends only its own session with a typed reason, is
// counted, and is put on cool-down; the node then still finishes a session with an honest peer,
// and nothing escapes as an unhandled rejection.

import type { Stream } from "@libp2p/interface";
import { Topic, transportKind } from "@p2panda-web/core";
import { filter, firstValueFrom, timeout } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import { encodeCbor } from "../../src/codec/cbor.ts";
import { encodeFrame } from "../../src/codec/framing.ts";
import type {
  DiscoveryEvent,
  DiscoveryFailureReason,
  DiscoveryManagerConfig,
} from "../../src/discovery/index.ts";
import { ProtocolName, protocolId } from "../../src/ids/network-id.ts";
import { NodeId } from "../../src/ids/node-id.ts";
import { failOnUnhandledRejections } from "../unhandled-rejections.ts";
import { type ClusterNode, startClusterNode, stopCluster } from "./libp2p-cluster.ts";

// Short deadlines so that the stall cases take a second, not ten.
const CONFIG: Partial<DiscoveryManagerConfig> = {
  backoff: { initialMs: 0, minIncrementMs: 20, maxIncrementMs: 60, maxMs: 200 },
  sessionTimeoutMs: 1_500,
  firstMessageTimeoutMs: 400,
  misbehaviourCooldownMs: 60_000,
};
const TOPIC = Topic.fromName("hostile-input");

failOnUnhandledRejections();

const nodes: ClusterNode[] = [];
afterEach(async () => {
  await stopCluster(nodes.splice(0));
});

type Role = "accepted" | "initiated";

/** What the hostile remote writes on the discovery stream, by the role the victim plays. */
interface HostileCase {
  readonly what: string;
  readonly bytes: (victimRole: Role) => Uint8Array;
  /** Close our write side after the bytes (else the stream is held open). */
  readonly thenEnd?: boolean;
  readonly reason: DiscoveryFailureReason;
}

function varint(n: number): Uint8Array {
  const out: number[] = [];
  do {
    out.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n >>>= 7;
  } while (n > 0);
  return Uint8Array.from(out);
}

// `{ "__proto__": 1 }` spelled out: a JS object literal would set the prototype instead.
const PROTO_KEYED = Uint8Array.from([0xa1, 0x69, ...new TextEncoder().encode("__proto__"), 0x01]);
const wrongStep = (victimRole: Role) =>
  encodeCbor(
    victimRole === "accepted"
      ? { type: "nodes", transportInfos: [] }
      : { type: "alice-salt-half", saltHalf: new Uint8Array(32) },
  );

const CASES: HostileCase[] = [
  {
    what: "a map keyed __proto__",
    bytes: () => encodeFrame(PROTO_KEYED),
    reason: "malformed-frame",
  },
  {
    what: "bytes that are not CBOR",
    bytes: () => encodeFrame(Uint8Array.of(0xff)),
    reason: "malformed-frame",
  },
  {
    what: "a frame announced above 1 MiB",
    bytes: () => varint(1024 * 1024 + 1),
    reason: "frame-too-large",
  },
  {
    what: "a message out of protocol order",
    bytes: (r) => encodeFrame(wrongStep(r)),
    reason: "unexpected-message",
  },
  {
    what: "half a frame, then the end of the stream",
    bytes: (r) => encodeFrame(wrongStep(r)).subarray(0, 3),
    thenEnd: true,
    reason: "malformed-frame",
  },
  { what: "nothing at all (a stall)", bytes: () => new Uint8Array(0), reason: "timeout" },
  {
    what: "half a frame, then nothing (a stall mid-frame)",
    bytes: (r) => encodeFrame(wrongStep(r)).subarray(0, 3),
    reason: "timeout",
  },
];

function wsAddress(node: ClusterNode): string {
  const ws = node.endpoint.addresses().find((a) => transportKind(a) === "websockets");
  if (ws === undefined) throw new Error("no WebSocket address");
  return ws;
}

function nextEvent<T extends DiscoveryEvent["type"]>(
  node: ClusterNode,
  type: T,
  match: (event: Extract<DiscoveryEvent, { type: T }>) => boolean,
  ms = 15_000,
): Promise<Extract<DiscoveryEvent, { type: T }>> {
  const event = firstValueFrom(
    node.service.events$.pipe(
      filter((e): e is Extract<DiscoveryEvent, { type: T }> => e.type === type),
      filter(match),
      timeout(ms),
    ),
  );
  // A test that failed early leaves this unawaited; its rejection at stop is not the node's.
  event.catch(() => {});
  return event;
}

async function writeHostile(stream: Stream, hostile: HostileCase, victimRole: Role): Promise<void> {
  const bytes = hostile.bytes(victimRole);
  if (bytes.length > 0) stream.send(bytes);
  if (hostile.thenEnd) await stream.close();
}

/** The failure the victim reports for the hostile remote: typed, blamed, counted. */
async function expectBlamed(
  victim: ClusterNode,
  failed: Extract<DiscoveryEvent, { type: "discovery:session-failed" }>,
  hostile: HostileCase,
  role: Role,
): Promise<void> {
  expect(failed.role).toBe(role);
  expect(failed.reason).toBe(hostile.reason);
  expect(failed.error.reason).toBe(hostile.reason);
  expect(failed.misbehaving).toBe(true);
  expect(victim.service.metrics.failuresByReason[hostile.reason]).toBeGreaterThanOrEqual(1);
  expect(victim.service.metrics.misbehavingSessions).toBeGreaterThanOrEqual(1);
}

describe("a hostile initiator: the accepting node blames it, cools it down, and serves honest peers", () => {
  it.each(CASES)(
    "$what → $reason",
    async (hostile) => {
      const victim = await startClusterNode([TOPIC], [], CONFIG);
      nodes.push(victim);
      await victim.service.start();
      const attacker = await startClusterNode([], [wsAddress(victim)], CONFIG);
      nodes.push(attacker);
      const hostileId = attacker.endpoint.nodeId;
      const protocol = protocolId(ProtocolName.discovery, attacker.endpoint.networkId);
      const victimPeer = NodeId.toPeerId(victim.endpoint.nodeId);

      await attacker.endpoint.dial(victim.endpoint.nodeId);
      const failed = nextEvent(
        victim,
        "discovery:session-failed",
        (e) => e.remoteNodeId === hostileId,
      );
      const raw = await attacker.endpoint.libp2p.dialProtocol(victimPeer, protocol);
      await writeHostile(raw, hostile, "accepted");
      await expectBlamed(victim, await failed, hostile, "accepted");

      // On cool-down: its next session is refused at once, before it takes a slot.
      const refused = nextEvent(
        victim,
        "discovery:session-refused",
        (e) => e.remoteNodeId === hostileId,
      );
      await attacker.endpoint.libp2p.dialProtocol(victimPeer, protocol);
      expect((await refused).why).toBe("cooling-down");

      const honest = await startClusterNode([TOPIC], [wsAddress(victim)], CONFIG);
      nodes.push(honest);
      const served = nextEvent(
        victim,
        "discovery:session-ended",
        (e) => e.remoteNodeId === honest.endpoint.nodeId,
      );
      await honest.service.start();
      expect((await served).result.topics.has(TOPIC)).toBe(true);
    },
    30_000,
  );
});

describe("a hostile acceptor: the initiating node blames it, its walkers skip it, and it reaches honest peers", () => {
  it.each(CASES)(
    "$what → $reason",
    async (hostile) => {
      const attacker = await startClusterNode([], [], CONFIG);
      nodes.push(attacker);
      const held: Stream[] = [];
      await attacker.endpoint.libp2p.handle(
        protocolId(ProtocolName.discovery, attacker.endpoint.networkId),
        (stream) => {
          held.push(stream);
          // Answers the victim's first message, as a Bob would.
          stream.addEventListener(
            "message",
            () => writeHostile(stream, hostile, "initiated").catch(() => {}),
            { once: true },
          );
        },
      );
      const honest = await startClusterNode([TOPIC], [], CONFIG);
      nodes.push(honest);
      await honest.service.start();
      const victim = await startClusterNode(
        [TOPIC],
        [wsAddress(attacker), wsAddress(honest)],
        CONFIG,
      );
      nodes.push(victim);
      const hostileId = attacker.endpoint.nodeId;

      const failed = nextEvent(
        victim,
        "discovery:session-failed",
        (e) => e.remoteNodeId === hostileId,
      );
      const skipped = nextEvent(
        victim,
        "discovery:node-skipped",
        (e) => e.remoteNodeId === hostileId && e.why === "cooling-down",
      );
      const reached = nextEvent(
        victim,
        "discovery:session-ended",
        (e) => e.remoteNodeId === honest.endpoint.nodeId,
      );
      await victim.service.start();
      await expectBlamed(victim, await failed, hostile, "initiated");
      await skipped;
      expect((await reached).result.topics.has(TOPIC)).toBe(true);
    },
    30_000,
  );
});

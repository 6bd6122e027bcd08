// The node as a user runs it, attacked as issue 11's attacker did: `p2panda-web bootstrap` and
// `p2panda-web node --gossip --sync` as real processes, and from this test process fresh
// identities that open streams of every protocol (discovery, gossip, sync on the node; the relay
// on the bootstrap) and send hostile bytes. Node ends a process on an unhandled rejection, so
// both must still be running afterwards, say nothing of one, and the node must still chat and
// sync with an honest peer.
import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AddressBook, memoryAddressBookStore } from "@p2panda-web/address-book";
import type { ListeningLine } from "@p2panda-web/cli";
import {
  createNode,
  createNodeInfo,
  encodeCbor,
  encodeFrame,
  Identity,
  NetworkId,
  NodeId,
  ProtocolName,
  protocolId,
  Topic,
  transportKind,
} from "@p2panda-web/core";
import type { Endpoint } from "@p2panda-web/core/endpoint";
import { filter, firstValueFrom, timeout } from "rxjs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loopbackEndpoint } from "../../core/test/endpoint/loopback.ts";
import { type CliProcess, startCli } from "./cli-process.ts";

let dir: string;
const running: ChildProcess[] = [];
const attackers: { endpoint: Endpoint; book: AddressBook }[] = [];
/** Nodes the attackers run on their endpoints (stopped before the endpoints). */
const nodes: { stop(): Promise<void> }[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "p2panda-cli-hostile-"));
});
afterEach(async () => {
  for (const node of nodes.splice(0)) await node.stop();
  for (const a of attackers.splice(0)) {
    await a.endpoint.stop().catch(() => {});
    await a.book.close().catch(() => {});
  }
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  await rm(dir, { recursive: true, force: true });
});

function cli(args: string[], stdin = false): CliProcess {
  const process = startCli(args, { stdin });
  running.push(process.child);
  return process;
}

/** `{ "__proto__": bytes }` as it travels on the wire (an own, enumerable key). */
function protoTrap(bytes: Uint8Array): Record<string, unknown> {
  const trap: Record<string, unknown> = {};
  Object.defineProperty(trap, "__proto__", { value: bytes, enumerable: true });
  return trap;
}

const topicName = "hostile cli";
const topicBytes = Topic.toBytes(Topic.fromName(topicName));
/** `{ "x": { "x": … 1 } }`, `levels` maps deep, written byte by byte (no encoder recurses that far). */
const deep = (levels: number) =>
  new Uint8Array([...Array.from({ length: levels }, () => [0xa1, 0x61, 0x78]).flat(), 0x01]);

/** What each attacker sends on each stream: one hostile input per attacker identity. */
const payloads: [string, Uint8Array][] = [
  [
    "__proto__ trap",
    encodeFrame(encodeCbor({ topic: protoTrap(topicBytes), body: { type: "join" } })),
  ],
  ["3,000 maps deep", encodeFrame(deep(3_000))],
  ["garbage CBOR", encodeFrame(new Uint8Array([0xff, 0xfe, 0x1c, 0x00]))],
  ["frame announcing 200 MB", new Uint8Array([0x80, 0x80, 0xe8, 0x5f, 1, 2, 3])],
  ["half a frame, then silence", encodeFrame(new Uint8Array(4_000)).slice(0, 100)],
  ["a valid message of another kind", encodeFrame(encodeCbor({ type: "done" }))],
];

/** A fresh identity with a loopback endpoint that knows the targets' addresses. */
async function attacker(targets: ListeningLine[]): Promise<Endpoint> {
  return (await attackerWithBook(targets)).endpoint;
}

async function attackerWithBook(
  targets: ListeningLine[],
): Promise<{ identity: Identity; endpoint: Endpoint; book: AddressBook }> {
  const book = await AddressBook.open(memoryAddressBookStore());
  const identity = await Identity.generate();
  const endpoint = await loopbackEndpoint({ identity, addressBook: book });
  attackers.push({ endpoint, book });
  for (const target of targets) {
    const addresses = target.addrs.filter((a) => transportKind(a) === "websockets");
    await book.insertNodeInfo(
      createNodeInfo(target.nodeId as NodeId, {
        bootstrap: true,
        transports: { kind: "trusted", addresses },
      }),
    );
  }
  return { identity, endpoint, book };
}

/** Opens `protocol` to `target` and writes `bytes` raw; returns whether the stream opened. */
async function send(
  from: Endpoint,
  target: string,
  protocol: string,
  bytes: Uint8Array,
): Promise<boolean> {
  try {
    await from.dial(target as NodeId);
    const stream = await from.libp2p.dialProtocol(NodeId.toPeerId(target as NodeId), protocol, {
      signal: AbortSignal.timeout(5_000),
    });
    stream.send(bytes);
    return true;
  } catch {
    return false; // refused (cool-down, caps): also fine, as long as the target lives on
  }
}

describe("hostile peers against the CLI processes", () => {
  it("every protocol gets every hostile input; both processes live on and the node still chats and syncs", async () => {
    const boot = cli(["bootstrap", "--allow-private-addresses"]);
    const bootLine = await boot.line<ListeningLine>((l) => l.event === "listening");
    const ws = bootLine.addrs.find((a) => transportKind(a) === "websockets") as string;
    const nodeArgs = (name: string) => [
      "node",
      "--allow-private-addresses",
      "--bootstrap",
      ws,
      "--topic",
      topicName,
      "--gossip",
      "--sync",
      "--data-dir",
      join(dir, name),
    ];
    const victim = cli(nodeArgs("victim"), true);
    const victimLine = await victim.line<ListeningLine>((l) => l.event === "listening");

    const network = NetworkId.DEFAULT;
    const onVictim = [ProtocolName.discovery, ProtocolName.gossip, ProtocolName.logSync].map(
      (name) => protocolId(name, network),
    );
    const relayHop = "/libp2p/circuit/relay/0.2.0/hop";
    let opened = 0;
    for (const [, bytes] of payloads) {
      const evil = await attacker([bootLine, victimLine]);
      for (const protocol of onVictim) {
        if (await send(evil, victimLine.nodeId, protocol, bytes)) opened++;
      }
      if (await send(evil, bootLine.nodeId, relayHop, bytes)) opened++;
      // Discovery on the bootstrap too: it accepts every walker.
      if (await send(evil, bootLine.nodeId, onVictim[0] as string, bytes)) opened++;
    }
    expect(opened).toBeGreaterThanOrEqual(payloads.length * 3);

    // Streams the victim opens itself. A second identity answers every gossip and discovery
    // stream with the __proto__ trap (the remote crash of issue 11 went through such a stream).
    const second = await attackerWithBook([]);
    let trapped = 0;
    const trapsSprung = new Promise<void>((resolve) => {
      for (const name of [ProtocolName.gossip, ProtocolName.discovery]) {
        second.endpoint.accept(
          name,
          async (channel) => {
            await channel.send({ topic: protoTrap(topicBytes), body: { type: "join" } });
            trapped++;
            resolve();
            await channel.receive({ timeoutMs: 3_000 }).catch(() => undefined);
          },
          { receiveTimeoutMs: 0 },
        );
      }
    });
    // The first identity hands the victim the second's signed addresses in a discovery session
    // (as any walker would), joins the victim's overlay, and names the second in a forward-join.
    const first = await attackerWithBook([victimLine]);
    const secondInfo = second.book.nodeInfo(second.endpoint.nodeId)?.transports;
    await first.book.insertNodeInfo(
      createNodeInfo(second.endpoint.nodeId, { transports: secondInfo }),
    );
    const node = await createNode({
      identity: first.identity,
      addressBook: first.book,
      endpoint: first.endpoint,
      gossip: false,
      sync: false,
      start: false,
    });
    nodes.push(node);
    const sessionDone = firstValueFrom(
      node.discovery.events$.pipe(
        filter((e) => e.type === "discovery:session-ended" && e.remoteNodeId === victimLine.nodeId),
        timeout(20_000),
      ),
    );
    await node.start();
    await sessionDone;
    const gossip = await first.endpoint.connect(victimLine.nodeId as NodeId, ProtocolName.gossip, {
      keepAliveIntervalMs: 1_000,
    });
    await gossip.send({ topic: topicBytes, body: { type: "join" } });
    await gossip.send({
      topic: topicBytes,
      body: {
        type: "forward-join",
        node: NodeId.toBytes(second.endpoint.nodeId),
        ttl: 0,
      },
    });
    await trapsSprung;
    expect(trapped).toBeGreaterThanOrEqual(1);

    // An honest node arrives: it finds the victim through the bootstrap, chats and syncs.
    const honest = cli(nodeArgs("honest"), true);
    const honestLine = await honest.line<ListeningLine>((l) => l.event === "listening");
    await honest.line(
      (l) => l.event === "gossip-neighbour-up" && l.node === victimLine.nodeId,
      45_000,
    );
    victim.write("still serving");
    await honest.line((l) => l.event === "gossip-message" && l.text === "still serving");
    await honest.line((l) => l.event === "sync-operation" && l.text === "still serving", 30_000);
    honest.write("and hearing");
    await victim.line((l) => l.event === "sync-operation" && l.text === "and hearing");

    // Nobody died, nobody reported an unhandled rejection.
    expect(victim.child.exitCode).toBe(null);
    expect(boot.child.exitCode).toBe(null);
    for (const process of [victim, boot, honest]) {
      expect(process.stderr()).not.toMatch(/unhandled|Uncaught|TypeError|RangeError/i);
    }
    expect(honestLine.nodeId).not.toBe(victimLine.nodeId);
    for (const process of [honest, victim, boot]) {
      process.child.kill("SIGTERM");
      expect(await process.exit).toBe(0);
    }
  }, 120_000);
});

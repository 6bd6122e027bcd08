import { AddressBook, memoryAddressBookStore } from "@p2panda-web/address-book";
import { filter, firstValueFrom, lastValueFrom, Subject, takeUntil, timeout, toArray } from "rxjs";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  type DiscoveryEvent,
  DiscoveryService,
  type DiscoveryServiceOptions,
  PsiBob,
  runDiscoverySession,
} from "../../src/discovery/index.ts";
import { MemoryNetwork } from "../../src/endpoint/memory-network.ts";
import { HybridTimestamp } from "../../src/hybrid-timestamp.ts";
import { Identity } from "../../src/identity/identity.ts";
import { ProtocolName } from "../../src/ids/network-id.ts";
import { NodeId } from "../../src/ids/node-id.ts";
import { Topic } from "../../src/ids/topic.ts";
import { seededRng } from "../../src/random.ts";
import { createNodeInfo } from "../../src/records/node-info.ts";
import { signTransportInfo, transportInfoToWire } from "../../src/records/transport-info.ts";
import { VirtualRuntime } from "../../src/runtime/runtime.ts";
import { advanceUntil } from "../virtual-time.ts";

// Fast walkers: the spec's 1–5 s backoff increments would make these tests take minutes.
const FAST = {
  backoff: { initialMs: 0, minIncrementMs: 10, maxIncrementMs: 40, maxMs: 200 },
  misbehaviourCooldownMs: 60_000,
};

interface TestNode {
  identity: Identity;
  book: AddressBook;
  service: DiscoveryService;
  topics: Topic[];
}

const running: DiscoveryService[] = [];
afterEach(async () => {
  for (const service of running.splice(0)) await service.stop();
});

async function signedInfo(identity: Identity, port: number) {
  const peerId = NodeId.toPeerId(identity.nodeId).toString();
  return signTransportInfo(identity, new HybridTimestamp(Date.now(), 0), [
    `/ip4/127.0.0.1/tcp/${port}/p2p/${peerId}`,
  ]);
}

async function makeNode(
  network: MemoryNetwork,
  port: number,
  topics: Topic[],
  bootstrap?: TestNode,
  extra: Partial<DiscoveryServiceOptions> = {},
): Promise<TestNode> {
  const identity = await Identity.generate();
  // On a virtual runtime the book reports connections at the same (virtual) time.
  const book = await AddressBook.open(
    memoryAddressBookStore(),
    extra.runtime !== undefined ? { clock: extra.runtime.clock } : {},
  );
  // What the endpoint does at start: our own signed transport info in our own book.
  await book.insertNodeInfo(
    createNodeInfo(identity.nodeId, { transports: await signedInfo(identity, port) }),
  );
  for (const topic of topics) await book.addTopic(identity.nodeId, topic);
  if (bootstrap !== undefined) {
    await book.insertNodeInfo(
      createNodeInfo(bootstrap.identity.nodeId, {
        bootstrap: true,
        transports: bootstrap.book.nodeInfo(bootstrap.identity.nodeId)?.transports,
      }),
    );
  }
  const service = new DiscoveryService({
    endpoint: network.endpoint(identity.nodeId),
    addressBook: book,
    config: FAST,
    rng: seededRng(port),
    ...extra,
  });
  running.push(service);
  return { identity, book, service, topics };
}

/** Every node knows every other node that shares one of its topics, under those topics. */
function converged(nodes: TestNode[]): boolean {
  return nodes.every((a) =>
    nodes.every((b) => {
      if (a === b) return true;
      const common = a.topics.filter((t) => b.topics.includes(t));
      const known = a.book.nodeTopics(b.identity.nodeId);
      return common.every((t) => known.has(t));
    }),
  );
}

describe("DiscoveryService (spec §4.4) over a memory network", () => {
  it("peer_discovery_in_network: bootstrap + 6 nodes on 3 topics learn exactly their co-topic peers", async () => {
    const network = new MemoryNetwork();
    const runtime = new VirtualRuntime();
    const [t1, t2, t3] = [Topic.fromName("t1"), Topic.fromName("t2"), Topic.fromName("t3")];
    const bootstrap = await makeNode(network, 1, [], undefined, { runtime });
    const nodes: TestNode[] = [];
    const topicSets = [[t1], [t1, t2], [t2], [t2, t3], [t3], [t3, t1]] as Topic[][];
    for (const [i, topics] of topicSets.entries()) {
      nodes.push(await makeNode(network, 10 + i, topics, bootstrap, { runtime }));
    }
    const all = [bootstrap, ...nodes];
    for (const n of all) await n.service.start();
    await advanceUntil(runtime, () => converged(nodes), { limitMs: 30_000 });

    for (const a of nodes) {
      for (const b of all) {
        if (a === b) continue;
        // No node ever learns a topic it does not hold itself.
        for (const t of a.book.nodeTopics(b.identity.nodeId)) expect(a.topics).toContain(t);
      }
      // And it holds every co-topic peer's verified address.
      for (const b of nodes) {
        if (a === b || !a.topics.some((t) => b.topics.includes(t))) continue;
        expect(a.book.nodeInfo(b.identity.nodeId)?.transports?.kind).toBe("authenticated");
      }
    }
    // Walkers moved: each node's walkers visited nodes, and only real nodes other than itself.
    for (const n of nodes) {
      const visited = n.service.walkers().flatMap((w) => w.trail);
      expect(visited.length).toBeGreaterThan(0);
      expect(visited).not.toContain(n.identity.nodeId);
      for (const id of visited) expect(all.map((m) => m.identity.nodeId)).toContain(id);
    }
    const metrics = nodes.map((n) => n.service.metrics);
    expect(metrics.every((m) => m.successfulSessions > 0)).toBe(true);
    expect(metrics.reduce((sum, m) => sum + m.misbehavingSessions, 0)).toBe(0);
  });

  it("a partner that hands out a forged transport info fails the session and nothing of it is stored", async () => {
    const network = new MemoryNetwork();
    const topic = Topic.fromName("forged");
    const forger = await Identity.generate();
    const victim = await Identity.generate();
    const forgedInfo = await signedInfo(victim, 99);
    const signature = forgedInfo.signature.slice();
    signature[0] = (signature[0] as number) ^ 1;
    const forgedWire = transportInfoToWire({ ...forgedInfo, signature });
    network.endpoint(forger.nodeId).accept(ProtocolName.discovery, async (channel) => {
      const bob = new PsiBob({
        myNodeId: forger.nodeId,
        remoteNodeId: channel.remote,
        myTopics: [topic],
        rng: seededRng(7),
        infosToShare: () => new Map([[victim.nodeId, forgedWire]]),
      });
      await runDiscoverySession(channel, bob).catch(() => {});
    });
    const forgerNode = {
      identity: forger,
      book: await AddressBook.open(memoryAddressBookStore()),
    } as TestNode;
    await forgerNode.book.insertNodeInfo(
      createNodeInfo(forger.nodeId, { transports: await signedInfo(forger, 98) }),
    );
    const alice = await makeNode(network, 20, [topic], forgerNode);

    const failed = firstValueFrom(
      alice.service.events$.pipe(
        filter(
          (e): e is Extract<DiscoveryEvent, { type: "discovery:session-failed" }> =>
            e.type === "discovery:session-failed",
        ),
        timeout(10_000),
      ),
    );
    await alice.service.start();
    const event = await failed;
    expect(event.reason).toBe("invalid-transport-info");
    expect(event.misbehaving).toBe(true);
    expect(event.remoteNodeId).toBe(forger.nodeId);
    expect(alice.book.nodeInfo(victim.nodeId)).toBeUndefined();
    // The shared topic of a distrusted session is not stored either.
    expect(alice.book.nodeTopics(forger.nodeId).size).toBe(0);
    expect(alice.service.metrics.misbehavingSessions).toBe(1);
  });

  it("an info it holds already, byte for byte, is not verified again; one that differs only in its signature is, and fails", async () => {
    const topic = Topic.fromName("held-infos");
    const known = await Identity.generate();
    const held = await signedInfo(known, 97);
    const signature = held.signature.slice();
    signature[5] = (signature[5] as number) ^ 1;
    const run = async (handedOut: unknown) => {
      const network = new MemoryNetwork();
      const partner = await Identity.generate();
      network.endpoint(partner.nodeId).accept(ProtocolName.discovery, async (channel) => {
        const bob = new PsiBob({
          myNodeId: partner.nodeId,
          remoteNodeId: channel.remote,
          myTopics: [topic],
          rng: seededRng(8),
          infosToShare: () => new Map([[known.nodeId, handedOut]]),
        });
        await runDiscoverySession(channel, bob).catch(() => {});
      });
      const partnerNode = {
        identity: partner,
        book: await AddressBook.open(memoryAddressBookStore()),
      } as TestNode;
      await partnerNode.book.insertNodeInfo(
        createNodeInfo(partner.nodeId, { transports: await signedInfo(partner, 96) }),
      );
      const alice = await makeNode(network, 21, [topic], partnerNode);
      await alice.book.insertNodeInfo(createNodeInfo(known.nodeId, { transports: held }));
      const outcome = firstValueFrom(
        alice.service.events$.pipe(
          filter(
            (e) => e.type === "discovery:session-ended" || e.type === "discovery:session-failed",
          ),
          timeout(10_000),
        ),
      );
      const verify = vi.spyOn(globalThis.crypto.subtle, "verify");
      try {
        await alice.service.start();
        const event = await outcome;
        return { event, verified: verify.mock.calls.length };
      } finally {
        verify.mockRestore();
      }
    };
    const same = await run(transportInfoToWire(held));
    expect(same.event.type).toBe("discovery:session-ended");
    expect(same.verified).toBe(0);
    const forged = await run(transportInfoToWire({ ...held, signature }));
    expect(forged.event).toMatchObject({
      type: "discovery:session-failed",
      reason: "invalid-transport-info",
    });
    expect(forged.verified).toBe(1);
  });

  it("refuses sessions beyond the accepted-session cap with a typed error and an event", async () => {
    const network = new MemoryNetwork();
    const host = await makeNode(network, 30, [Topic.fromName("cap")]);
    const hostService = new DiscoveryService({
      endpoint: network.endpoint(host.identity.nodeId),
      addressBook: host.book,
      config: { ...FAST, maxAcceptedSessions: 0 },
    });
    running.push(hostService);
    const refused = firstValueFrom(
      hostService.events$.pipe(
        filter((e) => e.type === "discovery:session-refused"),
        timeout(5_000),
      ),
    );
    await hostService.start();
    const guest = await Identity.generate();
    const channel = await network
      .endpoint(guest.nodeId)
      .connect(host.identity.nodeId, ProtocolName.discovery);
    await expect(channel.receive()).rejects.toThrow();
    const event = await refused;
    expect(event.remoteNodeId).toBe(guest.nodeId);
    expect(hostService.metrics.refusedSessions).toBe(1);
  });

  it("a node whose connection failed is skipped, then retried after retryStaleAfterMs", async () => {
    const topic = Topic.fromName("stale-retry");
    const runtime = new VirtualRuntime();
    const run = async (retryStaleAfterMs: number) => {
      const network = new MemoryNetwork();
      const bootstrap = await makeNode(network, 1, [], undefined, { runtime });
      const a = await makeNode(network, 2, [topic], bootstrap, { retryStaleAfterMs, runtime });
      const b = await makeNode(network, 3, [topic], bootstrap, { retryStaleAfterMs, runtime });
      // Each already tried the other once, and that attempt failed (a WebRTC dial can).
      for (const [x, y] of [
        [a, b],
        [b, a],
      ] as const) {
        await x.book.insertNodeInfo(
          createNodeInfo(y.identity.nodeId, {
            transports: y.book.nodeInfo(y.identity.nodeId)?.transports,
          }),
        );
        await x.book.reportConnection(y.identity.nodeId, false);
      }
      let sessions = 0;
      a.service.events$.subscribe((e) => {
        if (e.type === "discovery:session-ended") sessions++;
      });
      for (const n of [bootstrap, a, b]) await n.service.start();
      return { a, b, sessions: () => sessions };
    };

    const never = await run(3_600_000);
    await advanceUntil(runtime, () => never.sessions() >= 15);
    expect(never.a.book.nodeTopics(never.b.identity.nodeId).has(topic)).toBe(false);
    expect(never.a.service.metrics.skippedNodes).toBeGreaterThan(0);

    const retried = await run(50);
    await advanceUntil(runtime, () =>
      retried.a.book.nodeTopics(retried.b.identity.nodeId).has(topic),
    );
  });

  it("a node whose last connection failed is not handed on to others", async () => {
    const network = new MemoryNetwork();
    const bootstrap = await makeNode(network, 1, []);
    const live = await Identity.generate();
    const gone = await Identity.generate();
    for (const [identity, port] of [
      [live, 10],
      [gone, 11],
    ] as const) {
      await bootstrap.book.insertTransportInfo(identity.nodeId, await signedInfo(identity, port));
    }
    // The bootstrap tried the gone one (or saw it leave): its last connection failed.
    await bootstrap.book.reportConnection(gone.nodeId, false);
    // And one whose newest signed info has no address at all.
    const nowhere = await Identity.generate();
    await bootstrap.book.insertTransportInfo(
      nowhere.nodeId,
      await signTransportInfo(nowhere, new HybridTimestamp(Date.now(), 0), []),
    );
    const newcomer = await makeNode(network, 2, [], bootstrap);
    const ended = firstValueFrom(
      newcomer.service.events$.pipe(
        filter((e) => e.type === "discovery:session-ended"),
        timeout(10_000),
      ),
    );
    for (const n of [bootstrap, newcomer]) await n.service.start();
    await ended;
    expect(newcomer.book.nodeInfo(live.nodeId)?.transports).toBeDefined();
    expect(newcomer.book.nodeInfo(gone.nodeId)).toBeUndefined();
    expect(newcomer.book.nodeInfo(nowhere.nodeId)).toBeUndefined();
  });

  it("by default a node with topics hands a stranger only itself and the bootstraps; a node without topics hands out everyone", async () => {
    const network = new MemoryNetwork();
    const member = await makeNode(network, 1, [Topic.random()]);
    const rendezvous = await makeNode(network, 2, []);
    const other = await Identity.generate();
    const bootstrapId = await Identity.generate();
    for (const node of [member, rendezvous]) {
      await node.book.insertTransportInfo(other.nodeId, await signedInfo(other, 10));
      await node.book.insertNodeInfo(
        createNodeInfo(bootstrapId.nodeId, {
          bootstrap: true,
          transports: await signedInfo(bootstrapId, 11),
        }),
      );
    }
    for (const visited of [member, rendezvous]) {
      // A stranger (a topic nobody else has) whose walk starts at `visited`.
      const stranger = await makeNode(network, 3, [Topic.random()], visited);
      const ended = firstValueFrom(
        stranger.service.events$.pipe(
          filter((e) => e.type === "discovery:session-ended"),
          timeout(10_000),
        ),
      );
      for (const n of [visited, stranger]) await n.service.start();
      await ended;
      expect(stranger.book.nodeInfo(visited.identity.nodeId)?.transports).toBeDefined();
      expect(stranger.book.nodeInfo(bootstrapId.nodeId)?.transports).toBeDefined();
      const learnedOther = stranger.book.nodeInfo(other.nodeId)?.transports !== undefined;
      expect(learnedOther).toBe(visited === rendezvous);
      await stranger.service.stop();
      await visited.service.stop();
    }
  });

  it("a node known without any address is never walked to (it could only fail)", async () => {
    const network = new MemoryNetwork();
    const runtime = new VirtualRuntime();
    const bootstrap = await makeNode(network, 1, [], undefined, { runtime });
    const a = await makeNode(network, 2, [], bootstrap, { runtime });
    const nameless = (await Identity.generate()).nodeId;
    await a.book.insertNodeInfo(createNodeInfo(nameless));
    const started: string[] = [];
    let ended = 0;
    a.service.events$.subscribe((e) => {
      if (e.type === "discovery:session-started") started.push(e.remoteNodeId);
      if (e.type === "discovery:session-ended") ended++;
    });
    for (const n of [bootstrap, a]) await n.service.start();
    await advanceUntil(runtime, () => ended >= 6);
    expect(started).not.toContain(nameless);
    expect(started).toContain(bootstrap.identity.nodeId);
  });

  it("stop() completes events$ and ends walking", async () => {
    const network = new MemoryNetwork();
    const node = await makeNode(network, 40, []);
    const done = lastValueFrom(node.service.events$.pipe(takeUntil(new Subject()), toArray()));
    await node.service.start();
    await node.service.stop();
    await expect(done).resolves.toBeInstanceOf(Array);
    expect(node.service.sessions()).toEqual([]);
  });
});

describe("DiscoveryService: a bug inside one session ends that session only", () => {
  it("a TypeError while storing a result fails it with internal-error, blames no one, and walking goes on", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const network = new MemoryNetwork();
      const topic = Topic.fromName("bug");
      const bootstrap = await makeNode(network, 60, [topic]);
      const node = await makeNode(network, 61, [topic], bootstrap);
      const setTopics = node.book.setTopics.bind(node.book);
      let broken = true;
      node.book.setTopics = (id, topics) => {
        if (!broken) return setTopics(id, topics);
        broken = false;
        throw new TypeError("cannot read properties of undefined");
      };
      const failed = firstValueFrom(
        node.service.events$.pipe(
          filter(
            (e): e is Extract<DiscoveryEvent, { type: "discovery:session-failed" }> =>
              e.type === "discovery:session-failed",
          ),
          timeout(10_000),
        ),
      );
      const ended = firstValueFrom(
        node.service.events$.pipe(
          filter((e) => e.type === "discovery:session-ended"),
          timeout(10_000),
        ),
      );
      await bootstrap.service.start();
      await node.service.start();
      const event = await failed;
      expect(event.reason).toBe("internal-error");
      expect(event.misbehaving).toBe(false);
      expect(event.error.cause).toBeInstanceOf(TypeError);
      await ended;
      expect(node.book.nodeTopics(bootstrap.identity.nodeId).has(topic)).toBe(true);
      expect(node.service.metrics.failuresByReason).toEqual({ "internal-error": 1 });
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });
});

describe("a relay hands out the nodes reachable only through it only while they are connected", () => {
  async function newcomerLearns(tabConnected: boolean): Promise<boolean> {
    const network = new MemoryNetwork();
    const relayIdentity = await Identity.generate();
    const relayBook = await AddressBook.open(memoryAddressBookStore());
    await relayBook.insertNodeInfo(
      createNodeInfo(relayIdentity.nodeId, {
        transports: await signedInfo(relayIdentity, 1),
      }),
    );
    // A tab whose only address is a circuit through the relay (its reservation).
    const tab = await Identity.generate();
    const relayPeer = NodeId.toPeerId(relayIdentity.nodeId).toString();
    const tabPeer = NodeId.toPeerId(tab.nodeId).toString();
    await relayBook.insertTransportInfo(
      tab.nodeId,
      await signTransportInfo(tab, new HybridTimestamp(Date.now(), 0), [
        `/ip4/127.0.0.1/tcp/1/ws/p2p/${relayPeer}/p2p-circuit/webrtc/p2p/${tabPeer}`,
      ]),
    );
    const memory = network.endpoint(relayIdentity.nodeId);
    const relay: TestNode = {
      identity: relayIdentity,
      book: relayBook,
      topics: [],
      service: new DiscoveryService({
        endpoint: {
          nodeId: memory.nodeId,
          accept: (...args) => memory.accept(...args),
          connect: (...args) => memory.connect(...args),
          isConnected: (id) => tabConnected && id === tab.nodeId,
        },
        addressBook: relayBook,
        config: FAST,
        rng: seededRng(1),
      }),
    };
    running.push(relay.service);
    const newcomer = await makeNode(network, 2, [Topic.fromName("t")], relay);
    const ended = firstValueFrom(
      newcomer.service.events$.pipe(
        filter(
          (e) =>
            e.type === "discovery:session-ended" &&
            e.remoteNodeId === relayIdentity.nodeId &&
            e.role === "initiated",
        ),
        timeout(10_000),
      ),
    );
    relay.service.start();
    newcomer.service.start();
    await ended;
    return newcomer.book.nodeInfo(tab.nodeId) !== undefined;
  }

  it("a tab that holds its reservation (connected) is handed out", async () => {
    expect(await newcomerLearns(true)).toBe(true);
  });

  it("a tab that left (not connected), even before the relay saw it go, is not", async () => {
    expect(await newcomerLearns(false)).toBe(false);
  });
});

describe("DiscoveryService.pause / resume (lifecycle recovery)", () => {
  it("a paused node starts no session; resumed, it walks again and learns its peer", async () => {
    const network = new MemoryNetwork();
    const runtime = new VirtualRuntime();
    const topic = Topic.fromName("paused walkers");
    const bootstrap = await makeNode(network, 1, [], undefined, { runtime });
    const a = await makeNode(network, 2, [topic], bootstrap, { runtime });
    const b = await makeNode(network, 3, [topic], bootstrap, { runtime });
    a.service.pause();
    expect(a.service.paused).toBe(true);
    for (const n of [bootstrap, a, b]) await n.service.start();
    await runtime.advance(10_000);
    // Others may walk to it (it still answers), but it opens nothing itself.
    expect(a.service.walkers().flatMap((w) => w.trail)).toEqual([]);
    const sessionsWhilePaused = a.service.sessions().filter((s) => s.role === "initiated");
    expect(sessionsWhilePaused).toEqual([]);
    a.service.resume();
    expect(a.service.paused).toBe(false);
    await advanceUntil(runtime, () => a.book.nodeTopics(b.identity.nodeId).has(topic), {
      limitMs: 30_000,
    });
    expect(a.service.walkers().flatMap((w) => w.trail).length).toBeGreaterThan(0);
  });
});

import { describe, expect, it } from "vitest";
import { memoryChannelPair } from "../../src/codec/message-channel.ts";
import {
  DiscoveryProtocolError,
  type NodeSharing,
  type NodesMessage,
  PsiAlice,
  PsiBob,
  runDiscoverySession,
  selectInfosToShare,
} from "../../src/discovery/index.ts";
import { InvalidInputError } from "../../src/errors.ts";
import { NodeId } from "../../src/ids/node-id.ts";
import { Topic } from "../../src/ids/topic.ts";
import { seededRng } from "../../src/random.ts";
import { nodeId, side, topic } from "./helpers.ts";

const ME = nodeId(0xa1);
const REMOTE = nodeId(0xb2);
const C = nodeId(0xc3);
const D = nodeId(0xd4);
const E = nodeId(0xe5);

/** `n` different topics. */
function distinct(n: number): Topic[] {
  return Array.from({ length: n }, (_, i) => {
    const bytes = new Uint8Array(32);
    bytes[0] = i & 0xff;
    bytes[1] = i >> 8;
    return Topic.fromBytes(bytes);
  });
}

/** The `Nodes` message Bob sends once he knows the intersection. */
function bobsNodes(infos: ReadonlyMap<NodeId, unknown>): NodesMessage {
  const bob = new PsiBob(side(ME, REMOTE, [], { infosToShare: () => infos }));
  bob.start();
  bob.receive({ type: "alice-salt-half", saltHalf: new Uint8Array(32) });
  const [nodes] = bob.receive({ type: "alice-hashes", topicHashes: [] }).send;
  return nodes as NodesMessage;
}

// Spec §4.5: each side hands out the transport infos it may share, its own always. Sending the
// remote its own info back is useless and tells it what we hold about it; our own twice would
// waste the capped list.
describe("PSI Nodes message: our own info first and once, the remote's own never", () => {
  it("of {C, remote, me, D} Bob sends me, C, D", () => {
    const infos = new Map<NodeId, unknown>([
      [C, "c"],
      [REMOTE, "remote"],
      [ME, "me"],
      [D, "d"],
    ]);
    const pairs = bobsNodes(infos).transportInfos.map(([id, info]) => [NodeId.fromBytes(id), info]);
    expect(pairs).toEqual([
      [ME, "me"],
      [C, "c"],
      [D, "d"],
    ]);
  });
});

describe("shareNodesWithCommonTopics: only held infos of nodes of a common topic, each once, plus ours", () => {
  const select = (nodes: NodeId[], allInfos: Map<NodeId, unknown>, max = 256, seed = 1) =>
    selectInfosToShare({
      myNodeId: ME,
      remoteNodeId: REMOTE,
      intersection: new Set<Topic>([topic(1)]),
      shareNodesWithCommonTopics: true,
      allInfos,
      nodesByTopics: () => nodes,
      max,
      rng: seededRng(seed),
    });

  it("a node listed twice, the remote, ourselves and a node without an info are not candidates", () => {
    const infos = new Map<NodeId, unknown>([
      [ME, "me"],
      [REMOTE, "remote"],
      [C, "c"],
      [D, "d"],
    ]);
    const picked = select([C, C, REMOTE, ME, E, D], infos);
    expect([...picked.keys()].sort()).toEqual([ME, C, D].sort());
    expect(picked.size).toBe(3);
  });

  it("a node listed twice takes one place in a capped sample", () => {
    const infos = new Map<NodeId, unknown>([
      [ME, "me"],
      [C, "c"],
      [D, "d"],
    ]);
    for (let seed = 1; seed <= 20; seed++) {
      expect(select([C, C, C, D], infos, 3, seed).size).toBe(3);
    }
  });

  it("without an info of our own, ours is not in the share", () => {
    const picked = select([C], new Map<NodeId, unknown>([[C, "c"]]));
    expect([...picked.keys()]).toEqual([C]);
  });
});

describe("PSI topic cap: a node holds at most maxTopicHashes topics for discovery", () => {
  it("exactly the cap is accepted, one more refused; the default cap is 1,024", () => {
    expect(() => new PsiAlice(side(ME, REMOTE, distinct(4), { maxTopicHashes: 4 }))).not.toThrow();
    expect(() => new PsiAlice(side(ME, REMOTE, distinct(5), { maxTopicHashes: 4 }))).toThrow(
      InvalidInputError,
    );
    expect(() => new PsiBob(side(ME, REMOTE, distinct(1024)))).not.toThrow();
    expect(() => new PsiBob(side(ME, REMOTE, distinct(1025)))).toThrow(InvalidInputError);
  });
});

// The discovery manager ends a session that runs too long by aborting its signal: a signal that
// is already aborted when the session starts must end it at once, and the remote must see it.
describe("discovery session: an aborted signal ends the session at once, for both sides", () => {
  it("a signal aborted before the start fails the session with its reason and resets the stream", async () => {
    const [ours, theirs] = memoryChannelPair(ME, REMOTE);
    const controller = new AbortController();
    const reason = new DiscoveryProtocolError("timeout", "session took too long");
    controller.abort(reason);
    const running = runDiscoverySession(ours, new PsiBob(side(ME, REMOTE, [topic(1)])), {
      signal: controller.signal,
    });
    await expect(running).rejects.toBe(reason);
    await expect(theirs.receive()).rejects.toBe(reason);
  }, 2_000);
});

describe("nodeSharing: what each policy hands a stranger (no common topic) and a co-topic peer", () => {
  // C is a bootstrap node; D shares topic 1 with us; E shares nothing with anyone here.
  const infos = new Map<NodeId, unknown>([
    [ME, "me"],
    [C, "c"],
    [D, "d"],
    [E, "e"],
  ]);
  const shared = (nodeSharing: NodeSharing, intersection: Topic[]) =>
    [
      ...selectInfosToShare({
        myNodeId: ME,
        remoteNodeId: REMOTE,
        intersection: new Set(intersection),
        nodeSharing,
        isBootstrap: (id) => id === C,
        allInfos: infos,
        nodesByTopics: (topics) => (topics.has(topic(1)) ? [D] : []),
        max: 256,
        rng: seededRng(1),
      }).keys(),
    ].sort();

  it.each([
    ["all", [], [ME, C, D, E]],
    ["all", [topic(1)], [ME, C, D, E]],
    ["common-topics", [], [ME]],
    ["common-topics", [topic(1)], [ME, D]],
    ["bootstrap-and-common-topics", [], [ME, C]],
    ["bootstrap-and-common-topics", [topic(1)], [ME, C, D]],
  ] as [NodeSharing, Topic[], NodeId[]][])(
    "%s with %j in common shares %j",
    (policy, common, expected) => {
      expect(shared(policy, common)).toEqual([...expected].sort());
    },
  );

  it("shareNodesWithCommonTopics: true is common-topics, and nodeSharing overrides it", () => {
    const base = {
      myNodeId: ME,
      remoteNodeId: REMOTE,
      intersection: new Set<Topic>(),
      isBootstrap: (id: NodeId) => id === C,
      allInfos: infos,
      nodesByTopics: () => [],
      max: 256,
      rng: seededRng(1),
    };
    expect([...selectInfosToShare({ ...base, shareNodesWithCommonTopics: true }).keys()]).toEqual([
      ME,
    ]);
    expect(
      selectInfosToShare({ ...base, shareNodesWithCommonTopics: true, nodeSharing: "all" }).size,
    ).toBe(4);
  });
});

describe("selectInfosToShare: what a caller with the ids at hand gets is what the scan gives", () => {
  const many = Array.from({ length: 2_000 }, (_, i) => {
    const bytes = new Uint8Array(32);
    bytes[0] = i & 0xff;
    bytes[1] = i >> 8;
    return NodeId.fromBytes(bytes);
  });
  const allInfos = new Map<NodeId, unknown>(many.map((id) => [id, { of: id }]));
  const me = many[0] as NodeId;
  const remote = many[1] as NodeId;
  const base = {
    myNodeId: me,
    remoteNodeId: remote,
    intersection: new Set<Topic>(),
    allInfos,
    nodesByTopics: () => [],
    max: 256,
  };

  it("all, drawn at random positions of allIds: max distinct infos, ours among them, never the remote's", () => {
    const out = selectInfosToShare({
      ...base,
      nodeSharing: "all",
      allIds: many,
      rng: seededRng(1),
    });
    expect(out.size).toBe(256);
    expect(out.get(me)).toBe(allInfos.get(me));
    expect(out.has(remote)).toBe(false);
    for (const [id, info] of out) expect(info).toBe(allInfos.get(id));
    // A uniform sample: two seeds pick mostly different nodes.
    const again = selectInfosToShare({
      ...base,
      nodeSharing: "all",
      allIds: many,
      rng: seededRng(2),
    });
    const common = [...out.keys()].filter((id) => again.has(id)).length;
    expect(common).toBeLessThan(100);
  });

  it("bootstrap-and-common-topics with bootstrapIds: the same bootstrap nodes as asking isBootstrap of every info", () => {
    const boots = new Set(many.slice(10, 15));
    const scanned = selectInfosToShare({
      ...base,
      nodeSharing: "bootstrap-and-common-topics",
      isBootstrap: (id) => boots.has(id),
      rng: seededRng(1),
    });
    const listed = selectInfosToShare({
      ...base,
      nodeSharing: "bootstrap-and-common-topics",
      isBootstrap: (id) => boots.has(id),
      bootstrapIds: [...boots, nodeId(0xee)],
      rng: seededRng(1),
    });
    expect(new Set(listed.keys())).toEqual(new Set([me, ...boots]));
    expect(new Set(scanned.keys())).toEqual(new Set(listed.keys()));
  });
});

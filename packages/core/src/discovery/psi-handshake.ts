import { compareBytes, concatBytes, toHex } from "../bytes.ts";
import { InvalidInputError } from "../errors.ts";
import { HASH_LENGTH, hash } from "../hash.ts";
import { NodeId } from "../ids/node-id.ts";
import { Topic } from "../ids/topic.ts";
import type { Rng } from "../random.ts";
import { DiscoveryProtocolError } from "./errors.ts";
import {
  DEFAULT_MAX_TOPIC_HASHES,
  DEFAULT_MAX_TRANSPORT_INFOS,
  type DiscoveryLimits,
  type DiscoveryMessage,
  type NodesMessage,
  SALT_HALF_LENGTH,
} from "./messages.ts";

/** What one finished discovery session gave us. */
export interface DiscoveryResult {
  /** The node we ran the session with. */
  readonly remoteNodeId: NodeId;
  /** Transport infos the remote handed out, unverified: verify each before storing it. */
  readonly transportInfos: ReadonlyMap<NodeId, unknown>;
  /** The topics both of us have (the private set intersection). */
  readonly topics: ReadonlySet<Topic>;
  /**
   * Nodes of `transportInfos` the remote says share a topic of `topics` (member referrals;
   * empty or absent when `topics` is empty). Unverified hints: a session with each tells
   * whether it is true.
   */
  readonly members?: ReadonlySet<NodeId>;
}

/** Which side of the handshake: Alice initiates, Bob accepts. */
export type PsiRole = "alice" | "bob";

/** What the caller must do after feeding the handshake one input. */
export interface PsiOutput {
  /** Messages to send to the remote, in this order. */
  readonly send: readonly DiscoveryMessage[];
  /** Close our sending side after sending `send`. */
  readonly closeOurSide: boolean;
  /** Set once the handshake finished successfully. */
  readonly result?: DiscoveryResult;
}

/** Fewest topic hashes a node sends: sets of fewer topics are padded up to this. */
export const MIN_PADDED_TOPIC_HASHES = 8;

/**
 * How many hashes a node with `count` topics sends: the next power of two, at least
 * {@link MIN_PADDED_TOPIC_HASHES}, but never more than `max` (the cap a receiver holds to, 1,024
 * by default, itself a power of two). A remote learns the size class of our topic set (1–8,
 * 9–16, 17–32 …), not its size.
 */
export function paddedTopicHashCount(count: number, max: number): number {
  let size = MIN_PADDED_TOPIC_HASHES;
  while (size < count) size *= 2;
  return Math.max(count, Math.min(size, max));
}

/** Options of {@link PsiAlice} and {@link PsiBob}. */
export interface PsiHandshakeOptions extends DiscoveryLimits {
  /** Our own node id (always kept when the infos we share must be cut to the cap). */
  readonly myNodeId: NodeId;
  /** The authenticated node at the other end. */
  readonly remoteNodeId: NodeId;
  /** Our topics. At most `maxTopicHashes`. */
  readonly myTopics: Iterable<Topic>;
  /** Source of the salt half. Production: `cryptoRng`. */
  readonly rng: Rng;
  /**
   * Transport infos to hand to the remote once the intersection is known. The caller knows
   * the address book and the `shareNodesWithCommonTopics` policy (see {@link selectInfosToShare}).
   * More than `maxTransportInfos` are cut to the cap, our own first.
   */
  readonly infosToShare: (intersection: ReadonlySet<Topic>) => ReadonlyMap<NodeId, unknown>;
  /**
   * Whether we found, in a session of our own, that a node shares a topic of the intersection:
   * such nodes among the infos we send are marked as members ({@link NodesMessage.members}).
   * Asked only when the intersection is not empty. Without it we refer no one.
   */
  readonly isMemberOf?: (id: NodeId, intersection: ReadonlySet<Topic>) => boolean;
  /**
   * Node id ↔ bytes conversion; lets a simulator cache and intern ids. Default: `NodeId`'s
   * `toBytes`/`fromBytes`.
   */
  readonly nodeIdCodec?: NodeIdCodec;
}

/** Conversion between node ids and their 32 bytes. */
export interface NodeIdCodec {
  /** The 32 bytes of `id`. */
  toBytes(id: NodeId): Uint8Array;
  /** The node id of 32 bytes. */
  fromBytes(bytes: Uint8Array): NodeId;
}

/**
 * Where a handshake is (spec §4.5). Alice goes initial → awaiting Bob's salt half and hashes →
 * awaiting Bob's nodes → awaiting Bob's close → finished; Bob goes initial → awaiting Alice's
 * salt half → awaiting Alice's hashes → awaiting Alice's nodes → finished. Any unexpected input
 * ends in `failed`.
 */
export type PsiState =
  | "initial"
  | "awaiting-bob-salt-half-and-hashes"
  | "awaiting-bob-nodes"
  | "awaiting-bob-close"
  | "awaiting-alice-salt-half"
  | "awaiting-alice-hashes"
  | "awaiting-alice-nodes"
  | "finished"
  | "failed";

/** How errors name each state ("alice got \"nodes\" while awaiting bob's salt half and hashes"). */
const PSI_STATE_DESCRIPTIONS: Record<PsiState, string> = {
  initial: "initial",
  "awaiting-bob-salt-half-and-hashes": "awaiting bob's salt half and hashes",
  "awaiting-bob-nodes": "awaiting bob's nodes",
  "awaiting-bob-close": "awaiting bob's close",
  "awaiting-alice-salt-half": "awaiting alice's salt half",
  "awaiting-alice-hashes": "awaiting alice's hashes",
  "awaiting-alice-nodes": "awaiting alice's nodes",
  finished: "finished",
  failed: "failed",
};

/** The common surface of both roles, for code that runs either. */
export interface PsiHandshake {
  readonly role: PsiRole;
  readonly remoteNodeId: NodeId;
  /** Where the handshake is. */
  readonly state: PsiState;
  /** Whether the handshake finished successfully. */
  readonly finished: boolean;
  /** First output: Alice's salt half; nothing for Bob. Call once, before anything else. */
  start(): PsiOutput;
  /**
   * Feeds one message from the remote (already checked by `decodeDiscoveryMessage`).
   * @throws DiscoveryProtocolError (`unexpected-message`) when it is not the one expected now.
   */
  receive(message: DiscoveryMessage): PsiOutput;
  /**
   * The remote closed its sending side.
   * @throws DiscoveryProtocolError (`closed-early`) unless that is the expected end.
   */
  remoteClosed(): PsiOutput;
}

const ALICE_SALT_BYTE = 0x00;
const BOB_SALT_BYTE = 0x01;
const NOTHING: PsiOutput = { send: [], closeOurSide: false };

abstract class PsiParty implements PsiHandshake {
  abstract readonly role: PsiRole;
  readonly remoteNodeId: NodeId;
  protected readonly options: PsiHandshakeOptions;
  protected readonly topics: { topic: Topic; bytes: Uint8Array }[];
  protected readonly maxInfos: number;
  /** Cap on the hashes of one message (ours are padded up to it at most). */
  protected readonly maxHashes: number;
  protected readonly ownSaltHalf: Uint8Array;
  #state: PsiState = "initial";
  protected intersection: ReadonlySet<Topic> = new Set();
  protected remoteInfos: ReadonlyMap<NodeId, unknown> | undefined;
  protected remoteMembers: ReadonlySet<NodeId> | undefined;

  constructor(options: PsiHandshakeOptions) {
    this.options = options;
    this.remoteNodeId = options.remoteNodeId;
    this.topics = [...new Set(options.myTopics)].map((topic) => ({
      topic,
      bytes: Topic.toBytes(topic),
    }));
    const maxHashes = options.maxTopicHashes ?? DEFAULT_MAX_TOPIC_HASHES;
    this.maxHashes = maxHashes;
    if (this.topics.length > maxHashes) {
      throw new InvalidInputError(
        `${this.topics.length} topics, discovery supports at most ${maxHashes}`,
      );
    }
    this.maxInfos = options.maxTransportInfos ?? DEFAULT_MAX_TRANSPORT_INFOS;
    this.ownSaltHalf = options.rng.bytes(SALT_HALF_LENGTH);
  }

  get state(): PsiState {
    return this.#state;
  }

  get finished(): boolean {
    return this.#state === "finished";
  }

  protected enter(state: PsiState): void {
    this.#state = state;
  }

  abstract start(): PsiOutput;
  abstract receive(message: DiscoveryMessage): PsiOutput;
  abstract remoteClosed(): PsiOutput;

  protected unexpected(message: DiscoveryMessage): never {
    const was = PSI_STATE_DESCRIPTIONS[this.state];
    this.enter("failed");
    throw new DiscoveryProtocolError(
      "unexpected-message",
      `${this.role} got "${message.type}" while ${was}`,
    );
  }

  protected closedEarly(): never {
    const was = PSI_STATE_DESCRIPTIONS[this.state];
    this.enter("failed");
    throw new DiscoveryProtocolError("closed-early", `remote closed while ${this.role} was ${was}`);
  }

  /**
   * Hashes of all our topics under `salt`, padded with random hashes to
   * {@link paddedTopicHashCount} so their number does not tell how many topics we have, and
   * sorted so their order says nothing about which are real. A random 32-byte value is as
   * likely as any BLAKE3 output, so the remote cannot tell padding from a topic it lacks.
   */
  protected hashTopics(salt: Uint8Array): Uint8Array[] {
    const hashes = this.topics.map((t) => hash(t.bytes, salt));
    const target = paddedTopicHashCount(hashes.length, this.maxHashes);
    while (hashes.length < target) hashes.push(this.options.rng.bytes(HASH_LENGTH));
    return hashes.sort(compareBytes);
  }

  /** Our topics whose hash under `salt` is among the remote's hashes. */
  protected intersect(remoteHashes: readonly Uint8Array[], salt: Uint8Array): Set<Topic> {
    const remote = new Set(remoteHashes.map(bytesKey));
    const out = new Set<Topic>();
    for (const t of this.topics) if (remote.has(bytesKey(hash(t.bytes, salt)))) out.add(t.topic);
    return out;
  }

  protected nodesMessage(): NodesMessage {
    const infos = this.options.infosToShare(this.intersection);
    const codec = this.options.nodeIdCodec ?? NodeId;
    const pairs: [Uint8Array, unknown][] = [];
    const members: number[] = [];
    const isMemberOf = this.intersection.size > 0 ? this.options.isMemberOf : undefined;
    const own = infos.get(this.options.myNodeId);
    if (own !== undefined) pairs.push([codec.toBytes(this.options.myNodeId), own]);
    for (const [id, info] of infos) {
      if (pairs.length >= this.maxInfos) break;
      if (id === this.options.myNodeId || id === this.remoteNodeId) continue;
      if (isMemberOf?.(id, this.intersection) === true) members.push(pairs.length);
      pairs.push([codec.toBytes(id), info]);
    }
    return members.length > 0
      ? { type: "nodes", transportInfos: pairs, members }
      : { type: "nodes", transportInfos: pairs };
  }

  protected takeNodes(message: NodesMessage): void {
    const codec = this.options.nodeIdCodec ?? NodeId;
    const infos = new Map<NodeId, unknown>();
    const ids: NodeId[] = [];
    for (const [id, info] of message.transportInfos) {
      const nodeId = codec.fromBytes(id);
      infos.set(nodeId, info);
      ids.push(nodeId);
    }
    this.remoteInfos = infos;
    // Referrals only count from a proven member: a stranger has no members to tell us about.
    if (this.intersection.size > 0 && message.members !== undefined) {
      const members = new Set<NodeId>();
      for (const position of message.members) {
        const id = ids[position] as NodeId;
        if (id !== this.options.myNodeId) members.add(id);
      }
      this.remoteMembers = members;
    }
  }

  protected result(): DiscoveryResult {
    return {
      remoteNodeId: this.remoteNodeId,
      transportInfos: this.remoteInfos ?? new Map(),
      topics: this.intersection,
      members: this.remoteMembers ?? new Set(),
    };
  }
}

/**
 * The initiating side of the PSI-hash handshake (spec §4.5), as a pure state machine:
 * send salt half → receive Bob's salt half and hashes → send our hashes → receive Bob's nodes →
 * send our nodes and close → wait for Bob to close → result.
 */
export class PsiAlice extends PsiParty {
  readonly role = "alice";

  /** First output (see {@link PsiHandshake.start}). */
  start(): PsiOutput {
    if (this.state !== "initial") throw new InvalidInputError("start() called twice");
    this.enter("awaiting-bob-salt-half-and-hashes");
    return { send: [{ type: "alice-salt-half", saltHalf: this.ownSaltHalf }], closeOurSide: false };
  }

  /** Feeds one message (see {@link PsiHandshake.receive}). */
  receive(message: DiscoveryMessage): PsiOutput {
    if (
      this.state === "awaiting-bob-salt-half-and-hashes" &&
      message.type === "bob-salt-half-and-hashes"
    ) {
      const aliceSalt = salt(this.ownSaltHalf, message.saltHalf, ALICE_SALT_BYTE);
      const bobSalt = salt(this.ownSaltHalf, message.saltHalf, BOB_SALT_BYTE);
      this.intersection = this.intersect(message.topicHashes, bobSalt);
      this.enter("awaiting-bob-nodes");
      return {
        send: [{ type: "alice-hashes", topicHashes: this.hashTopics(aliceSalt) }],
        closeOurSide: false,
      };
    }
    if (this.state === "awaiting-bob-nodes" && message.type === "nodes") {
      this.takeNodes(message);
      this.enter("awaiting-bob-close");
      return { send: [this.nodesMessage()], closeOurSide: true };
    }
    return this.unexpected(message);
  }

  /** The remote closed its side (see {@link PsiHandshake.remoteClosed}). */
  remoteClosed(): PsiOutput {
    if (this.state !== "awaiting-bob-close") return this.closedEarly();
    this.enter("finished");
    return { ...NOTHING, result: this.result() };
  }
}

/**
 * The accepting side of the PSI-hash handshake (spec §4.5), as a pure state machine:
 * receive Alice's salt half → send ours and our hashes → receive Alice's hashes → send our
 * nodes → receive Alice's nodes → close → result.
 */
export class PsiBob extends PsiParty {
  readonly role = "bob";
  #aliceSalt: Uint8Array | undefined;

  /** First output (see {@link PsiHandshake.start}). */
  start(): PsiOutput {
    if (this.state !== "initial") throw new InvalidInputError("start() called twice");
    this.enter("awaiting-alice-salt-half");
    return NOTHING;
  }

  /** Feeds one message (see {@link PsiHandshake.receive}). */
  receive(message: DiscoveryMessage): PsiOutput {
    if (this.state === "awaiting-alice-salt-half" && message.type === "alice-salt-half") {
      this.#aliceSalt = salt(message.saltHalf, this.ownSaltHalf, ALICE_SALT_BYTE);
      const bobSalt = salt(message.saltHalf, this.ownSaltHalf, BOB_SALT_BYTE);
      this.enter("awaiting-alice-hashes");
      return {
        send: [
          {
            type: "bob-salt-half-and-hashes",
            saltHalf: this.ownSaltHalf,
            topicHashes: this.hashTopics(bobSalt),
          },
        ],
        closeOurSide: false,
      };
    }
    if (
      this.state === "awaiting-alice-hashes" &&
      message.type === "alice-hashes" &&
      this.#aliceSalt
    ) {
      this.intersection = this.intersect(message.topicHashes, this.#aliceSalt);
      this.enter("awaiting-alice-nodes");
      return { send: [this.nodesMessage()], closeOurSide: false };
    }
    if (this.state === "awaiting-alice-nodes" && message.type === "nodes") {
      this.takeNodes(message);
      this.enter("finished");
      return { send: [], closeOurSide: true, result: this.result() };
    }
    return this.unexpected(message);
  }

  /** The remote closed its side (see {@link PsiHandshake.remoteClosed}). */
  remoteClosed(): PsiOutput {
    return this.closedEarly();
  }
}

/** `aliceHalf ‖ bobHalf ‖ roleByte` (65 bytes). */
function salt(aliceHalf: Uint8Array, bobHalf: Uint8Array, roleByte: number): Uint8Array {
  return concatBytes(aliceHalf, bobHalf, Uint8Array.of(roleByte));
}

const bytesKey = toHex;

/**
 * Which transport infos a node hands to the other side of a discovery session:
 *
 * - `all`: every info it holds (upstream's default). A stranger, who shares no topic, learns
 *   who exists and where.
 * - `common-topics`: only nodes of a topic both share, and itself (upstream's
 *   `shareNodesWithCommonTopics`). A stranger learns the node's own info only.
 * - `bootstrap-and-common-topics`: those, plus the bootstrap nodes it knows, which are public
 *   rendezvous points anyway. A stranger learns the node's own info and bootstrap nodes.
 */
export type NodeSharing = "all" | "common-topics" | "bootstrap-and-common-topics";

/** Inputs of {@link selectInfosToShare}: what the caller reads from its address book. */
export interface InfosToShareInput {
  /** Our node id; our own info is always shared when we have one. */
  readonly myNodeId: NodeId;
  /** The remote; its own info is never sent back to it. */
  readonly remoteNodeId: NodeId;
  /** The topics both sides share. */
  readonly intersection: ReadonlySet<Topic>;
  /** `shareNodesWithCommonTopics`: only nodes interested in a topic of the intersection. */
  readonly shareNodesWithCommonTopics?: boolean;
  /** The policy; overrides `shareNodesWithCommonTopics` (`true` is `common-topics`). */
  readonly nodeSharing?: NodeSharing;
  /** Whether a node is a bootstrap node (for `bootstrap-and-common-topics`). */
  readonly isBootstrap?: (id: NodeId) => boolean;
  /**
   * The bootstrap nodes we know, when the caller has them at hand: read instead of asking
   * `isBootstrap` of every info we hold (a simulator's node holds thousands).
   */
  readonly bootstrapIds?: Iterable<NodeId>;
  /** Every shareable (authenticated) transport info we hold, by node. */
  readonly allInfos: ReadonlyMap<NodeId, unknown>;
  /**
   * The keys of `allInfos` as an array, when the caller keeps one: policy `all` then draws its
   * sample at random positions, in time proportional to `max` instead of to the infos held.
   */
  readonly allIds?: readonly NodeId[];
  /** Nodes interested in any of `topics` (used with `shareNodesWithCommonTopics`). */
  readonly nodesByTopics: (topics: ReadonlySet<Topic>) => Iterable<NodeId>;
  /** Cap; a random sample is taken when there are more. */
  readonly max: number;
  readonly rng: Rng;
}

/**
 * The sharing policy ({@link NodeSharing}) plus the cap: `common-topics` shares only nodes that
 * share a topic of the intersection (and ourselves), `bootstrap-and-common-topics` adds the
 * bootstrap nodes we hold, `all` every info we hold — which tells the remote who exists, though
 * not what they care about. Beyond `max`, a random sample (ours always included).
 */
export function selectInfosToShare(input: InfosToShareInput): Map<NodeId, unknown> {
  const candidates: NodeId[] = [];
  const skip = (id: NodeId) => id === input.myNodeId || id === input.remoteNodeId;
  const policy: NodeSharing =
    input.nodeSharing ?? (input.shareNodesWithCommonTopics === true ? "common-topics" : "all");
  if (policy !== "all") {
    const seen = new Set<NodeId>();
    const add = (id: NodeId) => {
      if (!seen.has(id) && !skip(id) && input.allInfos.has(id)) {
        seen.add(id);
        candidates.push(id);
      }
    };
    for (const id of input.nodesByTopics(input.intersection)) add(id);
    const isBootstrap = input.isBootstrap;
    if (policy === "bootstrap-and-common-topics") {
      if (input.bootstrapIds !== undefined) for (const id of input.bootstrapIds) add(id);
      else if (isBootstrap !== undefined) {
        for (const id of input.allInfos.keys()) if (isBootstrap(id)) add(id);
      }
    }
  } else if (input.allIds !== undefined && 4 * input.max <= input.allIds.length) {
    return sampleAll(input, input.allIds);
  } else {
    for (const id of input.allInfos.keys()) if (!skip(id)) candidates.push(id);
  }
  const out = new Map<NodeId, unknown>();
  const own = input.allInfos.get(input.myNodeId);
  if (own !== undefined) out.set(input.myNodeId, own);
  // Partial Fisher–Yates: only as many swaps as we take.
  const take = Math.min(candidates.length, input.max - out.size);
  for (let i = 0; i < take; i++) {
    const j = i + input.rng.int(candidates.length - i);
    const chosen = candidates[j] as NodeId;
    candidates[j] = candidates[i] as NodeId;
    out.set(chosen, input.allInfos.get(chosen));
  }
  return out;
}

/**
 * Policy `all` with many more infos than `max`: distinct random positions of `ids` until the
 * sample is full, a uniform random subset as the shuffle of {@link selectInfosToShare} takes,
 * drawn in about `max` steps (at least 4 positions per slot, so few draws repeat).
 */
function sampleAll(input: InfosToShareInput, ids: readonly NodeId[]): Map<NodeId, unknown> {
  const out = new Map<NodeId, unknown>();
  const own = input.allInfos.get(input.myNodeId);
  if (own !== undefined) out.set(input.myNodeId, own);
  const tried = new Set<number>();
  // Every position but ours and the remote's can be taken, so the sample fills up; the bound
  // only guards against `ids` naming nodes `allInfos` lacks.
  while (out.size < input.max && tried.size < ids.length) {
    const i = input.rng.int(ids.length);
    if (tried.has(i)) continue;
    tried.add(i);
    const id = ids[i] as NodeId;
    if (id === input.myNodeId || id === input.remoteNodeId) continue;
    const info = input.allInfos.get(id);
    if (info !== undefined) out.set(id, info);
  }
  return out;
}

import type { AddressBook } from "@p2panda-web/address-book";
import {
  browserPageSignals,
  Identity,
  InvalidInputError,
  type P2pandaNode,
  type PageSignals,
  resumeIdbTransactions,
  suspendIdbTransactions,
  Topic,
  TopicSecret,
} from "@p2panda-web/core";
import type { BrowserEndpointOptions, Endpoint } from "@p2panda-web/core/endpoint";
import { createBrowserNode } from "./browser-node.ts";
import {
  acquireStoredIdentity,
  defaultIdentityLocks,
  IDENTITY_DATABASE,
  type IdentityLocks,
  identitySlotLockName,
  loadIdentitySlot,
} from "./identity-store.ts";
import type { PublishQueueConfig } from "./room/publish-queue.ts";
import { Room } from "./room/room.ts";
import type { RoomNode } from "./room/room-node.ts";
import { roomStoreNames, topicStorageKey } from "./store-names.ts";
import { SharedRoom } from "./tabs/shared-room.ts";
import { broadcastTabChannel } from "./tabs/tab-channel.ts";
import type { TopicRoom } from "./tabs/topic-room.ts";

/** The node `joinTopic` makes: the browser preset's. */
export type BrowserRoomNode = P2pandaNode<Endpoint, AddressBook>;

/** Options of {@link joinTopic}. */
export interface JoinTopicOptions {
  /**
   * The topic: a `Topic`, or a name it is derived from (`Topic.fromName`). A string of 64 hex
   * characters is taken as a `Topic` itself. Whoever knows the name can join: share a random
   * one (`Topic.random()`) for anything private.
   */
  readonly topic: string | Topic;
  /** Multiaddr(s) of the bootstrap node(s), each ending in `/p2p/<peer id>`. */
  readonly bootstrap?: string | readonly string[];
  /**
   * Your app's name: identities and stores are kept per namespace (and topic), so two apps of
   * one origin never share them. Default `"default"`.
   */
  readonly namespace?: string;
  /**
   * How the tabs of the app (same namespace and topic) in one browser profile run:
   * `"shared"` (default): one node for all of them, run by a leader tab elected with the Web
   * Locks API; the other tabs use it over a `BroadcastChannel` and get a {@link SharedRoom}
   * with the same API. When the leader closes, the next tab takes over with the same identity
   * and stores (docs/tabs.md). `"per-tab"`: every tab runs a node of its own, with an identity
   * (and stores) of its own, and gets a `Room`.
   */
  readonly tabs?: "shared" | "per-tab";
  /**
   * `"stored"` (default): an identity kept in IndexedDB per namespace and topic, the same after
   * a reload (with `tabs: "per-tab"`, a second tab of the same browser profile gets an identity
   * and stores of its own). `"ephemeral"`: a new identity each time a node starts (in shared
   * mode: at every takeover). Or an `Identity` of yours (with `tabs: "per-tab"`, make sure no
   * two running nodes use it).
   */
  readonly identity?: "stored" | "ephemeral" | Identity;
  /**
   * `"indexeddb"` (default): the address book and the log in IndexedDB databases named after
   * the namespace, the topic and the node id; `"memory"`: nothing kept. An ephemeral identity
   * (or a tab beyond the 8 stored ones) always keeps them in memory.
   */
  readonly storage?: "indexeddb" | "memory";
  /**
   * A running node to join the topic on instead of making one (`bootstrap`, `identity`,
   * `storage`, `namespace` and `endpoint` are then ignored); `leave()` leaves it running.
   */
  readonly node?: RoomNode;
  /**
   * More options of the browser endpoint: `allowPrivateAddresses` for a LAN bootstrap,
   * `iceServers` for STUN/TURN servers (needed by users behind NATs; see
   * `BrowserEndpointOptions.iceServers`), `relayOnly`, …
   *
   * ```ts
   * const room = await joinTopic({
   *   topic,
   *   bootstrap,
   *   endpoint: {
   *     iceServers: [
   *       { urls: "stun:stun.example.org:3478" },
   *       { urls: "turn:turn.example.org:3478", username: "user", credential: "secret" },
   *     ],
   *   },
   * });
   * ```
   */
  readonly endpoint?: Omit<BrowserEndpointOptions, "identity" | "addressBook" | "bootstrap">;
  /**
   * End-to-end encryption of messages and log entries with a key derived from the topic
   * (default `true`; XChaCha20-Poly1305). The network, relays and always-on peers see only the
   * id derived from the topic ({@link Room.topic}); give that id to a blind peer
   * (`p2panda-web node --topic-id <id> --sync --data-dir …`) to keep the history for members who
   * are offline without letting it read anything. `false` sends payloads in plain text.
   */
  readonly encryption?: boolean;
  /** Bounds of the queue of messages published before the first peer (256 messages, 30 s). */
  readonly publishQueue?: Partial<PublishQueueConfig>;
  /** Locks guarding the stored identities and electing the leader tab (default: the Web Locks API). For tests. */
  readonly locks?: IdentityLocks;
  /**
   * The page's lifecycle signals (default: the page's own, `browserPageSignals()`), for the
   * node's lifecycle recovery and the shared room's leader (a leader going into the
   * back/forward cache hands over). For tests.
   */
  readonly signals?: PageSignals;
}

/** The topic `joinTopic` is given, as a `Topic`. */
export async function resolveTopic(topic: string | Topic): Promise<Topic> {
  if (typeof topic !== "string" || topic.length === 0) {
    throw new InvalidInputError("a topic is a Topic or a non-empty name");
  }
  // `await`: derivation from a name may become an asynchronous key derivation.
  return Topic.is(topic) ? topic : await Topic.fromName(topic);
}

/**
 * Joins a topic in one call: makes a browser node (identity kept per origin, stores in
 * IndexedDB, the browser endpoint dialling `bootstrap`), starts it and joins the topic's
 * gossip overlay and log sync.
 *
 * ```ts
 * const room = await joinTopic({ topic: "my-team-secret", bootstrap });
 * room.messages$.subscribe((m) => console.log(m.from, m.text()));
 * await room.publish("hello");
 * ```
 *
 * @throws InvalidInputError on an empty topic; what `createBrowserNode` throws (a malformed
 * bootstrap address, IndexedDB that cannot be opened).
 */
export function joinTopic(
  options: JoinTopicOptions & { readonly node?: undefined; readonly tabs: "per-tab" },
): Promise<Room<BrowserRoomNode>>;
export function joinTopic(
  options: JoinTopicOptions & { readonly node?: undefined; readonly tabs?: "shared" },
): Promise<SharedRoom<BrowserRoomNode>>;
export function joinTopic<N extends RoomNode>(
  options: JoinTopicOptions & { readonly node: N },
): Promise<Room<N>>;
export function joinTopic(options: JoinTopicOptions): Promise<TopicRoom>;
export async function joinTopic(options: JoinTopicOptions): Promise<TopicRoom> {
  const topic = await resolveTopic(options.topic);
  const publishQueue = {
    ...(options.publishQueue !== undefined ? { publishQueue: options.publishQueue } : {}),
    ...(options.encryption !== undefined ? { encryption: options.encryption } : {}),
  };
  if (options.node !== undefined) return Room.open(options.node, topic, publishQueue);
  if (options.tabs !== "per-tab" && typeof globalThis.BroadcastChannel === "function") {
    return joinShared(options, topic, publishQueue);
  }
  return joinPerTab(options, topic, publishQueue);
}

type RoomOpenOptions = Parameters<typeof Room.open>[2];

/** The room's topic on the network: the id derived from the topic when encrypting. */
function onWireTopic(topic: Topic, encryption: boolean | undefined): Topic {
  return encryption === false ? topic : TopicSecret.fromTopic(topic).topic;
}

/**
 * Shared mode: the tabs elect a leader on a Web Lock: for a stored identity the lock of its
 * slot 0, so the identity is held by exactly the tab that runs the node, and a takeover loads
 * the same one (and with it the same stores).
 */
async function joinShared(
  options: JoinTopicOptions,
  topic: Topic,
  publishQueue: RoomOpenOptions,
): Promise<SharedRoom<BrowserRoomNode>> {
  const namespace = options.namespace ?? "default";
  const locks = options.locks ?? defaultIdentityLocks();
  const identity = options.identity ?? "stored";
  const onWire = onWireTopic(topic, options.encryption);
  // The room on the network (encrypted or not) names the channel: two rooms of one topic with
  // different encryption are two rooms.
  const scope = `${namespace}/${topicStorageKey(onWire)}`;
  const lockName =
    identity === "stored"
      ? identitySlotLockName(namespace, topic, 0)
      : identity === "ephemeral"
        ? `${IDENTITY_DATABASE}/${scope}/shared-ephemeral`
        : `${IDENTITY_DATABASE}/${scope}/shared-${identity.nodeId}`;
  return SharedRoom.join({
    topic: onWire,
    channel: broadcastTabChannel(`p2panda-web/tabs/${scope}/${lockName}`),
    locks,
    lockName,
    lead: async () => {
      let own: Identity;
      let comesBack: boolean;
      if (identity === "stored") {
        const stored = await loadIdentitySlot({ namespace, topic }, 0);
        own = stored.identity;
        comesBack = stored.slot !== undefined;
      } else if (identity === "ephemeral") {
        own = await Identity.generate();
        comesBack = false;
      } else {
        own = identity;
        comesBack = true;
      }
      return openOwnRoom(options, namespace, topic, own, comesBack, publishQueue, async () => {});
    },
    ...(options.publishQueue?.timeoutMs !== undefined
      ? { publishTimeoutMs: options.publishQueue.timeoutMs + 10_000 }
      : {}),
    signals: options.signals ?? browserPageSignals(),
    // In a page, a frozen leader's open IndexedDB transactions would hold the next leader.
    ...(typeof document !== "undefined"
      ? { pageStorage: { suspend: suspendIdbTransactions, resume: resumeIdbTransactions } }
      : {}),
  });
}

/** A node and a room of this tab's own, stopped and released on leave. */
async function openOwnRoom(
  options: JoinTopicOptions,
  namespace: string,
  topic: Topic,
  identity: Identity,
  comesBack: boolean,
  publishQueue: RoomOpenOptions,
  release: () => Promise<void>,
): Promise<Room<BrowserRoomNode>> {
  const bootstrap =
    typeof options.bootstrap === "string" ? [options.bootstrap] : (options.bootstrap ?? []);
  const node = await createBrowserNode({
    identity,
    storage:
      comesBack && options.storage !== "memory"
        ? roomStoreNames(namespace, topic, identity.nodeId)
        : "memory",
    endpoint: { ...options.endpoint, bootstrap },
    ...(options.signals !== undefined ? { lifecycle: { signals: options.signals } } : {}),
  });
  try {
    return await Room.open(node, topic, { ...publishQueue, ownsNode: true, onLeave: release });
  } catch (error) {
    await node.stop().catch(() => {});
    throw error;
  }
}

/** Per-tab mode: a node of this tab's own, with the lowest free identity slot. */
async function joinPerTab(
  options: JoinTopicOptions,
  topic: Topic,
  publishQueue: RoomOpenOptions,
): Promise<Room<BrowserRoomNode>> {
  const namespace = options.namespace ?? "default";
  let identity: Identity;
  let release = async (): Promise<void> => {};
  // Only an identity that comes back (stored, or handed in) has stores worth keeping.
  let comesBack: boolean;
  if (options.identity === "ephemeral") {
    identity = await Identity.generate();
    comesBack = false;
  } else if (options.identity instanceof Identity) {
    identity = options.identity;
    comesBack = true;
  } else {
    const stored = await acquireStoredIdentity({
      namespace,
      topic,
      ...(options.locks !== undefined ? { locks: options.locks } : {}),
    });
    identity = stored.identity;
    release = stored.release;
    comesBack = stored.slot !== undefined;
  }
  try {
    return await openOwnRoom(options, namespace, topic, identity, comesBack, publishQueue, release);
  } catch (error) {
    await release();
    throw error;
  }
}

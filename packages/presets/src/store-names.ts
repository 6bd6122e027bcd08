import { hash, type NodeId, Topic, toHex } from "@p2panda-web/core";

const TOPIC_KEY_DOMAIN = new TextEncoder().encode("p2panda-web/store-name/topic/v1");

/**
 * A short public stand-in for a topic in storage names and lock names: 16 hex characters of a
 * domain-separated BLAKE3 hash. The topic is a secret; whatever can list the origin's databases
 * (extensions, devtools) must not learn it from their names.
 */
export function topicStorageKey(topic: Topic): string {
  return toHex(hash(TOPIC_KEY_DOMAIN, Topic.toBytes(topic))).slice(0, 16);
}

/** The IndexedDB names of one node's stores for one topic. */
export interface RoomStoreNames {
  readonly addressBook: string;
  readonly logs: string;
}

/**
 * Where `joinTopic` keeps a node's address book and logs: one pair of databases per app
 * namespace, topic and node identity, so two apps of one origin, two topics of one app, and two
 * tabs with different identities never share a database. (Two tabs sharing one log database
 * never sync: each finds the other's operations already stored, so nothing is sent and no
 * `operation-received` fires in either.)
 */
export function roomStoreNames(namespace: string, topic: Topic, nodeId: NodeId): RoomStoreNames {
  const prefix = `p2panda-web/${namespace}/${topicStorageKey(topic)}/${nodeId.slice(0, 16)}`;
  return { addressBook: `${prefix}/address-book`, logs: `${prefix}/logs` };
}

import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { AddressBook } from "@p2panda-web/address-book";
import { fromHex, Identity, InvalidInputError, type P2pandaNode } from "@p2panda-web/core";
import type { Endpoint } from "@p2panda-web/core/endpoint";
import type { NodeEndpointOptions } from "@p2panda-web/core/node";
import { type JoinTopicOptions, resolveTopic } from "../join-topic.ts";
import { Room } from "../room/room.ts";
import type { RoomNode } from "../room/room-node.ts";
import { createNodeJsNode } from "./node-js-node.ts";

/** File name of the node's key inside the data directory (the seed as hex, mode 0600). */
export const IDENTITY_FILE = "identity.key";

/** The node the Node.js {@link joinTopic} makes: the Node.js preset's. */
export type NodeJsRoomNode = P2pandaNode<Endpoint, AddressBook>;

/** Options of the Node.js {@link joinTopic}. */
export interface NodeJsJoinTopicOptions
  extends Pick<JoinTopicOptions, "topic" | "bootstrap" | "publishQueue" | "node" | "encryption"> {
  /**
   * Directory of the node's key ({@link IDENTITY_FILE}) and SQLite stores, made if missing: the
   * same node id and log on every start. One running node per directory. Without it the
   * identity is new and everything is kept in memory.
   */
  readonly dataDir?: string;
  /** The node's key (instead of the data directory's). */
  readonly identity?: Identity;
  /** The Node endpoint's options besides identity, address book and bootstrap (ports, relay, …). */
  readonly endpoint?: Omit<NodeEndpointOptions, "identity" | "addressBook" | "bootstrap">;
}

/**
 * The Node.js twin of the browser `joinTopic` (`@p2panda-web/presets`): makes a node with the
 * Node.js preset (SQLite in `dataDir`), starts it and joins the topic. Same {@link Room}.
 *
 * @throws InvalidInputError on an empty topic or a key file that holds no 32-byte seed; what
 * `createNodeJsNode` throws.
 */
export function joinTopic(
  options: NodeJsJoinTopicOptions & { readonly node?: undefined },
): Promise<Room<NodeJsRoomNode>>;
export function joinTopic<N extends RoomNode>(
  options: NodeJsJoinTopicOptions & { readonly node: N },
): Promise<Room<N>>;
export async function joinTopic(options: NodeJsJoinTopicOptions): Promise<Room<RoomNode>> {
  const topic = await resolveTopic(options.topic);
  const publishQueue = {
    ...(options.publishQueue !== undefined ? { publishQueue: options.publishQueue } : {}),
    ...(options.encryption !== undefined ? { encryption: options.encryption } : {}),
  };
  if (options.node !== undefined) return Room.open(options.node, topic, publishQueue);
  const { dataDir } = options;
  const identity =
    options.identity ??
    (dataDir === undefined ? await Identity.generate() : await keyOf(join(dataDir, IDENTITY_FILE)));
  const bootstrap =
    typeof options.bootstrap === "string" ? [options.bootstrap] : (options.bootstrap ?? []);
  const node = await createNodeJsNode({
    identity,
    ...(dataDir !== undefined ? { dataDir } : {}),
    endpoint: { ...options.endpoint, bootstrap },
  });
  try {
    return await Room.open(node, topic, { ...publishQueue, ownsNode: true });
  } catch (error) {
    await node.stop().catch(() => {});
    throw error;
  }
}

/** The identity kept in `path` (the seed as hex), made and written (0600) if missing. */
async function keyOf(path: string): Promise<Identity> {
  let text: string | undefined;
  try {
    text = (await readFile(path, "utf8")).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  if (text === undefined) {
    const identity = await Identity.generate();
    await mkdir(join(path, ".."), { recursive: true });
    // `wx`: never overwrite a key another process wrote meanwhile.
    await writeFile(path, `${Buffer.from(identity.secretKey).toString("hex")}\n`, {
      mode: 0o600,
      flag: "wx",
    });
    await chmod(path, 0o600); // writeFile's mode is subject to the umask
    return identity;
  }
  try {
    return await Identity.fromSecretKey(fromHex(text, 32));
  } catch (error) {
    throw new InvalidInputError(`${path} must hold a 32-byte seed as 64 hex characters`, {
      cause: error,
    });
  }
}

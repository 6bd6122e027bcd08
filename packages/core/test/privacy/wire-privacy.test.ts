// What each party sees above Noise, on every protocol (discovery, gossip, sync), in a small
// cluster of real libp2p nodes on loopback WebSockets: a bootstrap B (no topics), two members
// V1 and V2 holding a topic secret, a blind peer P holding only the derived topic id, and a
// stranger X on a topic of its own. Every message a node's channels deliver to it is recorded
// (decoded, then re-encoded as CBOR to scan its bytes). docs/security.md's "what each party
// learns" table states what this checks.
import { AddressBook, memoryAddressBookStore } from "@p2panda-web/address-book";
import {
  createNode,
  encodeCbor,
  hash,
  Identity,
  type MessageChannel,
  type P2pandaNode,
  Topic,
  TopicSecret,
} from "@p2panda-web/core";
import type { Endpoint } from "@p2panda-web/core/endpoint";
import { filter, firstValueFrom, timeout } from "rxjs";
import { afterAll, describe, expect, it } from "vitest";
import { loopbackEndpoint } from "../endpoint/loopback.ts";

interface Party {
  readonly name: string;
  readonly node: P2pandaNode<Endpoint, AddressBook>;
  readonly book: AddressBook;
  /** Every message this node's channels delivered to it. */
  readonly received: unknown[];
  /** The same, with the node that sent each. */
  readonly from: { readonly remote: string; readonly message: unknown }[];
}

/** `endpoint` with every channel it opens or accepts recording what it receives into `log`. */
function tapped(endpoint: Endpoint, log: unknown[], from: Party["from"]): Endpoint {
  const tapChannel = (channel: MessageChannel): MessageChannel =>
    new Proxy(channel, {
      get(target, prop) {
        if (prop === "receive") {
          return async (...args: Parameters<MessageChannel["receive"]>) => {
            const message = await target.receive(...args);
            if (message !== undefined) {
              log.push(message);
              from.push({ remote: target.remote, message });
            }
            return message;
          };
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  return new Proxy(endpoint, {
    get(target, prop) {
      if (prop === "accept") {
        return (name: string, handler: (c: MessageChannel) => unknown, options?: unknown) =>
          (target.accept as (n: string, h: unknown, o?: unknown) => void)(
            name,
            (channel: MessageChannel) => handler(tapChannel(channel)),
            options,
          );
      }
      if (prop === "connect") {
        return async (...args: Parameters<Endpoint["connect"]>) =>
          tapChannel(await target.connect(...args));
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

async function party(name: string, topics: Topic[], bootstrap: string[]): Promise<Party> {
  const book = await AddressBook.open(memoryAddressBookStore());
  const identity = await Identity.generate();
  for (const topic of topics) await book.addTopic(identity.nodeId, topic);
  const received: unknown[] = [];
  const from: Party["from"] = [];
  const node = await createNode({
    identity,
    addressBook: book,
    endpoint: async (init) =>
      tapped(await loopbackEndpoint({ ...init, bootstrap }), received, from),
    discovery: {},
    gossip: {},
    sync: {},
    start: false,
  });
  return { name, node, book, received, from };
}

function bytesOf(messages: readonly unknown[]): Buffer {
  return Buffer.concat(messages.map((m) => Buffer.from(encodeCbor(m))));
}

/** Every `topicHashes` list in the messages (PSI sets). */
function hashSetSizes(messages: readonly unknown[]): number[] {
  return messages.flatMap((m) =>
    typeof m === "object" && m !== null && "topicHashes" in m
      ? [(m as { topicHashes: unknown[] }).topicHashes.length]
      : [],
  );
}

const secret = TopicSecret.fromName("wire privacy: a topic secret from a long name");
const topicId = secret.topic;
const gossipLine = "a private gossip line no outsider may read";
const logLine = "a private log entry no outsider may read";
const parties: Party[] = [];

afterAll(async () => {
  for (const p of parties) await p.node.stop();
  for (const p of parties) await p.book.close();
});

describe("wire privacy: what bootstrap, stranger, members and blind peer see above Noise", () => {
  it("no topic, id or unsalted hash to outsiders; no plaintext to the blind peer; padded sets; strangers learn no one", {
    timeout: 180_000,
  }, async () => {
    const b = await party("bootstrap", [], []);
    parties.push(b);
    const bootstrap = b.node.endpoint.listenAddresses().filter((a) => a.includes("/ws"));
    // Their topic is in their books from the start, as an app that joined it before would have.
    const v1 = await party("member 1", [topicId], bootstrap);
    const v2 = await party("member 2", [topicId], bootstrap);
    const p = await party("blind peer", [topicId], bootstrap);
    const x = await party("stranger", [Topic.random()], bootstrap);
    parties.push(v1, v2, p, x);
    for (const q of parties) await q.node.start();

    const payloadKey = secret.payloadKey;
    const s1 = await v1.node.sync.stream(topicId, { payloadKey });
    const g1 = await v1.node.gossip.stream(topicId, { payloadKey });
    const g2 = await v2.node.gossip.stream(topicId, { payloadKey });
    const sp = await p.node.sync.stream(topicId);
    // The blind peer relays the topic's gossip too, without a key.
    const gp = await p.node.gossip.stream(topicId);
    const relayed = firstValueFrom(gp.messages$.pipe(timeout(30_000)));
    // Awaited below; a failure before that must not leave its timeout unhandled.
    relayed.catch(() => {});
    await s1.publish(new TextEncoder().encode(logLine));
    // The blind peer has the member's entry (ciphertext), found through discovery alone.
    await firstValueFrom(
      sp.events$.pipe(
        filter((e) => e.type === "sync:operation-received"),
        timeout(120_000),
      ),
    );
    await Promise.all([g1.joined(), g2.joined(), gp.joined()]);
    const heard = firstValueFrom(g2.messages$.pipe(timeout(30_000)));
    await g1.publish(new TextEncoder().encode(gossipLine));
    expect(new TextDecoder().decode((await heard).content)).toBe(gossipLine);
    // What reached the blind peer is the sealed message.
    expect(Buffer.from((await relayed).content).includes(Buffer.from(gossipLine))).toBe(false);
    // The stranger has had sessions with the members (its walkers reach everyone it is told of).
    await firstValueFrom(
      x.node.discovery.events$.pipe(
        filter(
          (e) =>
            e.type === "discovery:session-ended" &&
            [v1.node.endpoint.nodeId, v2.node.endpoint.nodeId].includes(e.remoteNodeId),
        ),
        timeout(120_000),
      ),
    );

    const secretBytes = Buffer.from(secret.toHex(), "hex");
    const idBytes = Buffer.from(Topic.toBytes(topicId));
    const needles = {
      "the secret": secretBytes,
      "the topic id": idBytes,
      "the unsalted hash of the topic id": Buffer.from(hash(Topic.toBytes(topicId))),
      "the unsalted hash of the secret": Buffer.from(hash(secretBytes)),
      "the gossip plaintext": Buffer.from(gossipLine),
      "the log plaintext": Buffer.from(logLine),
    };
    for (const outsider of [b, x]) {
      const seen = bytesOf(outsider.received);
      expect(seen.length).toBeGreaterThan(0);
      for (const [what, needle] of Object.entries(needles)) {
        expect(seen.includes(needle), `${outsider.name} saw ${what}`).toBe(false);
      }
    }
    // The blind peer sees the topic id (it runs on it) but neither the secret nor any plaintext.
    const blind = bytesOf(p.received);
    expect(blind.includes(idBytes)).toBe(true);
    for (const what of ["the secret", "the gossip plaintext", "the log plaintext"] as const) {
      expect(blind.includes(needles[what]), `the blind peer saw ${what}`).toBe(false);
    }
    // Every PSI set anyone received is padded: a power of two, at least 8.
    const sizes = parties.flatMap((q) => hashSetSizes(q.received));
    expect(sizes.length).toBeGreaterThan(0);
    for (const size of sizes) {
      expect(size).toBeGreaterThanOrEqual(8);
      expect(size & (size - 1)).toBe(0);
    }
    // What members told the stranger: their own transport info and the bootstrap's, nobody else.
    const memberIds = new Set<string>([v1, v2].map((v) => v.node.endpoint.nodeId));
    const allowed = (sender: string) => new Set<string>([sender, b.node.endpoint.nodeId]);
    let fromMembers = 0;
    for (const { remote, message } of x.from) {
      if (!memberIds.has(remote)) continue;
      if (typeof message !== "object" || message === null || !("transportInfos" in message))
        continue;
      fromMembers++;
      const ids = (message as { transportInfos: [Uint8Array, unknown][] }).transportInfos.map(
        ([id]) => Buffer.from(id).toString("hex"),
      );
      expect(ids).toContain(remote);
      for (const id of ids) expect(allowed(remote).has(id), `stranger learned ${id}`).toBe(true);
    }
    expect(fromMembers).toBeGreaterThan(0);
  });
});

// The room over two or three nodes made by createNode on an in-process MemoryNetwork: what the
// one-call API adds to gossip and sync (queueing, unique messages, authors, the log, peers).
import { AddressBook, memoryAddressBookStore } from "@p2panda-web/address-book";
import {
  createNode,
  createNodeInfo,
  Identity,
  SEALED_PAYLOAD_OVERHEAD,
  Topic,
  TopicSecret,
} from "@p2panda-web/core";
import { MemoryNetwork } from "@p2panda-web/core/endpoint";
import { filter, firstValueFrom, type Observable, take, timeout, toArray } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import { Room, RoomLeftError, type RoomMessage, RoomMessageTooLargeError } from "../src/index.ts";

const rooms: Room[] = [];
afterEach(async () => {
  for (const room of rooms.splice(0)) await room.leave().catch(() => {});
});

async function memoryNode(network: MemoryNetwork) {
  const identity = await Identity.generate();
  return createNode({
    identity,
    addressBook: () => AddressBook.open(memoryAddressBookStore()),
    endpoint: network.endpoint(identity.nodeId),
    discovery: false,
    gossip: { healIntervalMs: 100 },
  });
}

type MemoryNode = Awaited<ReturnType<typeof memoryNode>>;

/**
 * `who` learns, as discovery would tell it, that `about` is on the room of `topic` (an encrypted
 * room's overlay runs on the id derived from it).
 */
async function learn(
  who: MemoryNode,
  about: MemoryNode,
  topic: Topic,
  encrypted = true,
): Promise<void> {
  await who.addressBook.insertNodeInfo(createNodeInfo(about.identity.nodeId));
  const onWire = encrypted ? TopicSecret.fromTopic(topic).topic : topic;
  await who.addressBook.addTopic(about.identity.nodeId, onWire);
}

async function open(node: MemoryNode, topic: Topic): Promise<Room> {
  const room = await Room.open(node, topic, { ownsNode: true });
  rooms.push(room);
  return room;
}

function first<T>(source: Observable<T>, predicate: (v: T) => boolean = () => true, ms = 5_000) {
  return firstValueFrom(source.pipe(filter(predicate), timeout(ms)));
}

const connected = (room: Room) => first(room.peers$, (peers) => peers.size > 0);

describe("Room", () => {
  it("queues a message published before the first neighbour and delivers it once one joins", async () => {
    const network = new MemoryNetwork();
    const topic = Topic.fromName("room: queue");
    const [a, b] = [await memoryNode(network), await memoryNode(network)];
    const roomA = await open(a, topic);
    let sent = false;
    const publishing = roomA.publish("before anyone").then((id) => {
      sent = true;
      return id;
    });
    const roomB = await open(b, topic);
    // B runs, but neither knows the other yet: the message still waits.
    expect(sent).toBe(false);
    const received = first(roomB.messages$);
    await learn(a, b, topic);
    await learn(b, a, topic);
    const id = await publishing;
    const message = await received;
    expect(message.text()).toBe("before anyone");
    expect(message.id).toBe(id);
    expect(message.from).toBe(a.identity.nodeId);
  });

  it("delivers the same content published twice as two messages with different ids", async () => {
    const network = new MemoryNetwork();
    const topic = Topic.fromName("room: twice");
    const [a, b] = [await memoryNode(network), await memoryNode(network)];
    await learn(b, a, topic);
    const [roomA, roomB] = [await open(a, topic), await open(b, topic)];
    await connected(roomA);
    const two = firstValueFrom(roomB.messages$.pipe(take(2), toArray(), timeout(5_000)));
    const ids = [await roomA.publish("ping"), await roomA.publish("ping")];
    const messages: RoomMessage[] = await two;
    expect(messages.map((m) => m.text())).toEqual(["ping", "ping"]);
    expect(messages.map((m) => m.id)).toEqual(ids);
    expect(new Set(ids).size).toBe(2);
  });

  it("names the author as `from` when a third node relays the message", async () => {
    const network = new MemoryNetwork();
    const topic = Topic.fromName("room: relayed");
    const [a, hub, c] = [
      await memoryNode(network),
      await memoryNode(network),
      await memoryNode(network),
    ];
    // A line a — hub — c: a and c know only the hub.
    await learn(a, hub, topic);
    await learn(c, hub, topic);
    const roomA = await open(a, topic);
    await open(hub, topic);
    const roomC = await open(c, topic);
    await Promise.all([connected(roomA), connected(roomC)]);
    const received = first(roomC.messages$);
    await roomA.publish(new Uint8Array([1, 2, 3]));
    const message = await received;
    expect(message.from).toBe(a.identity.nodeId);
    expect(message.content).toEqual(new Uint8Array([1, 2, 3]));
  });

  it("shows who is connected on peers$", async () => {
    const network = new MemoryNetwork();
    const topic = Topic.fromName("room: peers");
    const [a, b] = [await memoryNode(network), await memoryNode(network)];
    await learn(b, a, topic);
    const roomA = await open(a, topic);
    expect(await first(roomA.peers$)).toEqual(new Set());
    await open(b, topic);
    expect(await connected(roomA)).toEqual(new Set([b.identity.nodeId]));
  });

  it("syncs the log: an entry appended before the peer came is in its history and on its operations$", async () => {
    const network = new MemoryNetwork();
    const topic = Topic.fromName("room: log");
    const [a, b] = [await memoryNode(network), await memoryNode(network)];
    const roomA = await open(a, topic);
    const own = first(roomA.log.operations$);
    const appended = await roomA.log.append("stored");
    expect((await own).id).toBe(appended.id);
    expect(appended.author).toBe(a.identity.nodeId);
    expect(appended.text()).toBe("stored");

    await learn(b, a, topic);
    const roomB = await open(b, topic);
    const remote = await first(roomB.log.operations$, () => true, 10_000);
    expect(remote.id).toBe(appended.id);
    expect((await roomB.log.history()).map((e) => e.text())).toEqual(["stored"]);

    // Live: what B appends now reaches A without a new session.
    const back = first(roomA.log.operations$, (e) => e.author === b.identity.nodeId, 10_000);
    await roomB.log.append("reply");
    expect((await back).text()).toBe("reply");
    expect((await roomA.log.history()).map((e) => e.text())).toEqual(["stored", "reply"]);
  });

  it("refuses content too large for one gossip message with ROOM_MESSAGE_TOO_LARGE", async () => {
    const network = new MemoryNetwork();
    const room = await open(await memoryNode(network), Topic.fromName("room: large"));
    const error = await room.publish(new Uint8Array(4_096)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RoomMessageTooLargeError);
    // The sealed message must fit into one gossip message.
    const max = 4_096 - SEALED_PAYLOAD_OVERHEAD;
    expect(error).toMatchObject({ code: "ROOM_MESSAGE_TOO_LARGE", maxSize: max });
    // Just below the limit fits (it waits for a neighbour: the room is alone).
    const fits = room.publish(new Uint8Array(max - 122)).catch((e: unknown) => e);
    await room.leave();
    expect(await fits).toBeInstanceOf(RoomLeftError);
  });

  it("on leave: rejects queued messages, completes its streams, stops the node it owns", async () => {
    const network = new MemoryNetwork();
    const node = await memoryNode(network);
    const room = await open(node, Topic.fromName("room: leave"));
    const queued = room.publish("nobody here").catch((e: unknown) => e);
    const completed = Promise.all(
      [room.messages$, room.peers$, room.log.operations$].map(
        (stream) =>
          new Promise<void>((resolve) =>
            (stream as Observable<unknown>).subscribe({ complete: resolve }),
          ),
      ),
    );
    await room.leave();
    expect(await queued).toBeInstanceOf(RoomLeftError);
    await completed;
    expect(node.state).toBe("stopped");
    await expect(room.publish("after")).rejects.toMatchObject({ code: "ROOM_LEFT" });
    await expect(room.log.append("after")).rejects.toMatchObject({ code: "ROOM_LEFT" });
    await room.leave();
  });

  it("leaves a node it does not own running", async () => {
    const network = new MemoryNetwork();
    const node = await memoryNode(network);
    const room = await Room.open(node, Topic.fromName("room: borrowed"));
    await room.leave();
    expect(node.state).toBe("running");
    await node.stop();
  });
});

describe("Room: end-to-end encryption (default)", () => {
  const contains = (haystack: Uint8Array, needle: string): boolean =>
    Buffer.from(haystack).includes(Buffer.from(needle));

  it("a peer given only the topic id relays and keeps ciphertext; members read the plaintext", async () => {
    const network = new MemoryNetwork();
    const topic = Topic.fromName("room: encrypted secret");
    const onWire = TopicSecret.fromTopic(topic).topic;
    const [a, blind] = [await memoryNode(network), await memoryNode(network)];
    await learn(blind, a, topic);
    const roomA = await open(a, topic);
    expect(roomA.topic).toBe(onWire);
    // The blind peer joins the same overlay and log without the key.
    const gossip = await blind.gossip.stream(onWire);
    const log = await blind.sync.stream(onWire, { liveMode: true });
    await connected(roomA);
    const relayed = first(gossip.messages$);
    const stored = first(log.events$, (e) => e.type === "sync:operation-received");
    await roomA.publish("gossip plaintext");
    await roomA.log.append("log plaintext");
    expect(contains((await relayed).content, "gossip plaintext")).toBe(false);
    await stored;
    const [operation] = await log.operations();
    expect(operation?.body).toBeDefined();
    expect(contains(operation?.body as Uint8Array, "log plaintext")).toBe(false);
    // A member who comes later reads everything, the history through the blind peer only.
    await roomA.leave();
    const b = await memoryNode(network);
    await learn(b, blind, topic);
    const roomB = await open(b, topic);
    const history = roomB.log.operations$.pipe(take(1), timeout(5_000));
    expect((await firstValueFrom(history)).text()).toBe("log plaintext");
    await gossip.close();
    await blind.stop();
  });

  it("`encryption: false` runs on the topic as given, in plain text", async () => {
    const network = new MemoryNetwork();
    const topic = Topic.fromName("room: plain text room");
    const [a, b] = [await memoryNode(network), await memoryNode(network)];
    await learn(b, a, topic, false);
    const roomA = await Room.open(a, topic, { ownsNode: true, encryption: false });
    rooms.push(roomA);
    expect(roomA.topic).toBe(topic);
    const plain = await b.gossip.stream(topic);
    await connected(roomA);
    const relayed = first(plain.messages$);
    await roomA.publish("readable by all");
    expect(contains((await relayed).content, "readable by all")).toBe(true);
    await plain.close();
    await b.stop();
  });
});

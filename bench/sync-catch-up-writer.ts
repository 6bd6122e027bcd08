// The writer side of bench/sync-catch-up.bench.ts, in a child process of its own: its SQLite
// logs, its libp2p node and its initiator SyncSession run on their own V8 heap and their own
// CPU time, so that the bench's heap sampler and CPU clock see only the reader, as they would
// in a catch-up from a remote peer. Started by `startRemoteWriter` (IPC with structured clone);
// answers each request with one reply of the same id.
import { cpuUsage } from "node:process";
import { AddressBook, memoryAddressBookStore } from "@p2panda-web/address-book";
import { NodeId, ProtocolName, Topic, transportInfoFromWire } from "@p2panda-web/core";
import type { Endpoint } from "@p2panda-web/core/endpoint";
import { SyncSession } from "@p2panda-web/core/sync";
import { openSqliteSyncStores } from "@p2panda-web/log-store/sqlite";
import { catchUpEndpoint } from "./sync-catch-up-endpoint.ts";

/** A request of the parent. */
export type WriterRequest =
  | {
      readonly id: number;
      readonly type: "connect";
      readonly reader: string;
      readonly info: unknown;
    }
  | { readonly id: number; readonly type: "send"; readonly file: string; readonly topic: string }
  | { readonly id: number; readonly type: "disconnect" }
  | { readonly id: number; readonly type: "exit" };

/** The answer to one request; `cpuMicros` is this process's CPU time while sending. */
export type WriterReply =
  | { readonly id: number; readonly ok: true; readonly cpuMicros?: number }
  | { readonly id: number; readonly ok: false; readonly error: string };

const send = (reply: WriterReply): void => {
  process.send?.(reply);
};

let endpoint: { node: Endpoint; book: AddressBook; reader: NodeId } | undefined;

async function connect(reader: string, info: unknown): Promise<void> {
  const book = await AddressBook.open(memoryAddressBookStore());
  const node = await catchUpEndpoint(book);
  const id = NodeId.fromHex(reader);
  await book.insertTransportInfo(id, transportInfoFromWire(info));
  await node.dial(id);
  endpoint = { node, book, reader: id };
}

/** Topics by name (`Topic.fromName` is scrypt: derived once). */
const topics = new Map<string, Topic>();

async function sendLog(file: string, topicName: string): Promise<number> {
  if (endpoint === undefined) throw new Error("not connected");
  let topic = topics.get(topicName);
  if (topic === undefined) {
    topic = Topic.fromName(topicName);
    topics.set(topicName, topic);
  }
  const stores = await openSqliteSyncStores(file);
  try {
    const cpu0 = cpuUsage();
    const channel = await endpoint.node.connect(endpoint.reader, ProtocolName.logSync, {
      receiveTimeoutMs: 120_000,
    });
    await new SyncSession({
      role: "initiator",
      topic,
      logStore: stores.logStore,
      topicStore: stores.topicStore,
    }).run(channel);
    const used = cpuUsage(cpu0);
    return used.user + used.system;
  } finally {
    await stores.close();
  }
}

async function disconnect(): Promise<void> {
  const current = endpoint;
  endpoint = undefined;
  if (current === undefined) return;
  await current.node.stop();
  await current.book.close();
}

process.on("message", (request: WriterRequest) => {
  const answer = async (): Promise<WriterReply> => {
    switch (request.type) {
      case "connect":
        await connect(request.reader, request.info);
        return { id: request.id, ok: true };
      case "send":
        return { id: request.id, ok: true, cpuMicros: await sendLog(request.file, request.topic) };
      case "disconnect":
        await disconnect();
        return { id: request.id, ok: true };
      case "exit":
        await disconnect();
        send({ id: request.id, ok: true });
        process.disconnect?.();
        return { id: request.id, ok: true };
    }
  };
  answer()
    .then((reply) => {
      if (request.type !== "exit") send(reply);
    })
    .catch((error: unknown) => send({ id: request.id, ok: false, error: String(error) }));
});

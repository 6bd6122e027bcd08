// Large catch-ups through the real endpoint: two Node endpoints on loopback WebSockets (noise,
// yamux, the endpoint's stream flow control), one `SyncSession` pair on a log-sync stream. These
// sizes broke on flaws below the sync protocol (write backpressure, paused streams, yamux's
// receive window, an event loop held by synchronous verification); the memory channels of the
// other sync tests cannot show them.
import { AddressBook, memoryAddressBookStore } from "@p2panda-web/address-book";
import { Identity, nobleEd25519, ProtocolName, Topic } from "@p2panda-web/core";
import type { Endpoint } from "@p2panda-web/core/endpoint";
import {
  MemoryLogStore,
  MemoryTopicStore,
  type SignatureVerifier,
  type SyncMetrics,
  SyncSession,
} from "@p2panda-web/core/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loopbackEndpoint } from "../endpoint/loopback.ts";
import { storedLog } from "./signed-log.ts";

const topic = Topic.fromName("large catch-up");

interface Side {
  readonly book: AddressBook;
  readonly endpoint: Endpoint;
}

async function side(): Promise<Side> {
  const book = await AddressBook.open(memoryAddressBookStore());
  const endpoint = await loopbackEndpoint({
    identity: await Identity.generate(),
    addressBook: book,
  });
  return { book, endpoint };
}

let reader: Side;
let writer: Side;

beforeAll(async () => {
  reader = await side();
  writer = await side();
  await writer.book.insertTransportInfo(reader.endpoint.nodeId, reader.endpoint.transportInfo()!);
});

afterAll(async () => {
  for (const s of [writer, reader]) {
    await s?.endpoint.stop();
    await s?.book.close();
  }
});

/**
 * Catches the reader up on `log` over a fresh log-sync stream (verifying with `verifier`, else
 * the default: WebCrypto where the runtime has it); both sessions' metrics.
 */
async function catchUp(
  log: { store: MemoryLogStore; topics: MemoryTopicStore },
  verifier?: SignatureVerifier,
): Promise<{ writer: SyncMetrics; reader: SyncMetrics; readerStore: MemoryLogStore }> {
  const readerStore = new MemoryLogStore();
  let accepted!: Promise<SyncMetrics>;
  const started = new Promise<void>((resolve) => {
    reader.endpoint.accept(ProtocolName.logSync, async (channel) => {
      const session = new SyncSession({
        role: "acceptor",
        logStore: readerStore,
        topicStore: new MemoryTopicStore(),
        ...(verifier !== undefined ? { verifier } : {}),
      });
      accepted = session.run(channel);
      resolve();
      await accepted;
    });
  });
  try {
    const channel = await writer.endpoint.connect(reader.endpoint.nodeId, ProtocolName.logSync);
    const initiator = new SyncSession({
      role: "initiator",
      topic,
      logStore: log.store,
      topicStore: log.topics,
    });
    const sending = initiator.run(channel);
    await started;
    const [writerMetrics, readerMetrics] = await Promise.all([sending, accepted]);
    return { writer: writerMetrics, reader: readerMetrics, readerStore };
  } finally {
    await reader.endpoint.unaccept(ProtocolName.logSync);
  }
}

describe("large catch-ups over libp2p WebSockets", () => {
  it("20,000 operations (about 6 MB) arrive complete and in log order", {
    timeout: 120_000,
  }, async () => {
    const n = 20_000;
    const log = await storedLog(n, topic);
    const { writer: sent, reader: got, readerStore } = await catchUp(log);
    expect(sent.sentSyncOperations).toBe(n);
    expect(got.storedOperations).toBe(n);
    const stored = await readerStore.range(log.author.nodeId, 0);
    expect(stored.length).toBe(n);
    expect(stored.every((op, i) => op.header.seqNum === i)).toBe(true);
    expect(
      new DataView(stored[n - 1]!.body!.buffer, stored[n - 1]!.body!.byteOffset).getUint32(0),
    ).toBe(n - 1);
  });

  it("with synchronous verification (noble, slowed as on a slow phone), timers keep running", {
    timeout: 120_000,
  }, async () => {
    const n = 2_000;
    const log = await storedLog(n, topic);
    // noble verifies inside an async function without ever giving way; an extra millisecond of
    // spinning per signature stands for a device slower than this machine.
    const slowNoble: SignatureVerifier = {
      async verify(publicKey, message, signature) {
        const until = performance.now() + 1;
        while (performance.now() < until) {}
        return nobleEd25519.verify(publicKey, message, signature);
      },
    };
    // The longest the event loop went without running a 5 ms timer. A connection whose loop
    // stands still longer than the liveness ping's timeout (3 s) is closed. Everything the
    // stream buffered (hundreds of operations) verified in one go takes over a second here; one
    // batch of 128, a quarter of that. Counted in CPU time the process spent between two ticks:
    // on a busy machine the wall-clock gap also holds the time the OS did not run us at all,
    // which no code of ours can shorten.
    let last = process.cpuUsage();
    let longestStall = 0;
    const timer = setInterval(() => {
      const spent = process.cpuUsage(last);
      longestStall = Math.max(longestStall, (spent.user + spent.system) / 1000);
      last = process.cpuUsage();
    }, 5);
    try {
      const { reader: got } = await catchUp(log, slowNoble);
      expect(got.storedOperations).toBe(n);
    } finally {
      clearInterval(timer);
    }
    expect(longestStall).toBeLessThan(500);
  });
});

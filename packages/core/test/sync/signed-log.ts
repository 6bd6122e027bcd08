// One author's signed log, for the large-log tests and the benchmarks: operations with fixed-size
// payloads that start with their sequence number, chained by backlinks, fixed timestamps.
import { Identity } from "../../src/identity/identity.ts";
import type { Topic } from "../../src/ids/topic.ts";
import { createOperation, type Operation } from "../../src/sync/operation.ts";
import { MemoryLogStore, MemoryTopicStore } from "../../src/sync/store/memory.ts";

/** Options of {@link signedLog}. */
export interface SignedLogOptions {
  /** The author's secret key is 32 bytes of this value. Default 7. */
  readonly seed?: number;
  /** Default 100. */
  readonly payloadBytes?: number;
}

/** `n` operations of log 0 of one author, signed (WebCrypto where the runtime has it). */
export async function signedLog(
  n: number,
  options: SignedLogOptions = {},
): Promise<{ author: Identity; ops: Operation[] }> {
  const author = await Identity.fromSecretKey(new Uint8Array(32).fill(options.seed ?? 7));
  const ops: Operation[] = [];
  let previous: Operation | undefined;
  for (let seqNum = 0; seqNum < n; seqNum++) {
    const payload = new Uint8Array(options.payloadBytes ?? 100);
    new DataView(payload.buffer).setUint32(0, seqNum);
    previous = await createOperation(author, {
      payload,
      seqNum,
      ...(previous !== undefined ? { backlink: previous.hash } : {}),
      timestamp: 1_700_000_000_000_000 + seqNum,
    });
    ops.push(previous);
  }
  return { author, ops };
}

/** {@link signedLog}, stored in memory stores and associated with `topic`. */
export async function storedLog(
  n: number,
  topic: Topic,
  options: SignedLogOptions = {},
): Promise<{
  author: Identity;
  ops: Operation[];
  store: MemoryLogStore;
  topics: MemoryTopicStore;
}> {
  const { author, ops } = await signedLog(n, options);
  const store = new MemoryLogStore();
  const topics = new MemoryTopicStore();
  await topics.associate(topic, author.nodeId, 0);
  for (let i = 0; i < ops.length; i += 1000) await store.putMany(ops.slice(i, i + 1000));
  return { author, ops, store, topics };
}

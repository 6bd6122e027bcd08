// The address-book workload, shared by the Node benchmark (memory, SQLite) and Chromium
// (IndexedDB, through bench/browser.ts). Imports nothing Node-only.
import {
  AddressBook,
  type AddressBookStore,
  indexedDbAddressBookStore,
} from "@p2panda-web/address-book";
import {
  type AuthenticatedTransportInfo,
  createNodeInfo,
  HybridTimestamp,
  Identity,
  type NodeId,
  type NodeInfo,
  seededRng,
  signTransportInfo,
  Topic,
} from "@p2panda-web/core";

/** What one workload run measured, per operation label. */
export interface WorkloadResult {
  readonly nodes: number;
  /** Operations per second, or milliseconds for labels ending in "(ms)". */
  readonly results: Record<string, number>;
}

/** The operation labels, in table order. */
export const OPERATIONS = {
  untrusted: "insertTransportInfo — untrusted, verifies signature, 100 in flight (ops/s)",
  trusted: "insertNodeInfo — trusted, 100 in flight (ops/s)",
  trustedSequential: "insertNodeInfo — trusted, one at a time until durable (ops/s)",
  setTopics: "setTopics — 4 topics per node, 100 in flight (ops/s)",
  byTopics: "nodeInfosByTopics — 3 of 100 topics (queries/s)",
  open: "open — load every record (ms)",
} as const;

const IN_FLIGHT = 100;
const TOPIC_POOL = 100;
const TOPICS_PER_NODE = 4;

/** Signed infos and topic choices for `n` nodes, made before any timing. */
export interface PreparedNodes {
  readonly ids: NodeId[];
  readonly infos: AuthenticatedTransportInfo[];
  readonly topics: Topic[][];
  readonly pool: Topic[];
}

/** Generates `n` identities and signs a transport info for each (not timed). */
export async function prepareNodes(n: number): Promise<PreparedNodes> {
  const rng = seededRng(n);
  const pool = Array.from({ length: TOPIC_POOL }, (_, i) => Topic.fromName(`bench/${i}`));
  const ids: NodeId[] = [];
  const infos: AuthenticatedTransportInfo[] = [];
  const topics: Topic[][] = [];
  for (let i = 0; i < n; i++) {
    const identity = await Identity.generate();
    ids.push(identity.nodeId);
    infos.push(
      await signTransportInfo(identity, new HybridTimestamp(1_700_000_000_000 + i, 0), [
        `/ip4/10.0.${(i >> 8) & 255}.${i & 255}/tcp/4001`,
      ]),
    );
    topics.push(Array.from({ length: TOPICS_PER_NODE }, () => pool[rng.int(TOPIC_POOL)] as Topic));
  }
  return { ids, infos, topics, pool };
}

async function inFlight<T>(items: readonly T[], op: (item: T, i: number) => Promise<unknown>) {
  for (let start = 0; start < items.length; start += IN_FLIGHT) {
    await Promise.all(items.slice(start, start + IN_FLIGHT).map((item, j) => op(item, start + j)));
  }
}

/**
 * Runs the workload on a fresh store: fills a book with `prepared` nodes and measures every
 * operation of {@link OPERATIONS}.
 */
export async function measure(
  prepared: PreparedNodes,
  makeStore: () => Promise<AddressBookStore>,
  reopen: (closed: AddressBookStore) => Promise<AddressBookStore>,
  options: { sequential: number; queries: number },
): Promise<WorkloadResult> {
  const n = prepared.ids.length;
  const results: Record<string, number> = {};
  const rate = (label: string, count: number, started: number) => {
    results[label] = Math.round(count / ((performance.now() - started) / 1000));
  };
  const store = await makeStore();
  const book = await AddressBook.open(store, { maxNodes: n });

  let started = performance.now();
  await inFlight(prepared.ids, (id, i) =>
    book.insertTransportInfo(id, prepared.infos[i] as AuthenticatedTransportInfo),
  );
  rate(OPERATIONS.untrusted, n, started);
  if (book.size !== n) throw new Error(`expected ${n} nodes, have ${book.size}`);

  const trusted: NodeInfo[] = prepared.ids.map((id, i) =>
    createNodeInfo(id, {
      bootstrap: i % 50 === 0,
      transports: { kind: "trusted", addresses: [`/ip4/10.1.0.1/tcp/${1000 + (i % 60000)}`] },
    }),
  );
  started = performance.now();
  await inFlight(trusted, (info) => book.insertNodeInfo(info));
  rate(OPERATIONS.trusted, n, started);

  const sequential = Math.min(options.sequential, n);
  started = performance.now();
  for (let i = 0; i < sequential; i++) await book.insertNodeInfo(trusted[i] as NodeInfo);
  rate(OPERATIONS.trustedSequential, sequential, started);

  started = performance.now();
  await inFlight(prepared.ids, (id, i) => book.setTopics(id, prepared.topics[i] as Topic[]));
  rate(OPERATIONS.setTopics, n, started);

  const rng = seededRng(1);
  const queries = Array.from({ length: options.queries }, () =>
    Array.from({ length: 3 }, () => prepared.pool[rng.int(TOPIC_POOL)] as Topic),
  );
  let found = 0;
  started = performance.now();
  for (const topics of queries) found += book.nodeInfosByTopics(topics).length;
  rate(OPERATIONS.byTopics, options.queries, started);
  if (found === 0) throw new Error("queries found nothing");

  await book.close();
  started = performance.now();
  const again = await AddressBook.open(await reopen(store));
  results[OPERATIONS.open] = Math.round(performance.now() - started);
  if (again.size !== n) throw new Error(`reopened with ${again.size} of ${n} nodes`);
  await again.close();
  return { nodes: n, results };
}

/** Node counts and loop sizes of a run. */
export function sizes(quick: boolean): { counts: number[]; sequential: number; queries: number } {
  return quick
    ? { counts: [1_000], sequential: 100, queries: 2_000 }
    : { counts: [1_000, 10_000], sequential: 500, queries: 20_000 };
}

/** Chromium entry point (bench/browser.ts): the workload on real IndexedDB. */
export async function run(args: { quick: boolean }): Promise<WorkloadResult[]> {
  const { counts, sequential, queries } = sizes(args.quick);
  const out: WorkloadResult[] = [];
  const suffix = Math.random().toString(36).slice(2);
  for (const n of counts) {
    const prepared = await prepareNodes(n);
    const name = `bench-address-book-${n}-${suffix}`;
    out.push(
      await measure(
        prepared,
        () => indexedDbAddressBookStore(name),
        () => indexedDbAddressBookStore(name),
        { sequential, queries },
      ),
    );
    await new Promise<void>((resolve) => {
      const request = indexedDB.deleteDatabase(name);
      request.onsuccess = request.onerror = request.onblocked = () => resolve();
    });
  }
  return out;
}

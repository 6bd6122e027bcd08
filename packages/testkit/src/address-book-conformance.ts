/**
 * The shared acceptance suite of the address book: every `AddressBookStore` backend runs it
 * (memory, SQLite, fake-indexeddb in Node, real IndexedDB in Chromium; yours too). One `describe`
 * per spec rule (spec §2); upstream test names are kept where a test ports one.
 * @module @p2panda-web/testkit/address-book
 */

import {
  AddressBook,
  type AddressBookOptions,
  type AddressBookStore,
  type Change,
} from "@p2panda-web/address-book";
import {
  type AuthenticatedTransportInfo,
  createNodeInfo,
  HybridTimestamp,
  Identity,
  isStale,
  ManualClock,
  NodeId,
  type NodeInfo,
  type P2pandaError,
  seededRng,
  signTransportInfo,
  Topic,
  transportInfoSigningBytes,
} from "@p2panda-web/core";
import type { Observable } from "rxjs";
import { afterEach, beforeAll, describe, expect, it } from "vitest";

/** Makes a fresh, empty store (a new database for persistent backends). */
export type MakeStore = () => Promise<AddressBookStore>;
/** Opens again the database behind `closed` (a store from `MakeStore`, already closed). */
export type ReopenStore = (closed: AddressBookStore) => Promise<AddressBookStore>;

const ts = (physical: number, logical = 0): HybridTimestamp =>
  new HybridTimestamp(physical, logical);

const topicA = Topic.fromName("conformance/a");
const topicB = Topic.fromName("conformance/b");
const topicC = Topic.fromName("conformance/c");
const topicD = Topic.fromName("conformance/d");

/** Collects what an Observable emits, and whether it completed. */
function record<T>(observable: Observable<T>): { values: T[]; completed: () => boolean } {
  const values: T[] = [];
  let completed = false;
  observable.subscribe({
    next: (v) => values.push(v),
    complete: () => {
      completed = true;
    },
  });
  return { values, completed: () => completed };
}

async function expectCode(promise: Promise<unknown>, ...codes: string[]): Promise<void> {
  const error = (await promise.then(
    () => undefined,
    (e: unknown) => e,
  )) as P2pandaError | undefined;
  expect(error, `expected a rejection with ${codes.join(" or ")}`).toBeDefined();
  expect(codes).toContain(error?.code);
}

/**
 * Registers the conformance suite for one backend.
 * @param name - backend name, shown in test titles.
 * @param makeStore - a fresh, empty store per call.
 * @param reopenStore - for persistent backends: reopens a closed store's database, enabling the
 *   "close and reopen keeps every record" tests.
 */
export function describeAddressBookConformance(
  name: string,
  makeStore: MakeStore,
  reopenStore?: ReopenStore,
): void {
  describe(`AddressBook conformance: ${name}`, () => {
    const ids: Identity[] = [];
    let alice: Identity;
    let bob: Identity;
    let carol: Identity;
    const open: AddressBook[] = [];

    beforeAll(async () => {
      for (let i = 0; i < 8; i++) ids.push(await Identity.generate());
      [alice, bob, carol] = ids as [Identity, Identity, Identity];
    });

    afterEach(async () => {
      for (const book of open.splice(0)) await book.close();
    });

    async function openBook(
      options: AddressBookOptions = {},
      store?: AddressBookStore,
    ): Promise<AddressBook> {
      const book = await AddressBook.open(store ?? (await makeStore()), options);
      open.push(book);
      return book;
    }

    const address = (port: number): string => `/ip4/127.0.0.1/tcp/${port}`;
    const signed = (identity: Identity, at: HybridTimestamp, port = 4000) =>
      signTransportInfo(identity, at, [address(port)]);

    describe("insert_node_and_transport_info", () => {
      it("inserts a trusted node info, reporting whether it was new", async () => {
        const book = await openBook();
        const info = createNodeInfo(alice.nodeId, { bootstrap: true });
        expect(await book.insertNodeInfo(info)).toBe(true);
        expect(await book.insertNodeInfo(info)).toBe(false);
        expect(book.nodeInfo(alice.nodeId)).toEqual(info);
        expect(book.nodeInfo(bob.nodeId)).toBeUndefined();
        expect(book.allNodeInfos()).toHaveLength(1);
      });

      it("trusted insert overwrites the whole record", async () => {
        const book = await openBook();
        await book.insertNodeInfo(createNodeInfo(alice.nodeId, { bootstrap: true }));
        await book.insertNodeInfo(createNodeInfo(alice.nodeId, { bootstrap: false }));
        expect(book.nodeInfo(alice.nodeId)?.bootstrap).toBe(false);
        expect(book.allBootstrapNodesCount()).toBe(0);
      });

      it("adds a transport info to a known node, keeping its bootstrap flag", async () => {
        const book = await openBook();
        await book.insertNodeInfo(createNodeInfo(alice.nodeId, { bootstrap: true }));
        const info = await signed(alice, ts(1000));
        expect(await book.insertTransportInfo(alice.nodeId, info)).toBe(true);
        const stored = book.nodeInfo(alice.nodeId);
        expect(stored?.bootstrap).toBe(true);
        expect(stored?.transports).toEqual(info);
      });

      it("creates the record of an unknown node (not a bootstrap)", async () => {
        const book = await openBook();
        const info = await signed(bob, ts(1000));
        expect(await book.insertTransportInfo(bob.nodeId, info)).toBe(true);
        expect(book.nodeInfo(bob.nodeId)).toMatchObject({
          nodeId: bob.nodeId,
          bootstrap: false,
          transports: info,
        });
        expect(book.metrics.transportInfosAccepted).toBe(1);
      });

      it("accepts a trusted node info carrying a valid authenticated transport info", async () => {
        const book = await openBook();
        const transports = await signed(alice, ts(5));
        await book.insertNodeInfo(createNodeInfo(alice.nodeId, { transports }));
        expect(book.nodeInfo(alice.nodeId)?.transports).toEqual(transports);
      });

      it("keeps trusted transport infos", async () => {
        const book = await openBook();
        const transports = { kind: "trusted", addresses: [address(1)] } as const;
        await book.insertNodeInfo(createNodeInfo(alice.nodeId, { transports }));
        expect(book.nodeInfo(alice.nodeId)?.transports).toEqual(transports);
      });
    });

    describe("authenticate_address_infos", () => {
      it("rejects a bad signature, stores nothing and counts it", async () => {
        const book = await openBook();
        const info = await signed(alice, ts(1000));
        const signature = info.signature.slice();
        signature[0] = (signature[0] ?? 0) ^ 1;
        await expectCode(
          book.insertTransportInfo(alice.nodeId, { ...info, signature }),
          "INVALID_SIGNATURE",
        );
        expect(book.nodeInfo(alice.nodeId)).toBeUndefined();
        expect(book.metrics.transportInfosInvalid).toBe(1);
      });

      it("rejects addresses changed after signing", async () => {
        const book = await openBook();
        const info = await signed(alice, ts(1000));
        const other = await signed(alice, ts(1000), 4001);
        await expectCode(
          book.insertTransportInfo(alice.nodeId, { ...info, addresses: other.addresses }),
          "INVALID_SIGNATURE",
        );
        expect(book.nodeInfo(alice.nodeId)).toBeUndefined();
      });

      it("rejects a newer timestamp than was signed", async () => {
        const book = await openBook();
        const info = await signed(alice, ts(1000));
        await expectCode(
          book.insertTransportInfo(alice.nodeId, { ...info, timestamp: ts(9999) }),
          "INVALID_SIGNATURE",
        );
      });

      it("does not replace a good info with a forged newer one", async () => {
        const book = await openBook();
        const good = await signed(alice, ts(1000));
        await book.insertTransportInfo(alice.nodeId, good);
        const forged = { ...(await signed(bob, ts(2000))), addresses: good.addresses };
        await expectCode(book.insertTransportInfo(alice.nodeId, forged), "INVALID_SIGNATURE");
        expect(book.nodeInfo(alice.nodeId)?.transports).toEqual(good);
      });

      it("trusted insert verifies an attached authenticated info", async () => {
        const book = await openBook();
        const info = await signed(bob, ts(1000));
        await expectCode(
          book.insertNodeInfo(createNodeInfo(alice.nodeId, { transports: info })),
          "INVALID_SIGNATURE",
          "NODE_ID_MISMATCH",
        );
        expect(book.nodeInfo(alice.nodeId)).toBeUndefined();
      });

      it("rejects a malformed node id", async () => {
        const book = await openBook();
        const info = await signed(alice, ts(1000));
        await expectCode(book.insertTransportInfo("zz" as NodeId, info), "INVALID_INPUT");
      });
    });

    describe("node_id_mismatch", () => {
      it("rejects a correctly signed info whose address names another node", async () => {
        const book = await openBook();
        const timestamp = ts(1000);
        const addresses = [`${address(1)}/p2p/${NodeId.toPeerId(bob.nodeId).toString()}`];
        const signature = await alice.sign(transportInfoSigningBytes(timestamp, addresses));
        const info: AuthenticatedTransportInfo = {
          kind: "authenticated",
          timestamp,
          signature,
          addresses,
        };
        await expectCode(book.insertTransportInfo(alice.nodeId, info), "NODE_ID_MISMATCH");
        expect(book.nodeInfo(alice.nodeId)).toBeUndefined();
        expect(book.metrics.transportInfosInvalid).toBe(1);
      });

      it("rejects another node's info filed under our id", async () => {
        const book = await openBook();
        const info = await signed(bob, ts(1000));
        await expectCode(
          book.insertTransportInfo(alice.nodeId, info),
          "INVALID_SIGNATURE",
          "NODE_ID_MISMATCH",
        );
        expect(book.nodeInfo(alice.nodeId)).toBeUndefined();
      });
    });

    describe("latest_transport_info_wins", () => {
      it("keeps the info with the greatest timestamp", async () => {
        const book = await openBook();
        const t2 = await signed(alice, ts(2000), 2);
        const t1 = await signed(alice, ts(1000), 1);
        const t3 = await signed(alice, ts(3000), 3);
        expect(await book.insertTransportInfo(alice.nodeId, t2)).toBe(true);
        expect(await book.insertTransportInfo(alice.nodeId, t1)).toBe(false);
        expect(book.nodeInfo(alice.nodeId)?.transports).toEqual(t2);
        expect(await book.insertTransportInfo(alice.nodeId, t3)).toBe(true);
        expect(book.nodeInfo(alice.nodeId)?.transports).toEqual(t3);
        expect(book.metrics.transportInfosOutdated).toBe(1);
      });

      it("orders by the logical counter when the physical time is equal", async () => {
        const book = await openBook();
        const a = await signed(alice, ts(1000, 1), 1);
        const b = await signed(alice, ts(1000, 2), 2);
        expect(await book.insertTransportInfo(alice.nodeId, b)).toBe(true);
        expect(await book.insertTransportInfo(alice.nodeId, a)).toBe(false);
        expect(book.nodeInfo(alice.nodeId)?.transports).toEqual(b);
      });

      it("an identical info reports true without a change", async () => {
        const book = await openBook();
        const info = await signed(alice, ts(1000));
        await book.insertTransportInfo(alice.nodeId, info);
        const changes = record(book.watchNodeInfo(alice.nodeId));
        expect(await book.insertTransportInfo(alice.nodeId, info)).toBe(true);
        expect(changes.values).toHaveLength(0);
      });

      it("an equal timestamp with other contents does not replace the stored info", async () => {
        const book = await openBook();
        const first = await signed(alice, ts(1000), 1);
        const second = await signed(alice, ts(1000), 2);
        await book.insertTransportInfo(alice.nodeId, first);
        expect(await book.insertTransportInfo(alice.nodeId, second)).toBe(false);
        expect(book.nodeInfo(alice.nodeId)?.transports).toEqual(first);
      });

      it("concurrent inserts end with the newest, whatever the order", async () => {
        const book = await openBook();
        const infos = await Promise.all([5, 1, 4, 2, 3].map((t) => signed(alice, ts(t * 1000), t)));
        await Promise.all(infos.map((info) => book.insertTransportInfo(alice.nodeId, info)));
        expect(book.nodeInfo(alice.nodeId)?.transports).toEqual(infos[0]);
      });
    });

    describe("stale_nodes", () => {
      it("a node is stale iff its last connection attempt failed", async () => {
        const clock = new ManualClock(100);
        const book = await openBook({ clock });
        await book.insertNodeInfo(createNodeInfo(alice.nodeId));
        const stale = () => isStale(book.nodeInfo(alice.nodeId) as NodeInfo);
        expect(stale()).toBe(false);
        await book.reportConnection(alice.nodeId, false);
        expect(book.nodeInfo(alice.nodeId)?.metrics).toMatchObject({
          failures: 1,
          successes: 0,
          lastFailureAt: 100,
        });
        expect(stale()).toBe(true);
        clock.advance(10);
        await book.reportConnection(alice.nodeId, true);
        expect(book.nodeInfo(alice.nodeId)?.metrics).toMatchObject({
          failures: 1,
          successes: 1,
          lastSuccessAt: 110,
        });
        expect(stale()).toBe(false);
        clock.advance(10);
        await book.reportConnection(alice.nodeId, false);
        expect(stale()).toBe(true);
      });

      it("a fresher signed transport info clears staleness at once (the failure was about old addresses)", async () => {
        const clock = new ManualClock(100);
        const book = await openBook({ clock });
        expect(await book.insertTransportInfo(alice.nodeId, await signed(alice, ts(1000), 1))).toBe(
          true,
        );
        await book.reportConnection(alice.nodeId, false);
        const info = () => book.nodeInfo(alice.nodeId) as NodeInfo;
        expect(isStale(info())).toBe(true);
        // A replay of the same info changes nothing: still stale.
        await book.insertTransportInfo(alice.nodeId, await signed(alice, ts(1000), 1));
        expect(isStale(info())).toBe(true);
        expect(await book.insertTransportInfo(alice.nodeId, await signed(alice, ts(2000), 2))).toBe(
          true,
        );
        expect(isStale(info())).toBe(false);
        expect(info().metrics.failures).toBe(1);
        // The next failure counts as usual.
        clock.advance(10);
        await book.reportConnection(alice.nodeId, false);
        expect(isStale(info())).toBe(true);
        expect(info().metrics.failures).toBe(2);
      });

      it("ignores reports about unknown nodes", async () => {
        const book = await openBook();
        await book.reportConnection(alice.nodeId, false);
        expect(book.nodeInfo(alice.nodeId)).toBeUndefined();
      });
    });

    describe("add_topic_bug: topic operations keep the other topics", () => {
      it("addTopic keeps the topics already there", async () => {
        const book = await openBook();
        await book.setTopics(alice.nodeId, [topicA, topicB]);
        await book.addTopic(alice.nodeId, topicC);
        expect(book.nodeTopics(alice.nodeId)).toEqual(new Set([topicA, topicB, topicC]));
        await book.removeTopic(alice.nodeId, topicA);
        expect(book.nodeTopics(alice.nodeId)).toEqual(new Set([topicB, topicC]));
        await book.setTopics(alice.nodeId, [topicD]);
        expect(book.nodeTopics(alice.nodeId)).toEqual(new Set([topicD]));
      });

      it("topics of one node do not touch another's", async () => {
        const book = await openBook();
        await book.addTopic(alice.nodeId, topicA);
        await book.addTopic(bob.nodeId, topicB);
        await book.removeTopic(alice.nodeId, topicB);
        expect(book.nodeTopics(alice.nodeId)).toEqual(new Set([topicA]));
        expect(book.nodeTopics(bob.nodeId)).toEqual(new Set([topicB]));
      });

      it("the returned set is a copy", async () => {
        const book = await openBook();
        await book.addTopic(alice.nodeId, topicA);
        (book.nodeTopics(alice.nodeId) as Set<Topic>).add(topicB);
        expect(book.nodeTopics(alice.nodeId)).toEqual(new Set([topicA]));
      });

      it("rejects malformed topics", async () => {
        const book = await openBook();
        await expectCode(book.addTopic(alice.nodeId, "nope" as Topic), "INVALID_INPUT");
        await expectCode(book.setTopics(alice.nodeId, [topicA, "x" as Topic]), "INVALID_INPUT");
        expect(book.nodeTopics(alice.nodeId).size).toBe(0);
      });
    });

    describe("nodeInfosByTopics", () => {
      it("returns each node interested in any of the topics, once", async () => {
        const book = await openBook();
        for (const id of [alice, bob, carol]) {
          await book.insertNodeInfo(createNodeInfo(id.nodeId));
        }
        await book.setTopics(alice.nodeId, [topicA, topicB]);
        await book.setTopics(bob.nodeId, [topicB]);
        await book.setTopics(carol.nodeId, [topicC]);
        const ids = (topics: Topic[]) =>
          book
            .nodeInfosByTopics(topics)
            .map((n) => n.nodeId)
            .sort();
        expect(ids([topicA])).toEqual([alice.nodeId]);
        expect(ids([topicA, topicB])).toEqual([alice.nodeId, bob.nodeId].sort());
        expect(ids([topicB, topicC])).toEqual([alice.nodeId, bob.nodeId, carol.nodeId].sort());
        expect(ids([topicD])).toEqual([]);
        expect(ids([])).toEqual([]);
      });

      it("leaves out ids with topics but no record (like our own)", async () => {
        const book = await openBook();
        await book.insertNodeInfo(createNodeInfo(bob.nodeId));
        await book.setTopics(alice.nodeId, [topicA]);
        await book.setTopics(bob.nodeId, [topicA]);
        expect(book.nodeInfosByTopics([topicA]).map((n) => n.nodeId)).toEqual([bob.nodeId]);
        expect(book.nodeTopics(alice.nodeId)).toEqual(new Set([topicA]));
      });
    });

    describe("bootstrap nodes", () => {
      it("picks uniformly with the injected rng, honouring exclude", async () => {
        const book = await openBook({ rng: seededRng(7) });
        expect(book.randomBootstrapNode()).toBeUndefined();
        const boots = [alice, bob, carol].map((i) => i.nodeId);
        for (const id of boots) await book.insertNodeInfo(createNodeInfo(id, { bootstrap: true }));
        await book.insertNodeInfo(createNodeInfo(ids[3]?.nodeId as NodeId));
        expect(book.allBootstrapNodesCount()).toBe(3);
        const counts = new Map<NodeId, number>();
        for (let i = 0; i < 300; i++) {
          const picked = book.randomBootstrapNode(alice.nodeId);
          expect(picked?.bootstrap).toBe(true);
          counts.set(picked?.nodeId as NodeId, (counts.get(picked?.nodeId as NodeId) ?? 0) + 1);
        }
        expect(counts.has(alice.nodeId)).toBe(false);
        expect(counts.get(bob.nodeId)).toBeGreaterThan(100);
        expect(counts.get(carol.nodeId)).toBeGreaterThan(100);
      });

      it("is deterministic for a seed", async () => {
        const boots = ids.slice(0, 6).map((i) => i.nodeId);
        const draws = async () => {
          const book = await openBook({ rng: seededRng(42) });
          for (const id of boots) {
            await book.insertNodeInfo(createNodeInfo(id, { bootstrap: true }));
          }
          return Array.from({ length: 20 }, () => book.randomBootstrapNode()?.nodeId);
        };
        expect(await draws()).toEqual(await draws());
      });

      it("a bootstrap node is never stale and never evicted", async () => {
        const book = await openBook({ maxNodes: 1 });
        await book.insertNodeInfo(createNodeInfo(alice.nodeId, { bootstrap: true }));
        await book.reportConnection(alice.nodeId, false);
        expect(await book.insertTransportInfo(bob.nodeId, await signed(bob, ts(1)))).toBe(false);
        expect(book.nodeInfo(alice.nodeId)).toBeDefined();
        expect(book.metrics.nodesRefusedFull).toBe(1);
      });
    });

    describe("watchers: subscribe_to_changes", () => {
      it("watchNodeInfo emits every change with the previous value", async () => {
        const book = await openBook();
        const changes = record(book.watchNodeInfo(alice.nodeId));
        const first = createNodeInfo(alice.nodeId, { bootstrap: true });
        await book.insertNodeInfo(first);
        const transports = await signed(alice, ts(1000));
        await book.insertTransportInfo(alice.nodeId, transports);
        await book.reportConnection(alice.nodeId, true);
        await book.insertTransportInfo(bob.nodeId, await signed(bob, ts(1000)));
        expect(changes.values).toHaveLength(3);
        expect(changes.values[0]).toEqual({ value: first, difference: { previous: undefined } });
        expect(changes.values[1]?.value?.transports).toEqual(transports);
        expect(changes.values[1]?.difference.previous).toEqual(first);
        expect(changes.values[2]?.value?.metrics.successes).toBe(1);
        await book.removeNode(alice.nodeId);
        expect(changes.values[3]?.value).toBeUndefined();
        expect(changes.values[3]?.difference.previous?.nodeId).toBe(alice.nodeId);
      });

      it("emitCurrent gives the current value first", async () => {
        const book = await openBook();
        const none = record(book.watchNodeInfo(alice.nodeId, { emitCurrent: true }));
        expect(none.values).toEqual([{ value: undefined, difference: { previous: undefined } }]);
        const info = createNodeInfo(alice.nodeId);
        await book.insertNodeInfo(info);
        const current = record(book.watchNodeInfo(alice.nodeId, { emitCurrent: true }));
        expect(current.values).toEqual([{ value: info, difference: { previous: undefined } }]);

        await book.setTopics(alice.nodeId, [topicA, topicB]);
        const topics = record(book.watchNodeTopics(alice.nodeId, { emitCurrent: true }));
        expect(topics.values[0]?.value).toEqual(new Set([topicA, topicB]));
        expect(new Set(topics.values[0]?.difference.added)).toEqual(new Set([topicA, topicB]));
        const nodes = record(book.watchTopic(topicA, { emitCurrent: true }));
        expect(nodes.values[0]).toEqual({
          value: new Set([alice.nodeId]),
          difference: { added: [alice.nodeId], removed: [] },
        });
        const quiet = record(book.watchTopic(topicA));
        expect(quiet.values).toHaveLength(0);
      });

      it("watchTopic emits the interested nodes with added/removed", async () => {
        const book = await openBook();
        const changes = record(book.watchTopic(topicA));
        await book.addTopic(alice.nodeId, topicA);
        await book.setTopics(bob.nodeId, [topicA, topicB]);
        await book.addTopic(carol.nodeId, topicB); // not topic A: no emission
        await book.removeTopic(alice.nodeId, topicA);
        await book.addTopic(bob.nodeId, topicA); // already there: no emission
        const seen: Change<ReadonlySet<NodeId>, { added: NodeId[]; removed: NodeId[] }>[] = [
          { value: new Set([alice.nodeId]), difference: { added: [alice.nodeId], removed: [] } },
          {
            value: new Set([alice.nodeId, bob.nodeId]),
            difference: { added: [bob.nodeId], removed: [] },
          },
          { value: new Set([bob.nodeId]), difference: { added: [], removed: [alice.nodeId] } },
        ];
        expect(changes.values).toEqual(seen);
      });

      it("watchNodeTopics emits the node's topics with added/removed", async () => {
        const book = await openBook();
        const changes = record(book.watchNodeTopics(alice.nodeId));
        await book.setTopics(alice.nodeId, [topicA, topicB]);
        await book.addTopic(alice.nodeId, topicC);
        await book.setTopics(alice.nodeId, [topicC, topicD]);
        await book.setTopics(alice.nodeId, [topicD, topicC]); // same set: no emission
        await book.addTopic(bob.nodeId, topicA); // other node
        expect(changes.values.map((c) => c.value)).toEqual([
          new Set([topicA, topicB]),
          new Set([topicA, topicB, topicC]),
          new Set([topicC, topicD]),
        ]);
        expect(changes.values[2]?.difference).toEqual({
          added: [topicD],
          removed: [topicA, topicB],
        });
      });

      it("unsubscribing stops the emissions", async () => {
        const book = await openBook();
        const values: unknown[] = [];
        const subscription = book.watchNodeTopics(alice.nodeId).subscribe((v) => values.push(v));
        await book.addTopic(alice.nodeId, topicA);
        subscription.unsubscribe();
        await book.addTopic(alice.nodeId, topicB);
        expect(values).toHaveLength(1);
      });

      it("close completes every watcher, also later ones", async () => {
        const book = await openBook();
        const a = record(book.watchNodeInfo(alice.nodeId));
        const b = record(book.watchTopic(topicA));
        const c = record(book.watchNodeTopics(alice.nodeId, { emitCurrent: true }));
        expect([a, b, c].map((w) => w.completed())).toEqual([false, false, false]);
        await book.close();
        expect([a, b, c].map((w) => w.completed())).toEqual([true, true, true]);
        const late = record(book.watchNodeInfo(alice.nodeId, { emitCurrent: true }));
        expect(late.completed()).toBe(true);
        expect(late.values).toHaveLength(0);
      });
    });

    describe("limits", () => {
      it("a full book refuses new untrusted nodes without a stale one to evict", async () => {
        const book = await openBook({ maxNodes: 3 });
        for (const id of ids.slice(0, 3)) {
          expect(await book.insertTransportInfo(id.nodeId, await signed(id, ts(1)))).toBe(true);
        }
        const late = ids[3] as Identity;
        expect(await book.insertTransportInfo(late.nodeId, await signed(late, ts(1)))).toBe(false);
        expect(book.nodeInfo(late.nodeId)).toBeUndefined();
        expect(book.allNodeInfos()).toHaveLength(3);
        expect(book.metrics.nodesRefusedFull).toBe(1);
        // Known nodes still get updates when full.
        expect(await book.insertTransportInfo(alice.nodeId, await signed(alice, ts(2)))).toBe(true);
      });

      it("a new untrusted node evicts the node that became stale first", async () => {
        const book = await openBook({ maxNodes: 3 });
        for (const id of ids.slice(0, 3)) {
          await book.insertTransportInfo(id.nodeId, await signed(id, ts(1)));
        }
        await book.setTopics(bob.nodeId, [topicA]);
        await book.reportConnection(bob.nodeId, false);
        await book.reportConnection(carol.nodeId, false);
        await book.reportConnection(bob.nodeId, false); // still stale: keeps its place
        const watchBob = record(book.watchNodeInfo(bob.nodeId));
        const watchTopicA = record(book.watchTopic(topicA));
        const late = ids[3] as Identity;
        expect(await book.insertTransportInfo(late.nodeId, await signed(late, ts(1)))).toBe(true);
        expect(book.nodeInfo(bob.nodeId)).toBeUndefined();
        expect(book.nodeTopics(bob.nodeId).size).toBe(0);
        expect(book.nodeInfo(carol.nodeId)).toBeDefined();
        expect(book.nodeInfo(late.nodeId)).toBeDefined();
        expect(book.metrics.nodesEvicted).toBe(1);
        expect(watchBob.values[0]?.value).toBeUndefined();
        expect(watchTopicA.values[0]?.difference.removed).toEqual([bob.nodeId]);
      });

      it("a node that recovered is no longer evictable", async () => {
        const book = await openBook({ maxNodes: 2 });
        await book.insertTransportInfo(alice.nodeId, await signed(alice, ts(1)));
        await book.insertTransportInfo(bob.nodeId, await signed(bob, ts(1)));
        await book.reportConnection(alice.nodeId, false);
        await book.reportConnection(alice.nodeId, true);
        expect(await book.insertTransportInfo(carol.nodeId, await signed(carol, ts(1)))).toBe(
          false,
        );
        expect(book.nodeInfo(alice.nodeId)).toBeDefined();
      });

      it("trusted inserts are never refused", async () => {
        const book = await openBook({ maxNodes: 2 });
        for (const id of ids.slice(0, 4)) await book.insertNodeInfo(createNodeInfo(id.nodeId));
        expect(book.allNodeInfos()).toHaveLength(4);
      });

      it("caps the topics of a node", async () => {
        const book = await openBook({ maxTopicsPerNode: 2 });
        await book.setTopics(alice.nodeId, [topicA, topicB]);
        await expectCode(book.addTopic(alice.nodeId, topicC), "TOPIC_LIMIT_EXCEEDED");
        await expectCode(
          book.setTopics(bob.nodeId, [topicA, topicB, topicC]),
          "TOPIC_LIMIT_EXCEEDED",
        );
        expect(book.nodeTopics(alice.nodeId)).toEqual(new Set([topicA, topicB]));
        expect(book.nodeTopics(bob.nodeId).size).toBe(0);
        expect(book.metrics.topicLimitExceeded).toBe(2);
        // Duplicates count once.
        await book.setTopics(bob.nodeId, [topicA, topicA, topicB]);
        expect(book.nodeTopics(bob.nodeId).size).toBe(2);
      });

      it("rejects invalid limits", async () => {
        await expectCode(AddressBook.open(await makeStore(), { maxNodes: 0 }), "INVALID_INPUT");
      });
    });

    describe("lifecycle", () => {
      it("writes after close throw ADDRESS_BOOK_CLOSED; reads still answer", async () => {
        const book = await openBook();
        await book.insertNodeInfo(createNodeInfo(alice.nodeId));
        await book.close();
        await expectCode(book.insertNodeInfo(createNodeInfo(bob.nodeId)), "ADDRESS_BOOK_CLOSED");
        await expectCode(
          book.insertTransportInfo(bob.nodeId, await signed(bob, ts(1))),
          "ADDRESS_BOOK_CLOSED",
        );
        await expectCode(book.addTopic(alice.nodeId, topicA), "ADDRESS_BOOK_CLOSED");
        await expectCode(book.reportConnection(alice.nodeId, true), "ADDRESS_BOOK_CLOSED");
        expect(book.nodeInfo(alice.nodeId)).toBeDefined();
        await book.close(); // idempotent
      });

      it("a fresh store is empty", async () => {
        const book = await openBook();
        expect(book.allNodeInfos()).toEqual([]);
        expect(book.allBootstrapNodesCount()).toBe(0);
        expect(book.metrics.corruptRecordsSkipped).toBe(0);
      });
    });

    describe("store contract", () => {
      it("applies writes in call order without awaiting each", async () => {
        const store = await makeStore();
        const a = createNodeInfo(alice.nodeId, { bootstrap: true });
        const writes = [
          store.putNode(createNodeInfo(alice.nodeId)),
          store.putTopics(alice.nodeId, [topicA]),
          store.putNode(a),
          store.deleteNode(bob.nodeId),
          store.putNode(createNodeInfo(bob.nodeId)),
          store.putTopics(bob.nodeId, [topicB]),
          store.deleteNode(bob.nodeId),
          store.putTopics(carol.nodeId, [topicC]),
          store.putTopics(carol.nodeId, []),
        ];
        await Promise.all(writes);
        const loaded = await store.load();
        expect(loaded.nodes).toEqual([a]);
        expect([...loaded.topics]).toEqual([[alice.nodeId, [topicA]]]);
        await store.close();
        await expectCode(store.putNode(a), "ADDRESS_BOOK_CLOSED");
      });

      it("a delete followed by a put of the same node drops the old topics", async () => {
        const store = await makeStore();
        await store.putNode(createNodeInfo(alice.nodeId));
        await store.putTopics(alice.nodeId, [topicA]);
        const again = createNodeInfo(alice.nodeId, { bootstrap: true });
        await Promise.all([store.deleteNode(alice.nodeId), store.putNode(again)]);
        const loaded = await store.load();
        expect(loaded.nodes).toEqual([again]);
        expect(loaded.topics.size).toBe(0);
        await store.close();
      });
    });

    if (reopenStore !== undefined) {
      describe("persistence: close and reopen keeps every record", () => {
        async function populate(book: AddressBook, clock: ManualClock): Promise<NodeInfo[]> {
          await book.insertNodeInfo(createNodeInfo(alice.nodeId, { bootstrap: true }));
          await book.insertTransportInfo(alice.nodeId, await signed(alice, ts(1234, 5), 9001));
          await book.insertTransportInfo(bob.nodeId, await signed(bob, ts(99, 1), 9002));
          await book.insertNodeInfo(
            createNodeInfo(carol.nodeId, {
              transports: {
                kind: "trusted",
                addresses: [address(9003), "/dns4/x.org/tcp/443/wss"],
              },
            }),
          );
          clock.set(5000);
          await book.reportConnection(bob.nodeId, false);
          clock.set(6000);
          await book.reportConnection(carol.nodeId, true);
          await book.reportConnection(carol.nodeId, false);
          await book.setTopics(alice.nodeId, [topicA, topicB]);
          await book.addTopic(bob.nodeId, topicB);
          await book.addTopic(ids[5]?.nodeId as NodeId, topicD); // topics without a record
          return book.allNodeInfos();
        }

        it("reopens with every field of every record, topics and indexes", async () => {
          const clock = new ManualClock(0);
          const store = await makeStore();
          const book = await openBook({ clock }, store);
          const before = await populate(book, clock);
          await book.close();

          const again = await openBook({ maxNodes: 3 }, await reopenStore(store));
          expect(again.allNodeInfos()).toHaveLength(3);
          for (const info of before) {
            const loaded = again.nodeInfo(info.nodeId);
            expect(loaded).toEqual(info);
            expect(loaded?.bootstrap).toBe(info.bootstrap);
            expect(loaded?.metrics).toEqual(info.metrics);
          }
          const aliceTransports = again.nodeInfo(alice.nodeId)?.transports;
          expect(aliceTransports?.kind).toBe("authenticated");
          if (aliceTransports?.kind === "authenticated") {
            expect(aliceTransports.timestamp).toBeInstanceOf(HybridTimestamp);
            expect(aliceTransports.timestamp.equals(ts(1234, 5))).toBe(true);
            expect(aliceTransports.signature).toBeInstanceOf(Uint8Array);
            expect(aliceTransports.addresses[0]).toContain("/tcp/9001/p2p/");
          }
          expect(again.nodeInfo(bob.nodeId)?.metrics).toMatchObject({
            successes: 0,
            failures: 1,
            lastFailureAt: 5000,
          });
          expect(again.nodeInfo(bob.nodeId)?.metrics.lastSuccessAt).toBeUndefined();
          expect(again.nodeInfo(carol.nodeId)?.transports).toEqual({
            kind: "trusted",
            addresses: [address(9003), "/dns4/x.org/tcp/443/wss"],
          });
          expect(again.nodeTopics(alice.nodeId)).toEqual(new Set([topicA, topicB]));
          expect(again.nodeTopics(ids[5]?.nodeId as NodeId)).toEqual(new Set([topicD]));
          expect(
            again
              .nodeInfosByTopics([topicB])
              .map((n) => n.nodeId)
              .sort(),
          ).toEqual([alice.nodeId, bob.nodeId].sort());
          expect(again.allBootstrapNodesCount()).toBe(1);
          expect(again.randomBootstrapNode()?.nodeId).toBe(alice.nodeId);
          // Reloaded records still verify and order: older infos are refused…
          expect(
            await again.insertTransportInfo(alice.nodeId, await signed(alice, ts(1234, 4))),
          ).toBe(false);
          // …and stale nodes are evictable again: bob (stale first) makes room for a new node.
          const late = ids[6] as Identity;
          expect(await again.insertTransportInfo(late.nodeId, await signed(late, ts(1)))).toBe(
            true,
          );
          expect(again.nodeInfo(bob.nodeId)).toBeUndefined();
          expect(again.metrics.corruptRecordsSkipped).toBe(0);
        });

        it("removals and topic changes survive a reopen", async () => {
          const clock = new ManualClock(0);
          const store = await makeStore();
          const book = await openBook({ clock }, store);
          await populate(book, clock);
          await book.removeNode(bob.nodeId);
          await book.removeTopic(alice.nodeId, topicA);
          await book.setTopics(ids[5]?.nodeId as NodeId, []);
          await book.close();
          const again = await openBook({}, await reopenStore(store));
          expect(again.nodeInfo(bob.nodeId)).toBeUndefined();
          expect(again.nodeTopics(bob.nodeId).size).toBe(0);
          expect(again.nodeTopics(alice.nodeId)).toEqual(new Set([topicB]));
          expect(again.nodeTopics(ids[5]?.nodeId as NodeId).size).toBe(0);
          expect(again.allNodeInfos()).toHaveLength(2);
        });

        it("close waits for writes nobody awaited", async () => {
          const store = await makeStore();
          const book = await openBook({}, store);
          const infos = ids.map((id, i) =>
            createNodeInfo(id.nodeId, {
              bootstrap: i % 2 === 0,
              transports: { kind: "trusted", addresses: [address(5000 + i)] },
            }),
          );
          // Trusted writes reach the store synchronously; none of them is awaited before close.
          const pending = [
            ...infos.map((info) => book.insertNodeInfo(info)),
            ...ids.map((id) => book.addTopic(id.nodeId, topicC)),
            book.reportConnection(alice.nodeId, false),
          ];
          await book.close();
          await Promise.all(pending);
          const again = await openBook({}, await reopenStore(store));
          for (const [i, id] of ids.entries()) {
            const loaded = again.nodeInfo(id.nodeId);
            if (i === 0) expect(loaded?.metrics.failures).toBe(1);
            else expect(loaded).toEqual(infos[i]);
            expect(loaded?.bootstrap).toBe(i % 2 === 0);
            expect(again.nodeTopics(id.nodeId)).toEqual(new Set([topicC]));
          }
        });

        it("many concurrent untrusted inserts all persist", async () => {
          const store = await makeStore();
          const book = await openBook({}, store);
          const infos = await Promise.all(ids.map((id, i) => signed(id, ts(100 + i), 6000 + i)));
          const results = await Promise.all(
            ids.map((id, i) =>
              book.insertTransportInfo(id.nodeId, infos[i] as AuthenticatedTransportInfo),
            ),
          );
          expect(results).toEqual(ids.map(() => true));
          await book.close();
          const again = await openBook({}, await reopenStore(store));
          for (const [i, id] of ids.entries()) {
            expect(again.nodeInfo(id.nodeId)?.transports).toEqual(infos[i]);
          }
        });
      });
    }
  });
}

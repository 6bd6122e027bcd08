import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type DiscoveryMessage, PsiAlice, PsiBob } from "../../src/discovery/index.ts";
import type { Topic } from "../../src/ids/topic.ts";
import { seededRng } from "../../src/random.ts";
import { nodeId, side, topic } from "./helpers.ts";

const A = nodeId(0xa1);
const B = nodeId(0xb2);
const TOPICS = Array.from({ length: 12 }, (_, i) => topic(i * 17 + 3));
const BOB_HALF = new Uint8Array(32).fill(0x5b);

/** Bob's hashes for `topics`, with salt halves fixed so only the topic order varies. */
function bobHashes(topics: readonly Topic[]): readonly Uint8Array[] {
  const bob = new PsiBob(side(B, A, [...topics], { rng: seededRng(1) }));
  bob.start();
  const [sent] = bob.receive({ type: "alice-salt-half", saltHalf: new Uint8Array(32).fill(0xa1) })
    .send as [Extract<DiscoveryMessage, { type: "bob-salt-half-and-hashes" }>];
  return sent.topicHashes;
}

/** Alice's hashes for `topics`, with salt halves fixed so only the topic order varies. */
function aliceHashes(topics: readonly Topic[]): readonly Uint8Array[] {
  const alice = new PsiAlice(side(A, B, [...topics], { rng: seededRng(2) }));
  alice.start();
  const [sent] = alice.receive({
    type: "bob-salt-half-and-hashes",
    saltHalf: BOB_HALF,
    topicHashes: [],
  }).send as [Extract<DiscoveryMessage, { type: "alice-hashes" }>];
  return sent.topicHashes;
}

// A hash set sent in the order the node holds its topics would tell the remote which topic of
// the intersection the node subscribed to first (and, across sessions, link the sets).
describe("PSI-hash: the order of the hashes a node sends says nothing about the order of its topics", () => {
  for (const [role, hashesOf] of [
    ["bob", bobHashes],
    ["alice", aliceHashes],
  ] as const) {
    it(`${role}'s hashes are the same list for every order of the same topics`, () => {
      const reference = hashesOf(TOPICS);
      // 12 topics go out as 16 hashes (padded to the next power of two).
      expect(reference).toHaveLength(16);
      fc.assert(
        fc.property(fc.shuffledSubarray(TOPICS, { minLength: TOPICS.length }), (order) => {
          expect(hashesOf(order)).toEqual(reference);
        }),
        { seed: 11, numRuns: 50 },
      );
    });
  }
});

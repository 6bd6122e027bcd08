// The rules of stored identities, run in Node (fake-indexeddb, realm locks) and in Chromium
// (real IndexedDB and Web Locks).
import { ed25519, Topic, verifySignature } from "@p2panda-web/core";
import { describe, expect, it } from "vitest";
import { acquireStoredIdentity, type IdentityLocks } from "../src/index.ts";

let run = 0;

export function describeIdentityStore(locks: () => IdentityLocks): void {
  describe("acquireStoredIdentity", () => {
    const fresh = () => ({
      namespace: `suite-${Date.now()}-${run++}`,
      topic: Topic.fromName("identity store"),
      locks: locks(),
    });

    it("gives the next holder the same identity once the first released it", async () => {
      const options = fresh();
      const first = await acquireStoredIdentity(options);
      expect(first.slot).toBe(0);
      await first.release();
      const again = await acquireStoredIdentity(options);
      expect(again.slot).toBe(0);
      expect(again.identity.nodeId).toBe(first.identity.nodeId);
      await again.release();
    });

    it("loads back a key that signs for the same node id (WebCrypto where the runtime has Ed25519)", async () => {
      const options = fresh();
      const first = await acquireStoredIdentity(options);
      await first.release();
      const again = await acquireStoredIdentity(options);
      const message = new TextEncoder().encode("signed after a reload");
      const signature = await again.identity.sign(message);
      expect(await verifySignature(first.identity.publicKey, message, signature)).toBe(true);
      // Node 22 and Chromium both have WebCrypto Ed25519: the stored seed signs through it.
      expect((await ed25519()).name).toBe("webcrypto");
      await again.release();
    });

    it("gives a second holder at the same time (a second tab) another identity, also kept", async () => {
      const options = fresh();
      const first = await acquireStoredIdentity(options);
      const second = await acquireStoredIdentity(options);
      expect(second.slot).toBe(1);
      expect(second.identity.nodeId).not.toBe(first.identity.nodeId);
      await second.release();
      const secondAgain = await acquireStoredIdentity(options);
      expect(secondAgain.identity.nodeId).toBe(second.identity.nodeId);
      await first.release();
      await secondAgain.release();
    });

    it("keeps namespaces and topics apart", async () => {
      const options = fresh();
      const a = await acquireStoredIdentity(options);
      const otherApp = await acquireStoredIdentity({
        ...options,
        namespace: `${options.namespace}+`,
      });
      const otherTopic = await acquireStoredIdentity({
        ...options,
        topic: Topic.fromName("other"),
      });
      expect(otherApp.slot).toBe(0);
      expect(otherTopic.slot).toBe(0);
      const ids = new Set([a, otherApp, otherTopic].map((held) => held.identity.nodeId));
      expect(ids.size).toBe(3);
      for (const held of [a, otherApp, otherTopic]) await held.release();
    });

    it("hands out an identity that is not kept once every slot is held", async () => {
      const options = { ...fresh(), maxSlots: 2 };
      const held = [await acquireStoredIdentity(options), await acquireStoredIdentity(options)];
      const extra = await acquireStoredIdentity(options);
      expect(extra.slot).toBeUndefined();
      const extraAgain = await acquireStoredIdentity(options);
      expect(extraAgain.identity.nodeId).not.toBe(extra.identity.nodeId);
      for (const h of held) await h.release();
    });

    it("release is idempotent and frees the slot once", async () => {
      const options = fresh();
      const first = await acquireStoredIdentity(options);
      await first.release();
      const second = await acquireStoredIdentity(options);
      await first.release();
      const third = await acquireStoredIdentity(options);
      expect(third.slot).toBe(1);
      await second.release();
      await third.release();
    });
  });
}

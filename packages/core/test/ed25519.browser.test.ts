// The Ed25519 vectors in real Chromium: WebCrypto there is BoringSSL, not Node's OpenSSL, so this
// is where "one semantics on every backend" is proven for browsers.
import { ed25519, nobleEd25519, webCryptoEd25519 } from "@p2panda-web/core";
import { describe, expect, it } from "vitest";
import { edgeMismatches, rfc8032Mismatches } from "./vectors/check-ed25519.ts";

describe("Ed25519 in Chromium", () => {
  it("has WebCrypto Ed25519 and selects it", async () => {
    expect((await webCryptoEd25519())?.name).toBe("webcrypto");
    expect((await ed25519()).name).toBe("webcrypto");
  });

  it("RFC 8032 §7.1 vectors pass on WebCrypto and noble", async () => {
    const webcrypto = await webCryptoEd25519();
    if (webcrypto === undefined) throw new Error("no WebCrypto Ed25519");
    expect(await rfc8032Mismatches(webcrypto)).toEqual([]);
    expect(await rfc8032Mismatches(nobleEd25519)).toEqual([]);
  });

  it("edge vectors get the strict answer on WebCrypto and noble", async () => {
    const webcrypto = await webCryptoEd25519();
    if (webcrypto === undefined) throw new Error("no WebCrypto Ed25519");
    expect(await edgeMismatches(webcrypto)).toEqual([]);
    expect(await edgeMismatches(nobleEd25519)).toEqual([]);
  });
});

import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InvalidInputError } from "../../src/errors.ts";
import {
  certhashOf,
  DEFAULT_CERTIFICATE_LIFESPAN_MS,
  DEFAULT_CERTIFICATE_RENEW_BEFORE_MS,
  loadOrCreateWebRtcDirectCertificate,
} from "../../src/node/webrtc-direct-certificate.ts";

const DAY = 24 * 60 * 60 * 1000;
let dir: string;
let file: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "p2panda-cert-"));
  file = join(dir, "data", "webrtc-direct.pem");
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("the WebRTC-direct certificate file", () => {
  it("is made once (ECDSA P-256, mode 0600) and read back with the same certhash", async () => {
    const first = await loadOrCreateWebRtcDirectCertificate(file);
    expect(first.created).toBe(true);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const x509 = new X509Certificate(first.certificate.pem);
    expect(x509.publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    expect(first.certificate.certhash).toBe(certhashOf(new Uint8Array(x509.raw)));
    expect(first.notAfter - Date.now()).toBeGreaterThan(DEFAULT_CERTIFICATE_LIFESPAN_MS - DAY);

    const again = await loadOrCreateWebRtcDirectCertificate(file);
    expect(again.created).toBe(false);
    expect(again.certificate).toEqual(first.certificate);
  });

  it("encodes the certhash as libp2p does: base64url multibase of the sha2-256 multihash", () => {
    // sha256("") = e3b0c442…; multihash 0x12 0x20 ‖ digest; multibase prefix "u".
    expect(certhashOf(new Uint8Array())).toBe("uEiDjsMRCmPwcFJr79MiZb7kkJ65B5GSbk0yklZkbeFK4VQ");
  });

  it("is replaced when less than the renewal margin is left", async () => {
    const old = await loadOrCreateWebRtcDirectCertificate(file, { lifespanMs: 40 * DAY });
    const near = old.notAfter - DEFAULT_CERTIFICATE_RENEW_BEFORE_MS + DAY;
    expect((await loadOrCreateWebRtcDirectCertificate(file, { now: near - 2 * DAY })).created).toBe(
      false,
    );
    const renewed = await loadOrCreateWebRtcDirectCertificate(file, { now: near });
    expect(renewed.created).toBe(true);
    expect(renewed.certificate.certhash).not.toBe(old.certificate.certhash);
    expect((await loadOrCreateWebRtcDirectCertificate(file)).certificate).toEqual(
      renewed.certificate,
    );
  });

  it("refuses a file that holds something else, and leaves it alone", async () => {
    await loadOrCreateWebRtcDirectCertificate(file);
    await writeFile(file, "not a certificate\n");
    await expect(loadOrCreateWebRtcDirectCertificate(file)).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    expect(await readFile(file, "utf8")).toBe("not a certificate\n");
  });
});

// The TLS (DTLS) certificate of a WebRTC-direct listener, kept in a file. Browsers dial
// WebRTC-direct without a CA: the address carries the hash of the listener's certificate
// (`/certhash/…`), so a certificate made afresh on every start gives the node a new address on
// every start and breaks every bootstrap address handed out before. libp2p only keeps one
// across restarts with a keychain and a datastore; a Node node has a data directory instead.
// @peculiar/x509 (what @libp2p/webrtc makes its certificates with) needs the Reflect polyfill
// loaded before it.
import "reflect-metadata";
import { createHash, webcrypto } from "node:crypto";
import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { TransportCertificate } from "@libp2p/webrtc";
import {
  BasicConstraintsExtension,
  X509Certificate,
  X509CertificateGenerator,
} from "@peculiar/x509";
import { InvalidInputError } from "../errors.ts";

/** How long a new certificate is valid. WebRTC authenticates it by the hash in the address. */
export const DEFAULT_CERTIFICATE_LIFESPAN_MS = 365 * 24 * 60 * 60 * 1000;
/** A certificate with less than this left is replaced at start (its hash changes then). */
export const DEFAULT_CERTIFICATE_RENEW_BEFORE_MS = 30 * 24 * 60 * 60 * 1000;

/** Options of {@link loadOrCreateWebRtcDirectCertificate}. */
export interface WebRtcDirectCertificateOptions {
  /** Validity of a new certificate. Default {@link DEFAULT_CERTIFICATE_LIFESPAN_MS}. */
  readonly lifespanMs?: number;
  /** Replace one with less than this left. Default {@link DEFAULT_CERTIFICATE_RENEW_BEFORE_MS}. */
  readonly renewBeforeMs?: number;
  /** The current time in ms since the epoch (tests). Default `Date.now()`. */
  readonly now?: number;
}

/** What {@link loadOrCreateWebRtcDirectCertificate} did. */
export interface WebRtcDirectCertificateResult {
  /** What `webRTCDirect({ certificate })` takes: key and certificate in PEM, and its hash. */
  readonly certificate: TransportCertificate;
  /** A new certificate was made (the file was missing or the old one near its end). */
  readonly created: boolean;
  /** When the certificate stops being valid, in ms since the epoch. */
  readonly notAfter: number;
}

const PEM_BLOCK = /-----BEGIN ([A-Z ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;

/**
 * The certhash of a certificate as WebRTC-direct multiaddrs carry it: the multibase base64url
 * (`u`) of the sha2-256 multihash (`0x12 0x20` ‖ digest) of its DER bytes.
 */
export function certhashOf(der: Uint8Array): string {
  const digest = createHash("sha256").update(der).digest();
  return `u${Buffer.concat([Buffer.from([0x12, 0x20]), digest]).toString("base64url")}`;
}

function pem(label: string, der: ArrayBuffer): string {
  const lines =
    Buffer.from(der)
      .toString("base64")
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----`;
}

async function create(lifespanMs: number, now: number): Promise<string> {
  const keys = await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]);
  // Whole seconds: X.509 times have no milliseconds.
  const notBefore = new Date(Math.floor(now / 1000) * 1000);
  const notAfter = new Date(notBefore.getTime() + lifespanMs);
  const cert = await X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString("hex"),
      name: "CN=p2panda-web webrtc-direct",
      notBefore,
      notAfter,
      keys,
      signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
      extensions: [new BasicConstraintsExtension(false, undefined, true)],
    },
    webcrypto as Crypto,
  );
  // P-256 is what Chromium, Firefox and libdatachannel all accept for a WebRTC certificate.
  const privateKey = await webcrypto.subtle.exportKey("pkcs8", keys.privateKey);
  return `${pem("PRIVATE KEY", privateKey)}\n${cert.toString("pem")}\n`;
}

function parse(
  text: string,
  path: string,
): { certificate: TransportCertificate; notAfter: number } {
  const blocks = new Map<string, string>();
  for (const m of text.matchAll(PEM_BLOCK)) blocks.set(m[1] as string, m[0]);
  const privateKey = blocks.get("PRIVATE KEY");
  const certPem = blocks.get("CERTIFICATE");
  if (privateKey === undefined || certPem === undefined) {
    throw new InvalidInputError(
      `certificate file ${path} must hold a PRIVATE KEY and a CERTIFICATE in PEM (delete it to make a new one)`,
    );
  }
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (error) {
    throw new InvalidInputError(`certificate file ${path} holds no valid X.509 certificate`, {
      cause: error,
    });
  }
  return {
    certificate: { privateKey, pem: certPem, certhash: certhashOf(new Uint8Array(cert.rawData)) },
    notAfter: cert.notAfter.getTime(),
  };
}

/**
 * The WebRTC-direct certificate kept in `path` (a PEM file with its private key, mode 0600), made
 * when the file is missing or the certificate has less than `renewBeforeMs` left. A node that
 * passes it to `createNodeEndpoint` advertises the same `/certhash/` across restarts.
 *
 * @throws InvalidInputError when the file holds something else (it is never overwritten then);
 * file system errors.
 */
export async function loadOrCreateWebRtcDirectCertificate(
  path: string,
  options: WebRtcDirectCertificateOptions = {},
): Promise<WebRtcDirectCertificateResult> {
  const now = options.now ?? Date.now();
  const renewBeforeMs = options.renewBeforeMs ?? DEFAULT_CERTIFICATE_RENEW_BEFORE_MS;
  let text: string | undefined;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  if (text !== undefined) {
    const stored = parse(text, path);
    if (stored.notAfter - now > renewBeforeMs) return { ...stored, created: false };
  }
  const fresh = await create(options.lifespanMs ?? DEFAULT_CERTIFICATE_LIFESPAN_MS, now);
  await mkdir(dirname(path), { recursive: true });
  // Written beside and renamed: a crash mid-write never leaves a half file to refuse next start.
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, fresh, { mode: 0o600 });
  await chmod(temporary, 0o600); // the mode given to writeFile is subject to the umask
  await rename(temporary, path);
  return { ...parse(fresh, path), created: true };
}

// Shared by ed25519.test.ts (Node) and ed25519.browser.test.ts (Chromium): every vector on every
// backend, returning the mismatches so a failure names the vector and the backend.
import { type Ed25519Backend, fromHex, toHex } from "@p2panda-web/core";
import { ED25519_EDGE_VECTORS } from "./ed25519-edge.ts";
import { RFC8032_VECTORS } from "./rfc8032.ts";

export async function rfc8032Mismatches(backend: Ed25519Backend): Promise<string[]> {
  const out: string[] = [];
  for (const v of RFC8032_VECTORS) {
    const seed = fromHex(v.secretKey);
    const message = fromHex(v.message);
    if (toHex(await backend.publicKey(seed)) !== v.publicKey) out.push(`${v.name}: public key`);
    if (toHex(await backend.sign(seed, message)) !== v.signature) out.push(`${v.name}: signature`);
    if (!(await backend.verify(fromHex(v.publicKey), message, fromHex(v.signature)))) {
      out.push(`${v.name}: verify`);
    }
  }
  return out;
}

export async function edgeMismatches(backend: Ed25519Backend): Promise<string[]> {
  const out: string[] = [];
  for (const v of ED25519_EDGE_VECTORS) {
    const got = await backend.verify(
      fromHex(v.publicKey),
      fromHex(v.message),
      fromHex(v.signature),
    );
    if (got !== v.valid) out.push(`${v.name}: expected ${v.valid}, got ${got}`);
  }
  return out;
}

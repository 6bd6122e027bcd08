// What the Node.js preset tests share: a loopback-only endpoint and a fresh data directory per test.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach } from "vitest";

/** A Node endpoint on loopback WebSockets only. */
export const LOOPBACK = {
  allowPrivateAddresses: true,
  tcpPort: false,
  webrtcDirectPort: false,
  relay: false,
} as const;

/** A new temporary directory for each test (removed after it); call the result for its path. */
export function tempDirPerTest(prefix: string): () => string {
  let dir: string | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });
  return () => {
    if (dir === undefined) throw new Error("tempDirPerTest: used outside a test");
    return dir;
  };
}

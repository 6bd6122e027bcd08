import { Identity } from "@p2panda-web/core";

/**
 * A deterministic identity: the secret key is 32 bytes of `seed`. Suites use it so a failing
 * test names the same node ids on every run; never use one outside tests.
 */
export function seededIdentity(seed: number): Promise<Identity> {
  return Identity.fromSecretKey(new Uint8Array(32).fill(seed));
}

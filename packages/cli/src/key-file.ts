import { chmod, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { fromHex, Identity, InvalidInputError } from "@p2panda-web/core";

/** What {@link loadOrCreateKeyFile} did. */
export interface KeyFileResult {
  readonly identity: Identity;
  /** The file did not exist and was created. */
  readonly created: boolean;
  /** The existing file is readable by group or others (it should be 0600). */
  readonly tooOpen: boolean;
}

/**
 * The node identity kept in `path`: the 32-byte Ed25519 seed as 64 hex characters (a raw 32-byte
 * file is read too). A missing file is created with a fresh seed and mode 0600 (owner only),
 * never overwriting one that appears meanwhile.
 * @throws InvalidInputError when the file holds something else.
 */
export async function loadOrCreateKeyFile(path: string): Promise<KeyFileResult> {
  let content: Buffer | undefined;
  try {
    content = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  if (content === undefined) {
    const identity = await Identity.generate();
    await mkdir(dirname(path), { recursive: true });
    const secret = Buffer.from(identity.secretKey).toString("hex");
    // `wx`: fail rather than overwrite a key another process just wrote.
    await writeFile(path, `${secret}\n`, { mode: 0o600, flag: "wx" });
    await chmod(path, 0o600); // the mode given to writeFile is subject to the umask
    return { identity, created: true, tooOpen: false };
  }
  const mode = (await stat(path)).mode & 0o777;
  return {
    identity: await Identity.fromSecretKey(parseSeed(content, path)),
    created: false,
    tooOpen: (mode & 0o077) !== 0,
  };
}

function parseSeed(content: Buffer, path: string): Uint8Array {
  if (content.length === 32) return new Uint8Array(content);
  const text = content.toString("utf8").trim();
  try {
    return fromHex(text, 32);
  } catch (error) {
    throw new InvalidInputError(`key file ${path} must hold a 32-byte seed as 64 hex characters`, {
      cause: error,
    });
  }
}

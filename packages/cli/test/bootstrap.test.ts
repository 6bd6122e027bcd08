import type { ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AddressBook, memoryAddressBookStore } from "@p2panda-web/address-book";
import { sqliteAddressBookStore } from "@p2panda-web/address-book/sqlite";
import {
  ADDRESS_BOOK_FILE,
  type CliIo,
  type ConnectionLine,
  type DiscoveryLine,
  type ListeningLine,
  runCli,
} from "@p2panda-web/cli";
import { fromHex, Identity, NodeId, transportKind } from "@p2panda-web/core";
import { createNodeEndpoint } from "@p2panda-web/core/node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startCli } from "./cli-process.ts";

function memoryIo(signal = new AbortController().signal): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, signal, stdout: (l) => out.push(l), stderr: (l) => err.push(l) };
}

let dir: string;
const running: ChildProcess[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "p2panda-cli-"));
});
afterEach(async () => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  await rm(dir, { recursive: true, force: true });
});

describe("command line", () => {
  it("--help documents every flag", async () => {
    const io = memoryIo();
    expect(await runCli(["bootstrap", "--help"], io)).toBe(0);
    const help = io.out.join("\n");
    for (const flag of [
      "--host",
      "--ws-port",
      "--tcp-port",
      "--webrtc-port",
      "--key-file",
      "--network-id",
      "--data-dir",
      "--allow-private-addresses",
      "--bootstrap",
      "--max-reservations",
      "--help",
    ]) {
      expect(help).toContain(flag);
    }
  });

  it("rejects unknown commands, unknown flags and bad values with exit code 2", async () => {
    expect(await runCli(["nonsense"], memoryIo())).toBe(2);
    expect(await runCli(["bootstrap", "--bogus"], memoryIo())).toBe(2);
    const io = memoryIo();
    expect(await runCli(["bootstrap", "--ws-port", "99999"], io)).toBe(2);
    expect(io.err.join("\n")).toContain("--ws-port");
    expect(await runCli(["bootstrap", "--network-id", "zz"], memoryIo())).toBe(2);
  });
});

describe("p2panda-web bootstrap", () => {
  it("prints the listening line, a line per connection, and exits 0 on SIGTERM", async () => {
    const cli = startCli(["bootstrap", "--allow-private-addresses"]);
    running.push(cli.child);
    const listening = await cli.line<ListeningLine>((l) => l.event === "listening");
    expect(NodeId.is(listening.nodeId)).toBe(true);
    expect(listening.addrs.map(transportKind).sort()).toEqual([
      "tcp",
      "webrtc-direct",
      "websockets",
    ]);

    const book = await AddressBook.open(memoryAddressBookStore());
    const client = await createNodeEndpoint({
      identity: await Identity.generate(),
      addressBook: book,
      relay: false,
      webrtcDirectPort: false,
      allowPrivateAddresses: true,
      bootstrap: listening.addrs.filter((a) => transportKind(a) === "websockets"),
    });
    try {
      const opened = await cli.line<ConnectionLine>(
        (l) => l.event === "connection-opened" && l.remote === client.nodeId,
      );
      expect(opened).toMatchObject({ transport: "websockets", direction: "inbound" });
      cli.child.kill("SIGTERM");
      expect(await cli.exit).toBe(0);
      await expect
        .poll(() => client.connections().filter((c) => c.remote === listening.nodeId))
        .toEqual([]);
    } finally {
      await client.stop();
      await book.close();
    }
  });

  it("creates the key file with mode 0600 and keeps its node id and WebRTC-direct certhash across restarts", async () => {
    const keyFile = join(dir, "keys", "node.key");
    const dataDir = join(dir, "data");
    const args = ["bootstrap", "--key-file", keyFile, "--data-dir", dataDir];

    const first = startCli(args);
    running.push(first.child);
    const one = await first.line<ListeningLine>((l) => l.event === "listening");
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    const seed = fromHex((await readFile(keyFile, "utf8")).trim(), 32);
    expect((await Identity.fromSecretKey(seed)).nodeId).toBe(one.nodeId);
    first.child.kill("SIGTERM");
    expect(await first.exit).toBe(0);

    const second = startCli(args);
    running.push(second.child);
    const two = await second.line<ListeningLine>((l) => l.event === "listening");
    expect(two.nodeId).toBe(one.nodeId);
    // The certificate is kept in the data dir: the WebRTC-direct address browsers were given
    // still works (its port is the same too when --webrtc-port is fixed).
    const certhashes = (line: ListeningLine) =>
      line.addrs
        .filter((a) => transportKind(a) === "webrtc-direct")
        .map((a) => /\/certhash\/([^/]+)/.exec(a)?.[1]);
    expect(certhashes(one)).toHaveLength(1);
    expect(certhashes(two)).toEqual(certhashes(one));
    await expect
      .poll(() => second.stderr())
      .toContain(`webrtc-direct: certificate in ${join(dataDir, "webrtc-direct-certificate.pem")}`);
    second.child.kill("SIGINT");
    expect(await second.exit).toBe(0);

    // The address book was closed cleanly and holds the node's own signed transport info.
    const book = await AddressBook.open(
      await sqliteAddressBookStore(join(dataDir, ADDRESS_BOOK_FILE)),
    );
    expect(book.nodeInfo(one.nodeId as NodeId)?.transports?.kind).toBe("authenticated");
    await book.close();
  });
});

describe("p2panda-web node", () => {
  it("two nodes on one topic find each other through the bootstrap and report the shared topic", async () => {
    const boot = startCli(["bootstrap", "--allow-private-addresses", "--tcp-port", "0"]);
    running.push(boot.child);
    const listening = await boot.line<ListeningLine>((l) => l.event === "listening");
    const ws = listening.addrs.find((a) => transportKind(a) === "websockets") as string;
    const args = ["node", "--allow-private-addresses", "--bootstrap", ws, "--topic", "cli-test"];
    const a = startCli(args);
    const b = startCli(args);
    running.push(a.child, b.child);
    const aId = (await a.line<ListeningLine>((l) => l.event === "listening")).nodeId;
    const bId = (await b.line<ListeningLine>((l) => l.event === "listening")).nodeId;
    // With the spec's backoff (1–5 s steps) a walker may need a few steps to reach the peer.
    const found = await Promise.race([
      a.line<DiscoveryLine>(
        (l) => l.event === "discovery-session-ended" && l.remote === bId && l.sharedTopics === 1,
        45_000,
      ),
      b.line<DiscoveryLine>(
        (l) => l.event === "discovery-session-ended" && l.remote === aId && l.sharedTopics === 1,
        45_000,
      ),
    ]);
    expect(found.sharedTopics).toBe(1);
    // The bootstrap takes part in discovery too (it holds no topic: nothing shared).
    const atBoot = await boot.line<DiscoveryLine>(
      (l) => l.event === "discovery-session-ended" && (l.remote === aId || l.remote === bId),
    );
    expect(atBoot.sharedTopics).toBe(0);
    for (const cli of [a, b, boot]) cli.child.kill("SIGTERM");
    expect(await a.exit).toBe(0);
    expect(await b.exit).toBe(0);
    expect(await boot.exit).toBe(0);
  }, 60_000);
});

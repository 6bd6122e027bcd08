// `p2panda-web node --sync` as real processes: a bootstrap and two nodes that find each other
// through discovery and sync logs that survive a restart (`--gossip`: gossip.test.ts).
import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ListeningLine } from "@p2panda-web/cli";
import { transportKind } from "@p2panda-web/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type CliProcess, startCli } from "./cli-process.ts";

let dir: string;
const running: ChildProcess[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "p2panda-cli-topics-"));
});
afterEach(async () => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  await rm(dir, { recursive: true, force: true });
});

async function bootstrap(): Promise<string> {
  const boot = startCli(["bootstrap", "--allow-private-addresses"]);
  running.push(boot.child);
  const listening = await boot.line<ListeningLine>((l) => l.event === "listening");
  return listening.addrs.find((a) => transportKind(a) === "websockets") as string;
}

async function node(
  ws: string,
  topic: string,
  flags: string[],
): Promise<CliProcess & { id: string }> {
  const cli = startCli(
    ["node", "--allow-private-addresses", "--bootstrap", ws, "--topic", topic, ...flags],
    { stdin: true },
  );
  running.push(cli.child);
  const { nodeId } = await cli.line<ListeningLine>((l) => l.event === "listening");
  return Object.assign(cli, { id: nodeId });
}

describe("node --sync", () => {
  it("a late node catches up on a peer's log and still has it after a restart", async () => {
    const ws = await bootstrap();
    const a = await node(ws, "cli-sync", ["--sync", "--data-dir", join(dir, "a")]);
    for (const text of ["first", "second", "third"]) a.write(text);
    await a.line((l) => l.event === "sync-operation" && l.phase === "local" && l.text === "third");

    const bDir = join(dir, "b");
    const b = await node(ws, "cli-sync", ["--sync", "--data-dir", bDir]);
    await b.line((l) => l.event === "sync-operation" && l.text === "third", 45_000);
    const received = b.lines.filter((l) => l.event === "sync-operation").map((l) => l.text);
    expect(received).toEqual(["first", "second", "third"]);
    expect(b.lines.find((l) => l.event === "sync-operation")).toMatchObject({
      author: a.id,
      seq: 0,
    });

    // Live: a new line reaches the other node without a new session.
    b.write("reply");
    await a.line((l) => l.event === "sync-operation" && l.text === "reply" && l.phase === "live");

    b.child.kill("SIGTERM");
    expect(await b.exit).toBe(0);
    a.child.kill("SIGTERM");
    expect(await a.exit).toBe(0);
    // Alone now, b still holds all four from its SQLite file.
    const again = await node(ws, "cli-sync", ["--sync", "--data-dir", bDir]);
    const history = await again.line<{ operations: number }>((l) => l.event === "sync-history");
    expect(history.operations).toBe(4);
    again.child.kill("SIGTERM");
    expect(await again.exit).toBe(0);
  }, 120_000);

  it("--sync without --topic is a usage error", async () => {
    const cli = startCli(["node", "--sync"]);
    expect(await cli.exit).toBe(2);
  });
});

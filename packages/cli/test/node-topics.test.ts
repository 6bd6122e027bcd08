// `p2panda-web node --sync` as real processes: a bootstrap and two nodes that find each other
// through discovery and sync logs that survive a restart (`--gossip`: gossip.test.ts).
import type { ChildProcess } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ListeningLine } from "@p2panda-web/cli";
import { Topic, TopicSecret, transportKind } from "@p2panda-web/core";
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
  topicFlag: "--topic" | "--topic-id" = "--topic",
): Promise<CliProcess & { id: string }> {
  const cli = startCli(
    ["node", "--allow-private-addresses", "--bootstrap", ws, topicFlag, topic, ...flags],
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
    // One line per topic names the id the network sees (without --encrypt: the name's topic).
    expect(await a.line((l) => l.event === "topic")).toEqual({
      event: "topic",
      name: "cli-sync",
      topicId: Topic.fromName("cli-sync"),
    });
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
    // Without --encrypt the text is in the SQLite file: what the blind-peer test's scan checks.
    const stored = await Promise.all((await readdir(bDir)).map((f) => readFile(join(bDir, f))));
    expect(stored.some((bytes) => bytes.includes(Buffer.from("second")))).toBe(true);
  }, 120_000);

  it("a blind peer (--topic-id) stores only ciphertext and hands a member who was offline the whole history", async () => {
    const ws = await bootstrap();
    const name = "cli-blind-peer";
    const lines = ["a first private line", "a second private line", "a third private line"];
    const a = await node(ws, name, ["--encrypt", "--sync", "--data-dir", join(dir, "a")]);
    // The member prints the id to give a blind peer: the derived one, not the plain name's.
    const { topicId } = await a.line<{ topicId: string }>((l) => l.event === "topic");
    expect(a.lines.find((l) => l.event === "topic")).toEqual({
      event: "topic",
      name,
      topicId: TopicSecret.fromName(name).topic,
    });
    expect(topicId).not.toBe(Topic.fromName(name));
    for (const text of lines) a.write(text);
    await a.line((l) => l.event === "sync-operation" && l.phase === "local" && l.text === lines[2]);

    const blindDir = join(dir, "blind");
    const blind = await node(ws, topicId, ["--sync", "--data-dir", blindDir], "--topic-id");
    await expect
      .poll(() => blind.lines.filter((l) => l.event === "sync-operation").length, {
        timeout: 45_000,
        interval: 200,
      })
      .toBe(3);
    expect(blind.lines.filter((l) => l.event === "sync-operation")[0]).toMatchObject({
      topic: topicId,
      author: a.id,
    });
    a.child.kill("SIGTERM");
    expect(await a.exit).toBe(0);

    // A member who was offline while a wrote meets only the blind peer, and reads everything.
    const c = await node(ws, name, ["--encrypt", "--sync", "--data-dir", join(dir, "c")]);
    await c.line((l) => l.event === "sync-operation" && l.text === lines[2], 45_000);
    const read = c.lines.filter((l) => l.event === "sync-operation").map((l) => l.text);
    expect(read).toEqual(lines);
    c.child.kill("SIGTERM");
    expect(await c.exit).toBe(0);
    blind.child.kill("SIGTERM");
    expect(await blind.exit).toBe(0);

    // Nothing the blind peer printed or stored holds a line of the plaintext.
    const printed = JSON.stringify(blind.lines) + blind.stderr();
    const files = await readdir(blindDir);
    expect(files.length).toBeGreaterThan(0);
    const stored = await Promise.all(files.map((f) => readFile(join(blindDir, f))));
    for (const line of lines) {
      expect(printed).not.toContain(line);
      for (const bytes of stored) expect(bytes.includes(Buffer.from(line))).toBe(false);
    }
    // Members keep the sealed bodies too (the plaintext exists only in memory).
    const own = await Promise.all(
      (await readdir(join(dir, "c"))).map((f) => readFile(join(dir, "c", f))),
    );
    expect(own.some((bytes) => bytes.includes(Buffer.from("private line")))).toBe(false);
  }, 150_000);

  it("--sync without --topic is a usage error", async () => {
    const cli = startCli(["node", "--sync"]);
    expect(await cli.exit).toBe(2);
  });

  it("--topic-id that is not 64 hex characters is a usage error", async () => {
    const cli = startCli(["node", "--sync", "--topic-id", "abc"]);
    expect(await cli.exit).toBe(2);
    expect(cli.stderr()).toContain("--topic-id must be 64 hex characters");
  });
});

// `p2panda-web node --gossip`: the JSON lines it prints for gossip events, and as real processes a
// bootstrap and two nodes that find each other through discovery and chat over the overlay.
import type { ChildProcess } from "node:child_process";
import {
  type CliIo,
  commandHelp,
  type GossipLine,
  type GossipMessageLine,
  gossipLine,
  type ListeningLine,
  nodeCommand,
  runCli,
} from "@p2panda-web/cli";
import { NodeId, Topic, transportKind } from "@p2panda-web/core";
import type { GossipServiceEvent } from "@p2panda-web/core/gossip";
import { afterEach, describe, expect, it } from "vitest";
import { type CliProcess, startCli } from "./cli-process.ts";

const running: ChildProcess[] = [];
afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
});

function memoryIo(): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const signal = new AbortController().signal;
  return { out, err, signal, stdout: (l) => out.push(l), stderr: (l) => err.push(l) };
}

describe("gossip lines", () => {
  const topic = Topic.fromName("lines");
  const other = Topic.fromName("not named");
  const node = "ab".repeat(32) as NodeId;
  const names = (t: Topic) => (t === topic ? "lines" : undefined);
  const received = (content: Uint8Array): GossipServiceEvent => ({
    type: "gossip:received",
    at: 0,
    topic,
    content,
    id: new Uint8Array(32),
    deliveredBy: node,
    hops: 2,
  });

  it("a received message carries its text, or its hex when the content is not UTF-8", () => {
    expect(gossipLine(received(new TextEncoder().encode("héllo")), names)).toEqual({
      event: "gossip-message",
      topic: "lines",
      from: node,
      text: "héllo",
      hops: 2,
    } satisfies GossipLine);
    expect(gossipLine(received(Uint8Array.of(0xa1, 0xff)), names)).toEqual({
      event: "gossip-message",
      topic: "lines",
      from: node,
      hex: "a1ff",
      hops: 2,
    });
  });

  it("names overlay events by topic name; events of unnamed topics print nothing", () => {
    expect(gossipLine({ type: "gossip:joined", at: 0, topic, nodes: [node] }, names)).toEqual({
      event: "gossip-joined",
      topic: "lines",
      nodes: [node],
    });
    expect(gossipLine({ type: "gossip:neighbour-down", at: 0, topic, node }, names)).toEqual({
      event: "gossip-neighbour-down",
      topic: "lines",
      node,
    });
    expect(gossipLine({ type: "gossip:left", at: 0, topic }, names)).toEqual({
      event: "gossip-left",
      topic: "lines",
    });
    expect(gossipLine({ type: "gossip:neighbour-up", at: 0, topic: other, node }, names)).toBe(
      undefined,
    );
  });

  it("--help describes --gossip; --gossip without --topic is a usage error", async () => {
    expect(commandHelp(nodeCommand)).toMatch(/--gossip\s+Join the topics' gossip overlays/);
    const io = memoryIo();
    expect(await runCli(["node", "--gossip"], io)).toBe(2);
    expect(io.err.join("\n")).toContain("--topic");
  });
});

async function bootstrap(): Promise<string> {
  const boot = startCli(["bootstrap", "--allow-private-addresses"]);
  running.push(boot.child);
  const listening = await boot.line<ListeningLine>((l) => l.event === "listening");
  return listening.addrs.find((a) => transportKind(a) === "websockets") as string;
}

async function gossipNode(ws: string, topic: string): Promise<CliProcess & { id: string }> {
  const cli = startCli(
    ["node", "--allow-private-addresses", "--bootstrap", ws, "--topic", topic, "--gossip"],
    { stdin: true },
  );
  running.push(cli.child);
  const { nodeId } = await cli.line<ListeningLine>((l) => l.event === "listening");
  return Object.assign(cli, { id: nodeId });
}

type Line = Record<string, unknown>;
const message = (text: string) => (l: Line) => l.event === "gossip-message" && l.text === text;
const failed = (l: Line) => l.event === "gossip-publish-failed";

describe("p2panda-web node --gossip", () => {
  it("two nodes chat through the overlay; bad lines are reported; stdin end keeps it running", async () => {
    const topic = "cli gossip chat";
    const ws = await bootstrap();
    const a = await gossipNode(ws, topic);
    const b = await gossipNode(ws, topic);

    // Discovery (through the bootstrap, with the spec's walk backoff) puts each into the other's
    // address book under the topic; the overlay then forms over it.
    await Promise.all([
      a.line((l) => l.event === "gossip-neighbour-up" && l.node === b.id, 45_000),
      b.line((l) => l.event === "gossip-neighbour-up" && l.node === a.id, 45_000),
    ]);
    const joined = await a.line<{ topic: string; nodes: string[] }>(
      (l) => l.event === "gossip-joined",
    );
    expect(joined).toMatchObject({ topic, nodes: [b.id] });

    // A → B. An empty line before it is not published (B would get it first: one ordered link).
    a.write("");
    a.write("hello from a");
    const atB = await b.line<GossipMessageLine>(message("hello from a"));
    expect(NodeId.is(atB.from)).toBe(true);
    expect(atB).toMatchObject({ topic, from: a.id, hops: expect.any(Number) });
    expect(b.lines.filter((l) => l.event === "gossip-message")).toHaveLength(1);

    // B → A, with text that is not ASCII.
    b.write("héllo from b ✓");
    const atA = await a.line<GossipMessageLine>(message("héllo from b ✓"));
    expect(atA).toMatchObject({ topic, from: b.id });

    // 2,049 characters but 4,098 bytes: the limit counts UTF-8 bytes.
    a.write("é".repeat(2_049));
    const tooLarge = await a.line<{ topic: string; reason: string }>(failed);
    expect(tooLarge).toMatchObject({ topic, reason: "message of 4098 bytes exceeds 4096" });

    // Gossip drops content it saw recently; the node says so instead of seeming to send it.
    b.write("hello from a");
    const repeated = await b.line<{ reason: string }>(failed);
    expect(repeated.reason).toMatch(/same text/);

    // A's stdin ends (as for a daemon): it goes on receiving.
    a.child.stdin?.end();
    b.write("still there?");
    await a.line(message("still there?"));
    expect(a.child.exitCode).toBe(null);
    expect(a.lines.filter(failed)).toHaveLength(1);

    // SIGINT: A leaves the overlay before closing its connections, so B sees it go at once.
    a.child.kill("SIGINT");
    expect(await a.exit).toBe(0);
    expect(a.lines).toContainEqual({ event: "gossip-left", topic } satisfies GossipLine);
    await b.line((l) => l.event === "gossip-neighbour-down" && l.node === a.id);
    b.child.kill("SIGTERM");
    expect(await b.exit).toBe(0);
  }, 90_000);
});

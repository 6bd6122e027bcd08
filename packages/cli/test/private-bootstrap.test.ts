// `p2panda-web node --bootstrap /ip4/127.0.0.1/…` without --allow-private-addresses: the node
// cannot dial its bootstrap. It used to fail ~500 discovery sessions a second with only
// `channel-error` to show for it; now it says which flag to set and its walk slows down.
import type { ChildProcess } from "node:child_process";
import { transportKind } from "@p2panda-web/core";
import { FREE_UNREACHABLE_STEPS } from "@p2panda-web/core/discovery";
import { afterEach, describe, expect, it } from "vitest";
import type { DiscoveryLine, ListeningLine } from "../src/index.ts";
import { startCli } from "./cli-process.ts";

const running: ChildProcess[] = [];
afterEach(() => {
  for (const child of running.splice(0)) child.kill("SIGKILL");
});

describe("a loopback bootstrap without --allow-private-addresses", () => {
  it("names the flag in each failed session's line and once on stderr, and walks no faster than every 2 s", async () => {
    const boot = startCli(["bootstrap", "--allow-private-addresses"]);
    running.push(boot.child);
    const listening = await boot.line<ListeningLine>((l) => l.event === "listening");
    const ws = listening.addrs.find((a) => transportKind(a) === "websockets") as string;
    const node = startCli(["node", "--bootstrap", ws, "--topic", "private-bootstrap"]);
    running.push(node.child);
    const failed = (): DiscoveryLine[] =>
      node.lines.filter(
        (l) => l.event === "discovery-session-failed",
      ) as unknown as DiscoveryLine[];
    const first = await node.line<DiscoveryLine>((l) => l.event === "discovery-session-failed");
    expect(first.reason).toBe("channel-error");
    expect(first.message).toContain("private addresses are not allowed");
    expect(first.message).toContain("--allow-private-addresses");
    // Each of the two walkers (discovery's default) takes its free unreachable steps at once.
    await node.line(() => failed().length >= 2 * FREE_UNREACHABLE_STEPS + 2, 15_000);
    // From then on a walker fails at most once per 2 s: four more lines (two per walker) take
    // at least one such wait. Without the bound they came within milliseconds.
    const count = failed().length;
    const since = Date.now();
    await node.line(() => failed().length >= count + 4, 15_000);
    expect(Date.now() - since).toBeGreaterThanOrEqual(1_900);
    const warnings = node
      .stderr()
      .split("\n")
      .filter((l) => l.startsWith("warning:"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("--allow-private-addresses");
    for (const cli of [node, boot]) cli.child.kill("SIGTERM");
    expect(await node.exit).toBe(0);
    expect(await boot.exit).toBe(0);
  }, 40_000);
});

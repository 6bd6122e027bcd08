// `p2panda-web bootstrap --relay-data-limit <bytes> --relay-duration-limit <seconds>`: off by
// default (circuits carry signalling only), validated, and turned into the relay's per-circuit
// limits with the relayed-data sign that tells nodes they may run sessions through it.
import { type CliIo, runCli } from "@p2panda-web/cli";
import { DEFAULT_RELAY_SERVER_OPTIONS } from "@p2panda-web/core/node";
import { describe, expect, it } from "vitest";
import { UsageError } from "../src/command.ts";
import { relayDataSettings } from "../src/run-node.ts";

function memoryIo(): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const signal = new AbortController().signal;
  return { out, err, signal, stdout: (l) => out.push(l), stderr: (l) => err.push(l) };
}

describe("bootstrap data relaying flags", () => {
  it("are documented in --help", async () => {
    const io = memoryIo();
    expect(await runCli(["bootstrap", "--help"], io)).toBe(0);
    const help = io.out.join("\n");
    expect(help).toContain("--relay-data-limit <bytes>");
    expect(help).toContain("--relay-duration-limit <seconds>");
  });

  it("leave data relaying off when neither is given", () => {
    expect(relayDataSettings({})).toEqual({});
  });

  it("turn it on with the limits given, the other one at its default", () => {
    expect(
      relayDataSettings({ "relay-data-limit": "16777216", "relay-duration-limit": "600" }),
    ).toEqual({
      relayData: true,
      connectionDataLimitBytes: 16_777_216,
      connectionDurationLimitMs: 600_000,
    });
    expect(relayDataSettings({ "relay-data-limit": "1048576" })).toEqual({
      relayData: true,
      connectionDataLimitBytes: 1_048_576,
      connectionDurationLimitMs: DEFAULT_RELAY_SERVER_OPTIONS.connectionDurationLimitMs,
    });
    expect(relayDataSettings({ "relay-duration-limit": "30" })).toEqual({
      relayData: true,
      connectionDataLimitBytes: DEFAULT_RELAY_SERVER_OPTIONS.connectionDataLimitBytes,
      connectionDurationLimitMs: 30_000,
    });
  });

  const bad: Array<[string, string, RegExp]> = [
    ["relay-data-limit", "0", /--relay-data-limit must be a positive integer/],
    ["relay-data-limit", "-5", /--relay-data-limit must be a positive integer/],
    ["relay-data-limit", "1.5", /--relay-data-limit must be a positive integer/],
    ["relay-data-limit", "16MiB", /--relay-data-limit must be a positive integer/],
    ["relay-data-limit", "99999999999999999999", /below 2\^53/],
    ["relay-duration-limit", "0", /--relay-duration-limit must be a positive integer/],
    ["relay-duration-limit", "ten", /--relay-duration-limit must be a positive integer/],
    ["relay-duration-limit", "2147484", /at most 2147483 seconds/],
  ];
  for (const [flag, value, message] of bad) {
    it(`refuses --${flag} ${value} with a usage error (exit code 2)`, async () => {
      expect(() => relayDataSettings({ [flag]: value })).toThrow(UsageError);
      expect(() => relayDataSettings({ [flag]: value })).toThrow(message);
      const io = memoryIo();
      expect(await runCli(["bootstrap", `--${flag}=${value}`], io)).toBe(2);
      expect(io.err.join("\n")).toMatch(message);
    });
  }
});

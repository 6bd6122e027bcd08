import { describe, expect, it } from "vitest";
import { DecodeError } from "../../src/codec/cbor.ts";
import { FrameTooLargeError, IncompleteFrameError } from "../../src/codec/framing.ts";
import { ChannelClosedError, StreamStalledError } from "../../src/codec/message-channel.ts";
import {
  asDiscoveryError,
  DiscoveryProtocolError,
  isRemoteFault,
} from "../../src/discovery/index.ts";
import { NoTransportInfoError, WriteStalledError } from "../../src/endpoint/errors.ts";
import { nodeId } from "./helpers.ts";

describe("every failure of a discovery session has a reason, and what the remote caused is its fault", () => {
  it.each([
    ["bad CBOR or a forbidden map key", new DecodeError("bad"), "malformed-frame", true],
    ["a stream ending mid-frame", new IncompleteFrameError(3), "malformed-frame", true],
    ["an oversized frame", new FrameTooLargeError(2 << 20, 1 << 20), "frame-too-large", true],
    ["a receive stall", new StreamStalledError(10_000, false), "timeout", true],
    [
      "a remote that takes none of our writes",
      new ChannelClosedError("stream closed while sending", {
        cause: new WriteStalledError(30_000),
      }),
      "timeout",
      true,
    ],
    ["a reset stream", new ChannelClosedError(), "channel-error", false],
    ["our dial without an address", new NoTransportInfoError(nodeId(3)), "channel-error", false],
    ["a bug of ours", new TypeError("x is undefined"), "internal-error", false],
    ["not even an Error", "boom", "internal-error", false],
    ["our own stop", new DiscoveryProtocolError("stopped", "stop"), "stopped", false],
    [
      "a newer session of the remote",
      new DiscoveryProtocolError("superseded", "x"),
      "superseded",
      false,
    ],
    ["an eviction", new DiscoveryProtocolError("evicted", "x"), "evicted", true],
    [
      "a wrong step",
      new DiscoveryProtocolError("unexpected-message", "x"),
      "unexpected-message",
      true,
    ],
  ] as const)("%s → %s", (_, error, reason, fault) => {
    const named = asDiscoveryError(error);
    expect(named).toBeInstanceOf(DiscoveryProtocolError);
    expect(named.reason).toBe(reason);
    expect(isRemoteFault(named)).toBe(fault);
    if (!(error instanceof DiscoveryProtocolError)) expect(named.cause).toBe(error);
  });
});

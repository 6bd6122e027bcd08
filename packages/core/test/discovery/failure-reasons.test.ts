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
    ["bad CBOR or a forbidden map key", "malformed-frame", true, new DecodeError("bad")],
    ["a stream ending mid-frame", "malformed-frame", true, new IncompleteFrameError(3)],
    ["an oversized frame", "frame-too-large", true, new FrameTooLargeError(2 << 20, 1 << 20)],
    ["a receive stall", "timeout", true, new StreamStalledError(10_000, false)],
    [
      "a remote that takes none of our writes",
      "timeout",
      true,
      new ChannelClosedError("stream closed while sending", {
        cause: new WriteStalledError(30_000),
      }),
    ],
    ["a reset stream", "channel-error", false, new ChannelClosedError()],
    ["our dial without an address", "channel-error", false, new NoTransportInfoError(nodeId(3))],
    ["a bug of ours", "internal-error", false, new TypeError("x is undefined")],
    ["not even an Error", "internal-error", false, "boom"],
    ["our own stop", "stopped", false, new DiscoveryProtocolError("stopped", "stop")],
    [
      "a newer session of the remote",
      "superseded",
      false,
      new DiscoveryProtocolError("superseded", "x"),
    ],
    ["an eviction", "evicted", true, new DiscoveryProtocolError("evicted", "x")],
    [
      "a wrong step",
      "unexpected-message",
      true,
      new DiscoveryProtocolError("unexpected-message", "x"),
    ],
  ] as const)("%s → %s, remote's fault: %s", (_, reason, fault, error) => {
    const named = asDiscoveryError(error);
    expect(named).toBeInstanceOf(DiscoveryProtocolError);
    expect(named.reason).toBe(reason);
    expect(isRemoteFault(named)).toBe(fault);
    if (!(error instanceof DiscoveryProtocolError)) expect(named.cause).toBe(error);
  });
});

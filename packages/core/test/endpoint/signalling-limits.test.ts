import { createNodeInfo, Identity, InvalidInputError, NodeId } from "@p2panda-web/core";
import { SignallingLimits, SignallingRateLimitedError } from "@p2panda-web/core/endpoint";
import { afterEach, describe, expect, it } from "vitest";
import { memoryNode, stopAll } from "./helpers.ts";

const A = "a".repeat(64);
const B = "b".repeat(64);

describe("a node's signalling requests are held to its rate", () => {
  it("lets a burst through, refuses the next, and refills at the rate per minute", () => {
    const limits = new SignallingLimits({ reservation: { burst: 3, perMinute: 6 } });
    const taken = [0, 1, 2, 3].map(() => limits.take("reservation", A, 1_000));
    expect(taken).toEqual([true, true, true, false]);
    // 6 a minute is one every 10 s.
    expect(limits.take("reservation", A, 10_999)).toBe(false);
    expect(limits.take("reservation", A, 11_000)).toBe(true);
    expect(limits.take("reservation", A, 11_000)).toBe(false);
  });

  it("counts each node and each kind on its own", () => {
    const limits = new SignallingLimits({
      relayCircuit: { burst: 1, perMinute: 1 },
      inboundCircuit: { burst: 1, perMinute: 1 },
    });
    expect(limits.take("relay-circuit", A, 0)).toBe(true);
    expect(limits.take("relay-circuit", A, 0)).toBe(false);
    expect(limits.take("relay-circuit", B, 0)).toBe(true);
    expect(limits.take("inbound-circuit", A, 0)).toBe(true);
  });

  it("tracks at most maxTrackedNodes buckets, forgetting the one used least recently", () => {
    const limits = new SignallingLimits({
      outboundCircuit: { burst: 1, perMinute: 1 },
      maxTrackedNodes: 2,
    });
    limits.take("outbound-circuit", A, 0);
    limits.take("outbound-circuit", B, 0);
    // A was used more recently than B, so a third node pushes B out, not A.
    expect(limits.take("outbound-circuit", A, 0)).toBe(false);
    limits.take("outbound-circuit", "c".repeat(64), 0);
    expect(limits.tracked).toBe(2);
    expect(limits.take("outbound-circuit", A, 0)).toBe(false);
    expect(limits.take("outbound-circuit", B, 0)).toBe(true);
  });

  it.each([
    ["a zero burst", { reservation: { burst: 0, perMinute: 1 } }],
    ["a negative rate", { relayCircuit: { burst: 1, perMinute: -1 } }],
    ["a rate that is not a number", { inboundCircuit: { burst: 1, perMinute: Number.NaN } }],
    ["no room for any node", { maxTrackedNodes: 0 }],
  ])("refuses %s", (_, options) => {
    expect(() => new SignallingLimits(options)).toThrow(InvalidInputError);
  });
});

describe("a node holds its own relayed dials to one node to the rate", () => {
  afterEach(stopAll);

  it("dials through a relay up to the burst, then fails with SignallingRateLimitedError without dialling", async () => {
    const tab = await memoryNode({
      signallingLimits: { outboundCircuit: { burst: 2, perMinute: 1 } },
    });
    const target = await Identity.generate();
    const relay = await Identity.generate();
    const peer = (id: Identity): string => NodeId.toPeerId(id.nodeId).toString();
    // Reachable only by WebRTC signalled through a relay nobody runs: each dial fails.
    await tab.addressBook.insertNodeInfo({
      ...createNodeInfo(target.nodeId),
      transports: {
        kind: "trusted",
        addresses: [`/memory/gone/p2p/${peer(relay)}/p2p-circuit/webrtc/p2p/${peer(target)}`],
      },
    });
    const outcomes: string[] = [];
    for (let i = 0; i < 3; i++) {
      const error = await tab.endpoint.dial(target.nodeId).catch((e: unknown) => e);
      outcomes.push((error as { code: string }).code);
    }
    expect(outcomes).toEqual(["DIAL_FAILED", "DIAL_FAILED", "SIGNALLING_RATE_LIMITED"]);
    const error = await tab.endpoint.dial(target.nodeId).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SignallingRateLimitedError);
    expect(tab.endpoint.metrics.signallingRateLimited).toBe(2);
  });
});

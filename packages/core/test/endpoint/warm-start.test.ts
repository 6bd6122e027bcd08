import { describe, expect, it } from "vitest";
import { warmStartNodes } from "../../src/endpoint/warm-start.ts";
import { NodeId } from "../../src/ids/node-id.ts";
import { createNodeInfo, type NodeInfo } from "../../src/records/node-info.ts";

const id = (n: number) => NodeId.fromBytes(new Uint8Array(32).fill(n));
const SELF = id(1);
const WS = "/ip4/10.0.0.1/tcp/4001/ws";
const CIRCUIT = `/ip4/10.0.0.1/tcp/4001/ws/p2p/12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq/p2p-circuit/webrtc`;

function known(
  n: number,
  init: { bootstrap?: boolean; addresses?: string[]; success?: number; failure?: number },
): NodeInfo {
  const info = createNodeInfo(id(n), { bootstrap: init.bootstrap ?? false });
  return {
    ...info,
    transports: { kind: "trusted", addresses: init.addresses ?? [WS] },
    metrics: {
      successes: init.success === undefined ? 0 : 1,
      failures: init.failure === undefined ? 0 : 1,
      lastSuccessAt: init.success,
      lastFailureAt: init.failure,
      lastOutcome:
        init.failure !== undefined && (init.success ?? -1) < init.failure ? "failure" : "success",
    },
  } as NodeInfo;
}

describe("warmStartNodes: whom a restarted node dials before its bootstrap list", () => {
  it("takes bootstraps and WebSockets nodes that answered last time, latest first", () => {
    const book = [
      known(2, { bootstrap: true, success: 100 }),
      known(3, { success: 300 }),
      known(4, { bootstrap: true, success: 200 }),
    ];
    expect(warmStartNodes(book, { self: SELF, configured: new Set() })).toEqual([
      id(3),
      id(4),
      id(2),
    ]);
  });

  it.each([
    ["never answered", known(2, { bootstrap: true })],
    ["failed after it last answered", known(2, { bootstrap: true, success: 100, failure: 200 })],
    ["a tab (only a relay circuit)", known(2, { success: 100, addresses: [CIRCUIT] })],
    ["ourselves", known(1, { bootstrap: true, success: 100 })],
    ["a bootstrap without addresses", known(2, { bootstrap: true, success: 100, addresses: [] })],
  ])("skips a node that %s", (_, info) => {
    expect(warmStartNodes([info], { self: SELF, configured: new Set() })).toEqual([]);
  });

  it("skips the configured bootstraps (dialled anyway) and stops at the limit", () => {
    const book = [2, 3, 4, 5, 6, 7].map((n) => known(n, { bootstrap: true, success: n }));
    expect(warmStartNodes(book, { self: SELF, configured: new Set([id(7)]) }, 3)).toEqual([
      id(6),
      id(5),
      id(4),
    ]);
  });
});

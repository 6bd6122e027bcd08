import { describe, expect, it } from "vitest";
import {
  PageLifecycle,
  type PageLifecycleOutput,
  type PageSignal,
} from "../../src/composition/page-lifecycle.ts";
import { NodeId } from "../../src/ids/node-id.ts";
import { seededRng } from "../../src/random.ts";

const BOOTSTRAP = NodeId.fromBytes(new Uint8Array(32).fill(7));

function signal(machine: PageLifecycle, s: PageSignal, now: number): PageLifecycleOutput[] {
  return machine.handle({ type: "signal", signal: s }, now);
}

function kinds(outputs: readonly PageLifecycleOutput[]): string[] {
  return outputs.map((o) => (o.type === "event" ? o.event.type : o.type));
}

describe("PageLifecycle: pausing and resuming", () => {
  it.each([
    ["offline", { type: "offline" }, { type: "online" }, [], []],
    ["frozen", { type: "frozen" }, { type: "resumed" }, [], []],
    [
      "bfcache",
      { type: "pagehide", persisted: true },
      { type: "pageshow", persisted: true },
      ["suspend-connections"],
      ["resume-connections"],
    ],
  ] as const)(
    "%s pauses, and its return recovers with the time it was paused",
    (reason, away, back, closes, reopens) => {
      const machine = new PageLifecycle();
      expect(kinds(signal(machine, away, 1_000))).toEqual([
        "node:page-signal",
        ...closes,
        "pause",
        "node:paused",
      ]);
      expect(machine.pauseReasons).toEqual([reason]);
      const out = signal(machine, back, 31_000);
      expect(kinds(out)).toEqual(["node:page-signal", ...reopens, "node:resumed", "recover"]);
      expect(out[1 + reopens.length]).toMatchObject({ event: { reason, pausedMs: 30_000 } });
      expect(machine.paused).toBe(false);
    },
  );

  it("stays paused until every reason is gone (frozen while offline)", () => {
    const machine = new PageLifecycle();
    signal(machine, { type: "offline" }, 0);
    expect(kinds(signal(machine, { type: "frozen" }, 10))).toEqual(["node:page-signal"]);
    expect(kinds(signal(machine, { type: "online" }, 20))).toEqual(["node:page-signal"]);
    expect(machine.pauseReasons).toEqual(["frozen"]);
    expect(kinds(signal(machine, { type: "resumed" }, 50))).toContain("recover");
  });

  it("a pagehide into no bfcache (the page unloads) pauses nothing", () => {
    const machine = new PageLifecycle();
    expect(kinds(signal(machine, { type: "pagehide", persisted: false }, 0))).toEqual([
      "node:page-signal",
    ]);
    expect(machine.paused).toBe(false);
  });

  it("into the bfcache it suspends its connections, even while paused already", () => {
    const machine = new PageLifecycle();
    signal(machine, { type: "offline" }, 0);
    expect(kinds(signal(machine, { type: "pagehide", persisted: true }, 10))).toEqual([
      "node:page-signal",
      "suspend-connections",
    ]);
    expect(machine.pauseReasons).toEqual(["offline", "bfcache"]);
    // Back, but still offline: connections allowed again, no recovery yet; online again, it
    // recovers (and redials).
    expect(kinds(signal(machine, { type: "pageshow", persisted: true }, 20))).toEqual([
      "node:page-signal",
      "resume-connections",
    ]);
    expect(kinds(signal(machine, { type: "online" }, 30))).toEqual([
      "node:page-signal",
      "node:resumed",
      "recover",
    ]);
  });

  it("a page that unloads, is shown fresh, frozen or hidden suspends no connection", () => {
    const machine = new PageLifecycle();
    for (const s of [
      { type: "pagehide", persisted: false },
      { type: "pageshow", persisted: false },
      { type: "frozen" },
      { type: "hidden" },
    ] as const) {
      expect(kinds(signal(machine, s, 0))).not.toContain("suspend-connections");
      expect(kinds(signal(machine, s, 0))).not.toContain("resume-connections");
    }
  });

  it("a node created offline starts paused", () => {
    const machine = new PageLifecycle({}, { online: false });
    expect(kinds(machine.start(0))).toEqual(["pause", "node:paused"]);
    expect(kinds(new PageLifecycle().start(0))).toEqual([]);
  });

  it("hiding pauses nothing; becoming visible again catches up", () => {
    const machine = new PageLifecycle();
    expect(kinds(signal(machine, { type: "hidden" }, 0))).toEqual(["node:page-signal"]);
    const out = signal(machine, { type: "visible" }, 120_000);
    expect(kinds(out)).toEqual(["node:page-signal", "node:resumed", "recover"]);
    expect(out[1]).toMatchObject({ event: { reason: "visible", pausedMs: 120_000 } });
    // Visible without having been hidden: nothing to catch up on.
    expect(kinds(signal(machine, { type: "visible" }, 120_001))).toEqual(["node:page-signal"]);
  });
});

describe("PageLifecycle: after a long pause the connections are presumed dead", () => {
  const recoverOf = (outputs: readonly PageLifecycleOutput[]) =>
    outputs.find((o) => o.type === "recover");

  it.each([
    ["frozen", { type: "frozen" }, { type: "resumed" }],
    ["offline", { type: "offline" }, { type: "online" }],
    ["bfcache", { type: "pagehide", persisted: true }, { type: "pageshow", persisted: true }],
  ] as const)(
    "%s for 10 s or longer: the resume replaces the bootstrap connections; shorter, it dials them",
    (_reason, away, back) => {
      const machine = new PageLifecycle();
      signal(machine, away, 0);
      expect(recoverOf(signal(machine, back, 9_999))).toEqual({
        type: "recover",
        replaceConnections: false,
      });
      signal(machine, away, 20_000);
      expect(recoverOf(signal(machine, back, 30_000))).toEqual({
        type: "recover",
        replaceConnections: true,
      });
    },
  );

  it("hidden for minutes, the page still answered pings: its connections are kept", () => {
    const machine = new PageLifecycle();
    signal(machine, { type: "hidden" }, 0);
    expect(recoverOf(signal(machine, { type: "visible" }, 600_000))).toEqual({
      type: "recover",
      replaceConnections: false,
    });
  });

  it("the threshold is staleAfterMs", () => {
    const machine = new PageLifecycle({ staleAfterMs: 60_000 });
    signal(machine, { type: "frozen" }, 0);
    expect(recoverOf(signal(machine, { type: "resumed" }, 59_999))).toMatchObject({
      replaceConnections: false,
    });
  });
});

describe("PageLifecycle: a lost bootstrap is redialled with backoff", () => {
  function lose(machine: PageLifecycle, now: number): PageLifecycleOutput[] {
    return machine.handle({ type: "bootstrap-lost", node: BOOTSTRAP }, now);
  }
  const due = (machine: PageLifecycle, now: number) =>
    machine.handle({ type: "reconnect-due", node: BOOTSTRAP }, now);
  const failed = (machine: PageLifecycle, now: number) =>
    machine.handle({ type: "bootstrap-dial-failed", node: BOOTSTRAP }, now);
  const delayOf = (outputs: readonly PageLifecycleOutput[]) =>
    outputs.find((o) => o.type === "set-timer")?.type === "set-timer"
      ? (outputs.find((o) => o.type === "set-timer") as { delayMs: number }).delayMs
      : undefined;

  it("first after 250 ms, then each wait half as long again, up to 30 s", () => {
    const machine = new PageLifecycle();
    const delays = [delayOf(lose(machine, 0))];
    for (let i = 0; i < 9; i++) {
      expect(due(machine, 0)).toEqual([{ type: "dial-bootstrap", node: BOOTSTRAP }]);
      delays.push(delayOf(failed(machine, 0)));
    }
    expect(delays).toEqual([250, 375, 563, 844, 1_266, 1_898, 2_848, 4_271, 6_407, 9_611]);
    for (let i = 0; i < 10; i++) {
      due(machine, 0);
      delays.push(delayOf(failed(machine, 0)));
    }
    expect(delays.at(-1)).toBe(30_000);
  });

  it("with an rng, each wait is up to 20 % off, never the same for every tab", () => {
    const waits = [1, 2, 3, 4, 5, 6, 7, 8].map((seed) => {
      const machine = new PageLifecycle({}, { rng: seededRng(seed) });
      return delayOf(lose(machine, 0)) as number;
    });
    for (const wait of waits) {
      expect(wait).toBeGreaterThanOrEqual(200);
      expect(wait).toBeLessThanOrEqual(300);
    }
    expect(new Set(waits).size).toBeGreaterThan(1);
  });

  it("a second loss report while a reconnect is pending starts no second one", () => {
    const machine = new PageLifecycle();
    expect(kinds(lose(machine, 0))).toEqual(["set-timer", "node:bootstrap-reconnect-scheduled"]);
    expect(lose(machine, 10)).toEqual([]);
  });

  it("connected again: the timer is cancelled and the outage reported", () => {
    const machine = new PageLifecycle();
    lose(machine, 1_000);
    due(machine, 1_250);
    const out = machine.handle({ type: "bootstrap-connected", node: BOOTSTRAP }, 1_400);
    expect(out).toEqual([
      { type: "cancel-timer", node: BOOTSTRAP },
      {
        type: "event",
        event: { type: "node:bootstrap-reconnected", node: BOOTSTRAP, afterMs: 400 },
      },
    ]);
    expect(machine.lostBootstraps).toEqual([]);
    // The next loss starts short again.
    expect(delayOf(lose(machine, 2_000))).toBe(250);
  });

  it("nothing is dialled while paused; the resume dials and starts the backoff over", () => {
    const machine = new PageLifecycle();
    lose(machine, 0);
    due(machine, 250);
    failed(machine, 300);
    // Paused: the pending timer is cancelled, a due one or a failure dials nothing.
    expect(kinds(signal(machine, { type: "offline" }, 400))).toContain("cancel-timer");
    expect(due(machine, 800)).toEqual([]);
    expect(failed(machine, 900)).toEqual([]);
    expect(lose(machine, 1_000)).toEqual([]);
    expect(kinds(signal(machine, { type: "online" }, 5_000))).toContain("recover");
    // The resume's own dial fails: short again.
    expect(delayOf(failed(machine, 5_100))).toBe(250);
  });

  it("a failed resume dial to a bootstrap not known lost schedules a reconnect", () => {
    const machine = new PageLifecycle();
    expect(delayOf(failed(machine, 0))).toBe(250);
    expect(machine.lostBootstraps).toEqual([BOOTSTRAP]);
  });
});

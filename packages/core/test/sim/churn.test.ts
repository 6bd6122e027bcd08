import { describe, expect, it } from "vitest";
import { seededRng } from "../../src/random.ts";
import { type ChurnTarget, scheduleChurn } from "../../src/sim/churn.ts";
import { VirtualScheduler } from "../../src/sim/scheduler.ts";

function population(size: number) {
  const online = new Map<number, boolean>();
  for (let i = 0; i < size; i++) online.set(i, true);
  const log: string[] = [];
  let next = size;
  const target: ChurnTarget<number> = {
    leaveCandidates: () => [...online.keys()],
    rejoinCandidates: () => [...online.keys()],
    isOnline: (n) => online.get(n) === true,
    leave: (n) => {
      online.set(n, false);
      log.push(`leave ${n}`);
    },
    rejoin: (n) => {
      online.set(n, true);
      log.push(`rejoin ${n}`);
    },
    join: () => {
      online.set(next, true);
      log.push(`join ${next++}`);
    },
  };
  return { online, log, target };
}

describe("sim churn", () => {
  it("runs a round every everyMs until untilMs: leavers first, then returns, then new nodes", () => {
    const scheduler = new VirtualScheduler();
    const { online, log, target } = population(10);
    const rounds = new Map<number, string[]>();
    const logged = (kind: string) => {
      const list = rounds.get(scheduler.now()) ?? [];
      list.push(kind);
      rounds.set(scheduler.now(), list);
    };
    scheduleChurn(
      scheduler,
      seededRng(1),
      { everyMs: 1_000, untilMs: 3_500, leave: 2, join: 1, rejoin: 3 },
      {
        ...target,
        leave: (n) => {
          logged("leave");
          target.leave(n);
        },
        rejoin: (n) => {
          logged("rejoin");
          target.rejoin?.(n);
        },
        join: () => {
          logged("join");
          target.join();
        },
      },
    );
    scheduler.run();
    expect([...rounds.keys()]).toEqual([1_000, 2_000, 3_000]);
    expect(online.size).toBe(13);
    const order = ["leave", "rejoin", "join"];
    for (const kinds of rounds.values()) {
      const ranks = kinds.map((k) => order.indexOf(k));
      expect(ranks).toEqual([...ranks].sort());
      expect(kinds.at(-1)).toBe("join");
    }
    expect(log.some((l) => l.startsWith("leave"))).toBe(true);
    expect(log.some((l) => l.startsWith("rejoin"))).toBe(true);
  });

  it("a pick that is already offline (or online, for a return) is skipped, not redrawn", () => {
    const scheduler = new VirtualScheduler();
    const { online, log, target } = population(1);
    scheduleChurn(scheduler, seededRng(2), { everyMs: 10, untilMs: 10, leave: 3, join: 0 }, target);
    scheduler.run();
    expect(log).toEqual(["leave 0"]);
    expect(online.get(0)).toBe(false);
  });

  it("the same seed replays the same churn", () => {
    const replay = (seed: number) => {
      const scheduler = new VirtualScheduler();
      const { log, target } = population(50);
      scheduleChurn(
        scheduler,
        seededRng(seed),
        { everyMs: 5, untilMs: 50, leave: 3, join: 2, rejoin: 2 },
        target,
      );
      scheduler.run();
      return log;
    };
    expect(replay(7)).toEqual(replay(7));
    expect(replay(7)).not.toEqual(replay(8));
  });
});

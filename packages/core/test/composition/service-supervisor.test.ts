import { describe, expect, it } from "vitest";
import {
  DEFAULT_SUPERVISOR_CONFIG,
  ServiceSupervisor,
  type SupervisorOutput,
} from "../../src/composition/service-supervisor.ts";

/** The restart waits the supervisor asks for. */
function delays(outputs: readonly SupervisorOutput[]): number[] {
  return outputs.flatMap((o) => (o.type === "schedule-restart" ? [o.delayMs] : []));
}

describe("ServiceSupervisor", () => {
  it("restarts a failed service after 1 s, and only once the wait is over", () => {
    const supervisor = new ServiceSupervisor();
    supervisor.started("gossip", 0);
    expect(supervisor.failed("gossip", "boom", 5_000)).toEqual([
      { type: "schedule-restart", service: "gossip", delayMs: 1_000, attempt: 1, reason: "boom" },
    ]);
    expect(supervisor.restarting("gossip")).toBe(true);
    expect(supervisor.restartDue("gossip")).toEqual([
      { type: "restart", service: "gossip", attempt: 1, reason: "boom" },
    ]);
    supervisor.restarted("gossip", 6_000);
    expect(supervisor.restarting("gossip")).toBe(false);
    expect(supervisor.restartDue("gossip")).toEqual([]);
  });

  it("doubles the wait with every failure of a streak, up to 30 s", () => {
    const supervisor = new ServiceSupervisor();
    supervisor.started("sync", 0);
    const waits = delays(supervisor.failed("sync", "crash", 100));
    for (let i = 0; i < 7; i++) {
      supervisor.restartDue("sync");
      waits.push(...delays(supervisor.restartFailed("sync", "start failed")));
    }
    expect(waits).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
  });

  it("counts a failure soon after a restart into the streak", () => {
    const supervisor = new ServiceSupervisor();
    supervisor.started("sync", 0);
    supervisor.failed("sync", "a", 1_000);
    supervisor.restarted("sync", 2_000);
    expect(delays(supervisor.failed("sync", "b", 2_000 + 59_999))).toEqual([2_000]);
  });

  it("starts a new streak once the service ran a minute without failing", () => {
    const supervisor = new ServiceSupervisor();
    supervisor.started("sync", 0);
    supervisor.failed("sync", "a", 1_000);
    supervisor.restarted("sync", 2_000);
    expect(
      delays(supervisor.failed("sync", "b", 2_000 + DEFAULT_SUPERVISOR_CONFIG.healthyAfterMs)),
    ).toEqual([1_000]);
  });

  it("takes a second symptom of a failure whose restart is pending as the same failure", () => {
    const supervisor = new ServiceSupervisor();
    supervisor.failed("discovery", "first", 0);
    expect(supervisor.failed("discovery", "second", 10)).toEqual([]);
    expect(supervisor.restartDue("discovery")).toEqual([
      { type: "restart", service: "discovery", attempt: 1, reason: "first" },
    ]);
  });

  it("keeps each service's streak apart", () => {
    const supervisor = new ServiceSupervisor();
    supervisor.failed("a", "x", 0);
    supervisor.restartFailed("a", "x");
    expect(delays(supervisor.failed("b", "y", 0))).toEqual([1_000]);
  });

  it("restarts nothing once stopped", () => {
    const supervisor = new ServiceSupervisor({ initialBackoffMs: 10 });
    supervisor.failed("a", "x", 0);
    supervisor.stop();
    expect(supervisor.restartDue("a")).toEqual([]);
    expect(supervisor.failed("b", "y", 0)).toEqual([]);
    expect(supervisor.restartFailed("a", "x")).toEqual([]);
  });

  it("takes its backoff from the config", () => {
    const supervisor = new ServiceSupervisor({ initialBackoffMs: 100, maxBackoffMs: 250 });
    const waits = delays(supervisor.failed("a", "x", 0));
    waits.push(...delays(supervisor.restartFailed("a", "x")));
    waits.push(...delays(supervisor.restartFailed("a", "x")));
    expect(waits).toEqual([100, 200, 250]);
  });
});

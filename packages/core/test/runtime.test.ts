import { describe, expect, it } from "vitest";
import {
  Lifecycle,
  ServiceStoppedError,
  systemTimers,
  VirtualRuntime,
} from "../src/runtime/index.ts";

describe("VirtualRuntime", () => {
  it("runs timers in time order as virtual time advances, and not before", async () => {
    const runtime = new VirtualRuntime();
    const ran: string[] = [];
    runtime.timers.after(300, () => ran.push(`b@${runtime.now()}`));
    runtime.timers.after(100, () => ran.push(`a@${runtime.now()}`));
    await runtime.advance(99);
    expect(ran).toEqual([]);
    await runtime.advance(201);
    expect(ran).toEqual(["a@100", "b@300"]);
    expect(runtime.now()).toBe(300);
  });

  it("a cancelled timer never runs", async () => {
    const runtime = new VirtualRuntime();
    let ran = false;
    const timer = runtime.timers.after(10, () => {
      ran = true;
    });
    timer.cancel();
    await runtime.advance(1_000);
    expect(ran).toBe(false);
  });

  it("an interval runs every period until cancelled, also when cancelled from inside", async () => {
    const runtime = new VirtualRuntime();
    const at: number[] = [];
    const timer = runtime.timers.every(250, () => {
      at.push(runtime.now());
      if (at.length === 3) timer.cancel();
    });
    await runtime.advance(5_000);
    expect(at).toEqual([250, 500, 750]);
  });

  it("lets promise work a timer started settle before the next timer fires", async () => {
    const runtime = new VirtualRuntime();
    const order: string[] = [];
    runtime.timers.after(10, () => {
      void Promise.resolve()
        .then(() => Promise.resolve())
        .then(() => order.push("async work of the first timer"));
    });
    runtime.timers.after(20, () => order.push("second timer"));
    await runtime.advance(20);
    expect(order).toEqual(["async work of the first timer", "second timer"]);
  });

  it("replays the same random sequence from the same seed", () => {
    const a = new VirtualRuntime({ seed: 7 });
    const b = new VirtualRuntime({ seed: 7 });
    expect([a.rng.next(), a.rng.int(100)]).toEqual([b.rng.next(), b.rng.int(100)]);
  });
});

describe("systemTimers", () => {
  it("runs and cancels on the real event loop", async () => {
    let ran = 0;
    systemTimers.after(1, () => ran++).cancel();
    await new Promise<void>((resolve) => systemTimers.after(5, resolve));
    expect(ran).toBe(0);
  });
});

describe("Lifecycle", () => {
  it("starts once however often start() is called, and stops once", async () => {
    const lifecycle = new Lifecycle("thing");
    let starts = 0;
    let stops = 0;
    await Promise.all([
      lifecycle.start(() => {
        starts++;
      }),
      lifecycle.start(() => {
        starts++;
      }),
    ]);
    expect(lifecycle.state).toBe("running");
    await Promise.all([lifecycle.stop(() => void stops++), lifecycle.stop(() => void stops++)]);
    expect([starts, stops, lifecycle.state]).toEqual([1, 1, "stopped"]);
  });

  it("refuses to start again after stop, with the service's name in the error", async () => {
    const lifecycle = new Lifecycle("gossip");
    await lifecycle.start(() => {});
    await lifecycle.stop(() => {});
    await expect(lifecycle.start(() => {})).rejects.toThrow(ServiceStoppedError);
    await expect(lifecycle.start(() => {})).rejects.toThrow(/gossip is stopped/);
    expect(() => lifecycle.assertNotStopped()).toThrow(ServiceStoppedError);
  });

  it("a stop during start waits for the start, then stops", async () => {
    const lifecycle = new Lifecycle("thing");
    const order: string[] = [];
    let finishStart!: () => void;
    const starting = lifecycle.start(
      () =>
        new Promise<void>((resolve) => {
          finishStart = resolve;
        }),
    );
    const stopping = lifecycle.stop(() => void order.push("stop work"));
    expect(lifecycle.state).toBe("stopping");
    order.push("start finishes");
    finishStart();
    await Promise.all([starting, stopping]);
    expect(order).toEqual(["start finishes", "stop work"]);
    expect(lifecycle.state).toBe("stopped");
  });

  it("a failed start leaves the service stopped and rethrows", async () => {
    const lifecycle = new Lifecycle("thing");
    await expect(
      lifecycle.start(() => {
        throw new Error("port in use");
      }),
    ).rejects.toThrow("port in use");
    expect(lifecycle.state).toBe("stopped");
  });

  it("stop before start marks the service stopped without running anything else", async () => {
    const lifecycle = new Lifecycle("thing");
    await lifecycle.stop(() => {});
    expect(lifecycle.state).toBe("stopped");
    await expect(lifecycle.start(() => {})).rejects.toThrow(ServiceStoppedError);
  });
});

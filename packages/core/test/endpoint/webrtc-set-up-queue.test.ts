import { describe, expect, it } from "vitest";
import { SharedSetUp, WebRtcSetUpQueue } from "../../src/endpoint/webrtc-set-up-queue.ts";

/** A promise with its settlers, for set-ups that end when the test says. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every promise callback queued so far run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("WebRtcSetUpQueue: a browser endpoint's WebRTC set-ups, one at a time", () => {
  it("starts a set-up only once the one before it has settled, in the order queued", async () => {
    const queue = new WebRtcSetUpQueue();
    const started: string[] = [];
    const first = deferred<string>();
    const second = deferred<string>();
    const a = queue.run(() => {
      started.push("a");
      return first.promise;
    });
    const b = queue.run(() => {
      started.push("b");
      return second.promise;
    });
    const c = queue.run(async () => {
      started.push("c");
      return "c";
    });
    await settle();
    expect(started).toEqual(["a"]);
    expect(queue.size).toBe(3);

    // A failed set-up lets the next one run all the same.
    first.reject(new Error("ICE failed"));
    await expect(a).rejects.toThrow("ICE failed");
    await settle();
    expect(started).toEqual(["a", "b"]);
    second.resolve("b");
    expect(await b).toBe("b");
    expect(await c).toBe("c");
    expect(started).toEqual(["a", "b", "c"]);
    expect(queue.size).toBe(0);
  });

  it("runs the next set-up after one that threw before returning a promise", async () => {
    const queue = new WebRtcSetUpQueue();
    const a = queue.run((): Promise<string> => {
      throw new Error("no address");
    });
    const b = queue.run(async () => "b");
    await expect(a).rejects.toThrow("no address");
    expect(await b).toBe("b");
    expect(queue.size).toBe(0);
  });

  it("hands a set-up that waits its turn the connection the remote opened meanwhile, and then runs nothing for it", async () => {
    const queue = new WebRtcSetUpQueue();
    const first = deferred<string>();
    const theirs = deferred<string | undefined>();
    let watching: AbortSignal | undefined;
    const started: string[] = [];
    void queue.run(() => {
      started.push("first");
      return first.promise;
    });
    const second = queue.run(
      async () => {
        started.push("second");
        return "ours";
      },
      (turnCame) => {
        watching = turnCame;
        return theirs.promise;
      },
    );
    await settle();
    expect(watching?.aborted).toBe(false);
    // The remote's connection arrives while the first set-up still runs: taken at once.
    theirs.resolve("theirs");
    expect(await second).toBe("theirs");
    expect(queue.size).toBe(2);
    first.resolve("first");
    await settle();
    expect(started).toEqual(["first"]);
    expect(queue.size).toBe(0);
  });

  it("runs the set-up when nothing arrived before its turn, and tells the watcher its turn came", async () => {
    const queue = new WebRtcSetUpQueue();
    const first = deferred<string>();
    void queue.run(() => first.promise);
    let watching: AbortSignal | undefined;
    const second = queue.run(
      async () => "ours",
      (turnCame) => {
        watching = turnCame;
        // Resolves `undefined` when the turn comes, as the endpoint's watcher does.
        return new Promise<string | undefined>((resolve) =>
          turnCame.addEventListener("abort", () => resolve(undefined)),
        );
      },
    );
    await settle();
    expect(watching?.aborted).toBe(false);
    first.resolve("first");
    expect(await second).toBe("ours");
    expect(watching?.aborted).toBe(true);
  });

  it("lets a failed watcher fall back to the set-up's own turn", async () => {
    const queue = new WebRtcSetUpQueue();
    const result = queue.run(
      async () => "ours",
      () => Promise.reject(new Error("watch failed")),
    );
    expect(await result).toBe("ours");
    expect(queue.size).toBe(0);
  });

  it("runs nothing for a set-up abandoned before its turn, and goes on with the next", async () => {
    let skipped = 0;
    const queue = new WebRtcSetUpQueue(() => {
      skipped++;
    });
    const first = deferred<string>();
    const started: string[] = [];
    void queue.run(() => {
      started.push("first");
      return first.promise;
    });
    const nobodyWaits = new AbortController();
    const abandoned = queue.run(
      async () => {
        started.push("abandoned");
        return "abandoned";
      },
      undefined,
      nobodyWaits.signal,
    );
    const next = queue.run(async () => {
      started.push("next");
      return "next";
    });
    nobodyWaits.abort(new Error("every session gave up"));
    first.resolve("first");
    await expect(abandoned).rejects.toThrow("every session gave up");
    expect(await next).toBe("next");
    expect(started).toEqual(["first", "next"]);
    expect(skipped).toBe(1);
    expect(queue.size).toBe(0);
  });

  it("lets a set-up that has started run to its end, abandoned or not", async () => {
    const queue = new WebRtcSetUpQueue();
    const dial = deferred<string>();
    const nobodyWaits = new AbortController();
    const running = queue.run(() => dial.promise, undefined, nobodyWaits.signal);
    await settle();
    nobodyWaits.abort(new Error("every session gave up"));
    dial.resolve("connected");
    expect(await running).toBe("connected");
  });
});

describe("SharedSetUp: one node's set-up, shared by its callers, abandoned when all gave up", () => {
  const gaveUp = () => new Error("every caller gave up");

  it("is abandoned once the last caller with a signal gives up, and says so once", async () => {
    let abandonedCalls = 0;
    const dial = deferred<string>();
    const shared = new SharedSetUp<string>(gaveUp, () => {
      abandonedCalls++;
    }).start(dial.promise);
    const a = new AbortController();
    const b = new AbortController();
    const first = shared.wait(a.signal);
    const second = shared.wait(b.signal);
    a.abort(new Error("a's deadline"));
    await expect(first).rejects.toThrow("a's deadline");
    // One caller still waits: nothing is abandoned.
    expect(shared.abandoned.signal.aborted).toBe(false);
    b.abort(new Error("b's deadline"));
    await expect(second).rejects.toThrow("b's deadline");
    expect(shared.abandoned.signal.aborted).toBe(true);
    expect(String(shared.abandoned.signal.reason)).toContain("every caller gave up");
    expect(abandonedCalls).toBe(1);
  });

  it("is never abandoned while a caller waits without a signal", async () => {
    const dial = deferred<string>();
    const shared = new SharedSetUp<string>(gaveUp).start(dial.promise);
    const forever = shared.wait();
    const a = new AbortController();
    const bounded = shared.wait(a.signal);
    a.abort(new Error("deadline"));
    await expect(bounded).rejects.toThrow("deadline");
    expect(shared.abandoned.signal.aborted).toBe(false);
    dial.resolve("connected");
    expect(await forever).toBe("connected");
  });

  it("is not abandoned by callers that got their connection or its failure", async () => {
    const ok = new SharedSetUp<string>(gaveUp).start(Promise.resolve("connected"));
    expect(await ok.wait(new AbortController().signal)).toBe("connected");
    expect(ok.abandoned.signal.aborted).toBe(false);
    const failed = new SharedSetUp<string>(gaveUp).start(Promise.reject(new Error("ICE failed")));
    await expect(failed.wait(new AbortController().signal)).rejects.toThrow("ICE failed");
    expect(failed.abandoned.signal.aborted).toBe(false);
  });

  it("drops an abandoned set-up from the queue before its turn", async () => {
    const queue = new WebRtcSetUpQueue();
    const first = deferred<string>();
    void queue.run(() => first.promise);
    let dialled = false;
    const shared = new SharedSetUp<string>(gaveUp);
    shared.start(
      queue.run(
        async () => {
          dialled = true;
          return "ours";
        },
        undefined,
        shared.abandoned.signal,
      ),
    );
    const session = new AbortController();
    const waiting = shared.wait(session.signal);
    session.abort(new Error("session deadline"));
    await expect(waiting).rejects.toThrow("session deadline");
    first.resolve("first");
    await settle();
    expect(dialled).toBe(false);
  });
});

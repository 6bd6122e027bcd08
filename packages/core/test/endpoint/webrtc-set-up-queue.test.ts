import { describe, expect, it } from "vitest";
import { WebRtcSetUpQueue } from "../../src/endpoint/webrtc-set-up-queue.ts";

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
});

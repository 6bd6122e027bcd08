import { describe, expect, it } from "vitest";
import { WebRtcSetUpQueue } from "../../src/endpoint/webrtc-set-up-queue.ts";
import { deferred } from "./helpers.ts";

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

  it("runs nothing for a set-up whose skip says so when its turn comes, and goes on with the next", async () => {
    const queue = new WebRtcSetUpQueue();
    const first = deferred<string>();
    const started: string[] = [];
    void queue.run(() => {
      started.push("first");
      return first.promise;
    });
    let stale = false;
    const asked: boolean[] = [];
    const skipped = queue.run(
      async () => {
        started.push("skipped");
        return "skipped";
      },
      () => {
        asked.push(stale);
        return stale ? new Error("no turn within the dial timeout") : undefined;
      },
    );
    const next = queue.run(
      async () => {
        started.push("next");
        return "next";
      },
      () => undefined,
    );
    await settle();
    // Asked only when the turn comes, not while waiting.
    expect(asked).toEqual([]);
    stale = true;
    first.resolve("first");
    await expect(skipped).rejects.toThrow("no turn within the dial timeout");
    expect(await next).toBe("next");
    expect(asked).toEqual([true]);
    expect(started).toEqual(["first", "next"]);
    expect(queue.size).toBe(0);
  });
});

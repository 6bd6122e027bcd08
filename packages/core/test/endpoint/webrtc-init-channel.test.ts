import { describe, expect, it } from "vitest";
import {
  guardInitChannel,
  guardInitChannels,
  type InitChannel,
} from "../../src/endpoint/webrtc-init-channel.ts";

/** A data channel as the browser drives it: its state changes come as events, a close takes a turn. */
class FakeChannel extends EventTarget implements InitChannel {
  #state = "connecting";
  closeCalls = 0;
  readonly label: string;
  constructor(label = "init") {
    super();
    this.label = label;
  }
  get readyState(): string {
    return this.#state;
  }
  /** The association came up. */
  opened(): void {
    this.#state = "open";
    this.dispatchEvent(new Event("open"));
  }
  /** The remote reset the channel (the answerer closes "init" at once). */
  closedByRemote(): void {
    this.#state = "closed";
    this.dispatchEvent(new Event("close"));
  }
  close(): void {
    this.closeCalls++;
    if (this.#state === "closed" || this.#state === "closing") return;
    this.#state = "closing";
    setTimeout(() => {
      this.#state = "closed";
      this.dispatchEvent(new Event("close"));
    }, 1);
  }
}

function once(target: EventTarget, type: string): Promise<void> {
  return new Promise((resolve) => target.addEventListener(type, () => resolve(), { once: true }));
}

/** What libp2p's dialler does with the channel once its peer connection is "connected". */
async function dialler(channel: InitChannel): Promise<"through"> {
  if (channel.readyState !== "open") await once(channel, "open");
  channel.close();
  await once(channel, "close");
  return "through";
}

function within<T>(promise: Promise<T>, ms: number): Promise<T | "hung"> {
  return Promise.race([promise, new Promise<"hung">((r) => setTimeout(() => r("hung"), ms))]);
}

describe("the init channel of a WebRTC set-up does not hang the dialler", () => {
  it("the answerer opened and closed it before the dialler looked: the dialler goes through", async () => {
    const unguarded = new FakeChannel();
    unguarded.opened();
    unguarded.closedByRemote();
    // Without the guard the dialler waits for an "open" that never comes.
    expect(await within(dialler(unguarded), 100)).toBe("hung");

    const channel = new FakeChannel();
    guardInitChannel(channel);
    channel.opened();
    channel.closedByRemote();
    expect(await within(dialler(channel), 100)).toBe("through");
    expect(channel.readyState).toBe("closed");
  });

  it("the dialler waits for it to open and it is closed without opening: the dialler goes through", async () => {
    const channel = new FakeChannel();
    guardInitChannel(channel);
    const through = within(dialler(channel), 100);
    channel.closedByRemote();
    expect(await through).toBe("through");
  });

  it("a set-up without the race is unchanged: open, closed by the dialler, close seen", async () => {
    const channel = new FakeChannel();
    guardInitChannel(channel);
    const through = within(dialler(channel), 100);
    channel.opened();
    expect(await through).toBe("through");
    expect(channel.closeCalls).toBe(1);
    expect(channel.readyState).toBe("closed");
  });

  it("guards only channels labelled init, once per class however often it is asked", () => {
    class FakePeerConnection {
      createDataChannel(label: string): InitChannel {
        return new FakeChannel(label);
      }
    }
    guardInitChannels(FakePeerConnection);
    guardInitChannels(FakePeerConnection);
    const pc = new FakePeerConnection();
    const init = pc.createDataChannel("init") as FakeChannel;
    const other = pc.createDataChannel("") as FakeChannel;
    init.opened();
    init.closedByRemote();
    other.opened();
    other.closedByRemote();
    expect(init.readyState).toBe("open");
    expect(other.readyState).toBe("closed");
    expect(Object.hasOwn(other, "readyState")).toBe(false);
  });
});

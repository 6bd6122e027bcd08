import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { WEBRTC_SET_UP_STALL_MS, WebRtcStallGuard } from "../../src/endpoint/webrtc-stall-guard.ts";

describe("WebRtcStallGuard: a WebRTC set-up not through 500 ms after its answer is given up", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("aborts 500 ms after the answer when the set-up did not end", () => {
    expect(WEBRTC_SET_UP_STALL_MS).toBe(500);
    const guard = new WebRtcStallGuard();
    guard.onProgress({ type: "webrtc:send-sdp-offer" });
    vi.advanceTimersByTime(5_000);
    expect(guard.signal.aborted).toBe(false); // no deadline before the answer
    guard.onProgress({ type: "webrtc:read-ice-candidates" });
    vi.advanceTimersByTime(499);
    expect(guard.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(guard.signal.aborted).toBe(true);
    expect(String(guard.signal.reason)).toContain("not through 500 ms after its answer");
  });

  it("does not abort a set-up that ended in time", () => {
    const guard = new WebRtcStallGuard();
    guard.onProgress({ type: "webrtc:read-ice-candidates" });
    vi.advanceTimersByTime(450);
    guard.onProgress({ type: "webrtc:close-signaling-stream" });
    vi.advanceTimersByTime(10_000);
    expect(guard.signal.aborted).toBe(false);
  });

  it("is disarmed by cancel (the dial ended otherwise)", () => {
    const guard = new WebRtcStallGuard(50);
    guard.onProgress({ type: "webrtc:read-ice-candidates" });
    guard.cancel();
    vi.advanceTimersByTime(100);
    expect(guard.signal.aborted).toBe(false);
  });
});

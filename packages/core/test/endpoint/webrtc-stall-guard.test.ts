import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { WEBRTC_SET_UP_STALL_MS, WebRtcStallGuard } from "../../src/endpoint/webrtc-stall-guard.ts";

describe("WebRtcStallGuard: a WebRTC set-up not through 500 ms (or its answer's round trip) after its answer is given up", () => {
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

  it("waits as long as the answer took when that was longer than 500 ms (a slow signalling path)", () => {
    // Chromium ↔ Firefox at load 20+: the answer took 855 ms through the relay and the peer
    // connection connected 25 ms after it, but the init channel was not through 500 ms later.
    const guard = new WebRtcStallGuard();
    guard.onProgress({ type: "webrtc:send-sdp-offer" });
    guard.onProgress({ type: "webrtc:read-sdp-answer" });
    vi.advanceTimersByTime(855);
    guard.onProgress({ type: "webrtc:read-ice-candidates" });
    vi.advanceTimersByTime(854);
    expect(guard.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(guard.signal.aborted).toBe(true);
    expect(String(guard.signal.reason)).toContain("not through 855 ms after its answer");
  });

  it("keeps 500 ms when the answer came quickly", () => {
    const guard = new WebRtcStallGuard();
    guard.onProgress({ type: "webrtc:read-sdp-answer" });
    vi.advanceTimersByTime(120);
    guard.onProgress({ type: "webrtc:read-ice-candidates" });
    vi.advanceTimersByTime(499);
    expect(guard.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(guard.signal.aborted).toBe(true);
  });

  it("starts the deadline again at each remote candidate, and fires once they stop", () => {
    // Firefox gathers its candidates only after its answer is out: under load they came 345 ms
    // after the answer, and the set-up connected 20 ms later.
    const guard = new WebRtcStallGuard();
    guard.onProgress({ type: "webrtc:read-sdp-answer" });
    guard.onProgress({ type: "webrtc:read-ice-candidates" });
    vi.advanceTimersByTime(400);
    guard.onProgress({ type: "webrtc:add-ice-candidate" });
    vi.advanceTimersByTime(400);
    guard.onProgress({ type: "webrtc:add-ice-candidate" });
    vi.advanceTimersByTime(499);
    expect(guard.signal.aborted).toBe(false); // 1,299 ms after the answer
    vi.advanceTimersByTime(1);
    expect(guard.signal.aborted).toBe(true); // 500 ms after the last candidate
  });

  it("takes no candidate before the answer as progress, nor one after it fired or ended", () => {
    const early = new WebRtcStallGuard();
    early.onProgress({ type: "webrtc:add-ice-candidate" });
    vi.advanceTimersByTime(10_000);
    expect(early.signal.aborted).toBe(false); // no deadline armed by a candidate alone
    const ended = new WebRtcStallGuard();
    ended.onProgress({ type: "webrtc:read-ice-candidates" });
    ended.onProgress({ type: "webrtc:close-signaling-stream" });
    ended.onProgress({ type: "webrtc:add-ice-candidate" });
    vi.advanceTimersByTime(10_000);
    expect(ended.signal.aborted).toBe(false);
  });
});

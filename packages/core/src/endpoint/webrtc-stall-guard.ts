// A deadline for the part of a WebRTC set-up after its SDP answer, read off libp2p's dial progress
// events (the transport exposes nothing else).
import { type ScheduledTimer, systemTimers, type Timers } from "../runtime/timers.ts";

/**
 * Least time from the WebRTC answer (ICE checks start) to the set-up's end on a connect's first
 * dial; its second dial gets three times as long. The soak's failing rounds were tab-to-tab
 * set-ups whose ICE connected but whose "init" data channel then did not open until the address
 * timeout (3 s), while a second dial connected in about 150 ms; a set-up that is not through
 * after this long is given up and dialled again. Soak, 9 rounds each at load 3–8: 6 passed with
 * 1 s here, 8 with 500 ms.
 *
 * A peer connection that fails during its set-up makes no progress either, and libp2p's dial
 * then waits on it until its timeout. In Node (node-datachannel) this happens when the
 * answerer's DTLS handshake arrives over the direct path before the answer has come over the
 * relayed one: the dialler cannot check the certificate yet and fails the handshake ("DTLS
 * alert: unknown CA"), more often the busier its event loop. Node pairs dialling over a
 * loopback relay at load 3: with a guard on the first of two attempts only, 7 of 184 dials
 * failed, the last attempt waiting on such a peer connection until its timeout; with the second
 * attempt guarded too and a third after it, 2 of 180 failed (three set-ups in a row lost).
 * The last dial has no limit, so a slow path (TURN, a busy machine) still connects. On a slow
 * signalling path the deadline is longer (see {@link WebRtcStallGuard}).
 */
export const WEBRTC_SET_UP_STALL_MS = 500;

/**
 * Watches one dial's progress events and aborts it when a WebRTC set-up that has its answer
 * makes no progress for its deadline: {@link WEBRTC_SET_UP_STALL_MS}, or the time the answer took
 * to come (the signalling round trip) when that was longer.
 *
 * Why the round trip: the answerer sends its ICE candidates after its answer, over the same
 * relayed signalling path, and only then can ICE, DTLS and the init data channel follow. Where
 * that path is slow (a loaded machine or relay: 0.5–0.9 s per round trip in the Chromium ↔
 * Firefox bench at load 20+) a fixed 500 ms aborted set-ups whose peer connection had
 * connected moments before, and the redial cost 1–2 s more. Each candidate that arrives is
 * progress and starts the deadline again, so a set-up still waiting for the remote's
 * candidates is not given up; one whose candidates are all in and that then stalls (the soak's
 * case) still is.
 */
export class WebRtcStallGuard {
  readonly #controller = new AbortController();
  readonly #stallMs: number;
  readonly #timers: Timers;
  readonly #now: () => number;
  /** When the offer was out and the wait for the answer began. */
  #waitFrom: number | undefined;
  /** The deadline of this set-up once its answer came; `undefined` before. */
  #deadlineMs: number | undefined;
  #timer: ScheduledTimer | undefined;

  /**
   * @param stallMs least deadline (default {@link WEBRTC_SET_UP_STALL_MS}).
   * @param timers where the deadline is scheduled.
   * @param now the clock the round trip is measured with (ms).
   */
  constructor(
    stallMs = WEBRTC_SET_UP_STALL_MS,
    timers: Timers = systemTimers,
    now: () => number = Date.now,
  ) {
    this.#stallMs = stallMs;
    this.#timers = timers;
    this.#now = now;
  }

  /** Aborted when the set-up stalled; hand it to the dial. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /**
   * The dial's `onProgress`: notes when the wait for the answer began, arms the deadline at the answer,
   * starts it again at each remote candidate, disarms it at the set-up's end.
   */
  readonly onProgress = (event: { type: string }): void => {
    switch (event.type) {
      case "webrtc:read-sdp-answer":
        this.#waitFrom = this.#now();
        break;
      case "webrtc:read-ice-candidates": {
        const roundTrip = this.#waitFrom === undefined ? 0 : this.#now() - this.#waitFrom;
        this.#deadlineMs = Math.max(this.#stallMs, roundTrip);
        this.#arm(this.#deadlineMs);
        break;
      }
      case "webrtc:add-ice-candidate":
        if (this.#deadlineMs !== undefined && this.#timer !== undefined) {
          this.#arm(this.#deadlineMs);
        }
        break;
      case "webrtc:close-signaling-stream":
        this.cancel();
        break;
    }
  };

  #arm(ms: number): void {
    this.#timer?.cancel();
    this.#timer = this.#timers.after(ms, () => {
      this.#timer = undefined;
      this.#controller.abort(
        new Error(`WebRTC set-up not through ${ms} ms after its answer (or its latest candidate)`),
      );
    });
  }

  /** Disarms the deadline (the dial ended). */
  cancel(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
  }
}

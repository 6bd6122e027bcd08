// A deadline for the part of a WebRTC set-up after its SDP answer, read off libp2p's dial progress
// events (the transport exposes nothing else).

/**
 * Longest time from the WebRTC answer (ICE checks start) to the set-up's end on every dial but
 * the last. The soak's failing rounds were tab-to-tab set-ups whose ICE connected but whose
 * "init" data channel then did not open until the address timeout (3 s), while a second dial
 * connected in about 150 ms; a set-up that is not through after this long is given up and
 * dialled again. The last attempt has no such limit, so a slow path (TURN, a busy machine)
 * still connects. Soak, 9 rounds each at load 3–8: 6 passed with 1 s here, 8 with 500 ms.
 */
export const WEBRTC_SET_UP_STALL_MS = 500;

/**
 * Watches one dial's progress events and aborts it when a WebRTC set-up that has its answer is
 * not through within `stallMs` (see {@link WEBRTC_SET_UP_STALL_MS}).
 */
export class WebRtcStallGuard {
  readonly #controller = new AbortController();
  readonly #stallMs: number;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(stallMs = WEBRTC_SET_UP_STALL_MS) {
    this.#stallMs = stallMs;
  }

  /** Aborted when the set-up stalled; hand it to the dial. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** The dial's `onProgress`: arms the deadline at the answer, disarms it at the set-up's end. */
  readonly onProgress = (event: { type: string }): void => {
    if (event.type === "webrtc:read-ice-candidates") {
      this.cancel();
      this.#timer = setTimeout(() => {
        this.#controller.abort(
          new Error(`WebRTC set-up not through ${this.#stallMs} ms after its answer`),
        );
      }, this.#stallMs);
    } else if (event.type === "webrtc:close-signaling-stream") {
      this.cancel();
    }
  };

  /** Disarms the deadline (the dial ended). */
  cancel(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

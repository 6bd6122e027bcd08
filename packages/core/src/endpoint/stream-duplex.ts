import type { Stream, StreamCloseEvent, StreamMessageEvent } from "@libp2p/interface";
import { type ByteDuplex, ChannelClosedError } from "../codec/message-channel.ts";
import { WriteStalledError } from "./errors.ts";

/** Options of {@link streamDuplex}. */
export interface StreamDuplexOptions {
  /**
   * Bytes we buffer from the remote before pausing the stream (the muxer then stops granting the
   * remote send window, so a fast sender is slowed down instead of filling our memory).
   * Default 256 KiB.
   */
  readonly highWaterMark?: number;
  /**
   * How long a write may wait for the remote to take data before the stream is reset with
   * {@link WriteStalledError}. Default 30 s; `0` waits forever.
   */
  readonly writeTimeoutMs?: number;
}

/** Default of {@link StreamDuplexOptions.highWaterMark}. */
export const DEFAULT_READ_HIGH_WATER_MARK = 256 * 1024;
/** Tasks to wait, after a stream closed, for it to dispatch data still in its read buffer. */
const MAX_WAITS_AFTER_CLOSE = 100;
/** Default of {@link StreamDuplexOptions.writeTimeoutMs}. */
export const DEFAULT_WRITE_TIMEOUT_MS = 30_000;

/**
 * Adapts a libp2p (v3) stream to the {@link ByteDuplex} the protocols talk through.
 *
 * Reading listens to `message` events itself instead of using the stream's async iterator: that
 * iterator queues without bound, whereas here the stream is paused above `highWaterMark`, which
 * is what gives the remote backpressure. Writing waits for `drain` when the stream's buffer is
 * full.
 */
export function streamDuplex(stream: Stream, options: StreamDuplexOptions = {}): ByteDuplex {
  const highWaterMark = options.highWaterMark ?? DEFAULT_READ_HIGH_WATER_MARK;
  const writeTimeoutMs = options.writeTimeoutMs ?? DEFAULT_WRITE_TIMEOUT_MS;
  const queue: Uint8Array[] = [];
  let buffered = 0;
  let paused = false;
  let resuming = false;
  let ended = false;
  let closed = false;
  let waitsAfterClose = 0;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;

  const notify = (): void => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  const onMessage = (event: StreamMessageEvent): void => {
    const data = event.data;
    const chunk = data instanceof Uint8Array ? data : data.subarray();
    if (chunk.length === 0) return;
    queue.push(chunk);
    buffered += chunk.length;
    // Not while `resume()` is dispatching what queued up during a pause: libp2p tells the muxer
    // to resume only after that dispatch, which would undo a pause made inside it.
    if (!resuming) pauseIfFull();
    notify();
  };
  const pauseIfFull = (): void => {
    if (!paused && buffered >= highWaterMark && stream.readStatus === "readable") {
      paused = true;
      stream.pause();
    }
  };
  // The end of the remote's data is libp2p's 'end' (the read buffer emptied after the remote
  // closed its side), not 'remoteCloseWrite' or 'close': either can come while data the remote
  // sent still sits in the stream's read buffer, waiting for a dispatch in a later task or for a
  // resume. Ending on them lost the last frames of a transfer now and then.
  const onEnd = (): void => {
    ended = true;
    notify();
  };
  const onClose = (event: StreamCloseEvent): void => {
    if (event.error !== undefined) failure ??= event.error;
    closed = true;
    stream.removeEventListener("end", onEnd);
    stream.removeEventListener("close", onClose);
    notify();
  };
  const detach = (): void => {
    stream.removeEventListener("message", onMessage);
    stream.removeEventListener("end", onEnd);
    stream.removeEventListener("close", onClose);
  };
  /** After 'close': whether the stream still holds data it will dispatch to us. */
  const unreadAfterClose = (): boolean =>
    failure === undefined &&
    stream.readBufferLength > 0 &&
    (stream.readStatus === "readable" || stream.readStatus === "paused");
  stream.addEventListener("message", onMessage);
  stream.addEventListener("end", onEnd);
  stream.addEventListener("close", onClose);
  // The remote may have reset the stream before we got it (e.g. right after negotiation).
  if (stream.status === "reset" || stream.status === "aborted") {
    failure = new ChannelClosedError(`stream was ${stream.status} before it was read`);
  }
  if (stream.status !== "open" || stream.readStatus === "closed" || stream.readableEnded) {
    ended = true;
  }

  const source: AsyncIterable<Uint8Array> = {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        if (failure !== undefined) {
          detach();
          throw failure;
        }
        const chunk = queue.shift();
        if (chunk !== undefined) {
          buffered -= chunk.length;
          if (paused && buffered < highWaterMark / 2) {
            paused = false;
            if (stream.readStatus === "paused") {
              resuming = true;
              try {
                stream.resume();
              } finally {
                resuming = false;
              }
              pauseIfFull();
            }
          }
          yield chunk;
          continue;
        }
        if (ended || (closed && !unreadAfterClose())) {
          detach();
          return;
        }
        if (closed && waitsAfterClose++ < MAX_WAITS_AFTER_CLOSE) {
          // Closed with data still buffered: the stream dispatches it in a later task.
          if (stream.readStatus === "paused") stream.resume();
          await new Promise<void>((resolve) => setTimeout(resolve, 0));
          continue;
        }
        if (closed) {
          detach();
          return;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    },
  };

  /** Gives up on a remote that takes no data: resets the stream, fails every later call. */
  const stall = (): WriteStalledError => {
    const stalled = new WriteStalledError(writeTimeoutMs);
    failure ??= stalled;
    stream.abort(stalled);
    return stalled;
  };
  const withTimeout = (): { signal?: AbortSignal } =>
    writeTimeoutMs > 0 ? { signal: AbortSignal.timeout(writeTimeoutMs) } : {};

  return {
    source,
    async write(bytes) {
      if (failure !== undefined) throw failure;
      if (stream.send(bytes) || !stream.writableNeedsDrain) return;
      // Waits for the `drain` event itself: `stream.onDrain()` (@libp2p/utils 7.4) keeps
      // returning its first, already resolved promise after one drain, which would let every
      // later write through at once and the send buffer grow without bound.
      await new Promise<void>((resolve, reject) => {
        const settle = (error?: Error): void => {
          stream.removeEventListener("drain", onDrain);
          stream.removeEventListener("close", onClosed);
          if (timer !== undefined) clearTimeout(timer);
          if (error === undefined) resolve();
          else reject(error);
        };
        const onDrain = (): void => settle();
        const onClosed = (event: StreamCloseEvent): void =>
          settle(failure ?? event.error ?? new ChannelClosedError("stream closed while writing"));
        const timer =
          writeTimeoutMs > 0 ? setTimeout(() => settle(stall()), writeTimeoutMs) : undefined;
        stream.addEventListener("drain", onDrain);
        stream.addEventListener("close", onClosed);
      });
    },
    async closeWrite() {
      if (stream.writeStatus !== "writable") return;
      try {
        await stream.close(withTimeout());
      } catch (error) {
        if (!isTimeout(error)) throw error;
        throw stall();
      }
    },
    abort(error) {
      failure ??= error;
      stream.abort(error);
      notify();
    },
  };
}

function isTimeout(error: unknown): boolean {
  return error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
}

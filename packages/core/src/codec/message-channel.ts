import { concatBytes } from "../bytes.ts";
import { P2pandaError } from "../errors.ts";
import type { NodeId } from "../ids/node-id.ts";
import { decodeCbor, encodeCbor } from "./cbor.ts";
import { DEFAULT_MAX_FRAME_SIZE, encodeFrame, FrameDecoder } from "./framing.ts";

/**
 * A raw, ordered, reliable byte stream to one remote node: one libp2p stream, or an in-memory
 * pipe in tests. The endpoint adapts libp2p streams to this; protocols never see libp2p.
 */
export interface ByteDuplex {
  /** Writes bytes; resolves once the transport accepted them (this is the backpressure). */
  write(bytes: Uint8Array): Promise<void>;
  /** The remote's bytes; ends when the remote closed its write side. */
  readonly source: AsyncIterable<Uint8Array>;
  /** Closes our write side; the remote's `source` ends after what we wrote. */
  closeWrite(): Promise<void>;
  /** Resets the stream in both directions. */
  abort(error: Error): void;
}

/**
 * One protocol session with one remote node: CBOR messages, each in one length-prefixed frame.
 * Every p2panda protocol (discovery, gossip, sync) talks through this.
 */
export interface MessageChannel {
  /** The authenticated node at the other end. */
  readonly remote: NodeId;
  /** Sends one message. Throws {@link ChannelClosedError} after `close`/`abort`, or `FrameTooLargeError`. */
  send(message: unknown): Promise<void>;
  /**
   * The next message, or `undefined` once the remote closed its side. Throws `DecodeError` on
   * malformed CBOR, `FrameTooLargeError` on an oversized frame, `IncompleteFrameError` when the
   * stream ends mid-frame, {@link StreamStalledError} when nothing complete arrives in time; any
   * of these also aborts the stream.
   */
  receive(options?: ReceiveOptions): Promise<unknown | undefined>;
  /** Half-closes: we send no more; receiving goes on until the remote closes. */
  close(): Promise<void>;
  /** Resets the channel in both directions with `error`. */
  abort(error: Error): void;
}

/** Limits of a {@link MessageChannel}. */
export interface MessageChannelOptions {
  /** Largest frame accepted or sent. Default {@link DEFAULT_MAX_FRAME_SIZE} (1 MiB). */
  maxFrameSize?: number;
  /**
   * How long `receive()` waits for a complete message before failing with
   * {@link StreamStalledError}. Default 10 s; `0` waits forever (long-lived live streams).
   */
  receiveTimeoutMs?: number;
  /**
   * How long a frame that has started arriving may take to complete, whatever the receive
   * timeout (also when it is `0`): a peer cannot hold a stream open with half a frame. Default
   * 10 s ({@link DEFAULT_FRAME_TIMEOUT_MS}); `0` disables it.
   */
  frameTimeoutMs?: number;
  /**
   * When set, the channel sends a keep-alive (an empty frame, which `receive()` skips) whenever
   * it has written nothing for this long, so that the remote's receive timeout can tell a quiet
   * peer from a vanished or hostile one. A keep-alive that arrives restarts the receive timeout.
   * Default: none.
   */
  keepAliveIntervalMs?: number;
}

/** Options of one {@link MessageChannel.receive} call. */
export interface ReceiveOptions {
  /**
   * Overrides the channel's receive timeout for this call (e.g. `0` while idle in live mode,
   * where waiting is normal, and the short default again during a sync).
   */
  timeoutMs?: number;
}

/** The channel was closed or aborted. */
export class ChannelClosedError extends P2pandaError {
  static override readonly name: string = "ChannelClosedError";
  constructor(message = "channel is closed", options?: { cause?: unknown }) {
    super("CHANNEL_CLOSED", message, options);
  }
}

/**
 * The remote sent nothing complete within the receive timeout (idle), or did not complete a
 * frame it had started within the frame timeout (`midFrame`).
 */
export class StreamStalledError extends P2pandaError {
  static override readonly name: string = "StreamStalledError";
  readonly midFrame: boolean;
  constructor(timeoutMs: number, midFrame: boolean) {
    super(
      "STREAM_STALLED",
      midFrame
        ? `a started frame did not complete within ${timeoutMs} ms (stalled mid-frame)`
        : `no complete message within ${timeoutMs} ms`,
    );
    this.midFrame = midFrame;
  }
}

/** Default receive timeout of a {@link MessageChannel}. */
export const DEFAULT_RECEIVE_TIMEOUT_MS = 10_000;
/** Default of {@link MessageChannelOptions.frameTimeoutMs}. */
export const DEFAULT_FRAME_TIMEOUT_MS = 10_000;

const KEEP_ALIVE_FRAME = new Uint8Array([0]);

/**
 * Most bytes of frames joined into one write: what one noise message carries (64 KiB less its
 * tag), so a joined write never makes the transport split it.
 */
const MAX_COALESCED_BYTES = 65_519;

/**
 * Wraps a byte stream as a {@link MessageChannel} of framed, strictly decoded CBOR messages.
 *
 * Deadlines: `receive()` fails with {@link StreamStalledError} when no complete frame arrives
 * within its timeout (a keep-alive counts, and restarts it), and when a frame that has started
 * does not complete within the frame timeout, even while the receive timeout is off.
 */
export function framedChannel(
  remote: NodeId,
  duplex: ByteDuplex,
  options: MessageChannelOptions = {},
): MessageChannel {
  const maxFrameSize = options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
  const timeoutMs = options.receiveTimeoutMs ?? DEFAULT_RECEIVE_TIMEOUT_MS;
  const frameTimeoutMs = options.frameTimeoutMs ?? DEFAULT_FRAME_TIMEOUT_MS;
  const decoder = new FrameDecoder(maxFrameSize);
  const ready: Uint8Array[] = [];
  const iterator = duplex.source[Symbol.asyncIterator]();
  let ended = false;
  let writeClosed = false;
  let failure: Error | undefined;
  /** When the frame being received started (undefined between frames). */
  let frameStarted: number | undefined;
  /** A read still waiting for bytes; the next receive() continues it instead of reading twice. */
  let reading: Promise<void> | undefined;
  let lastWrite = Date.now();
  let writing: Promise<void> = Promise.resolve();
  let keepAliveTimer: ReturnType<typeof setInterval> | undefined;

  const stopKeepAlive = (): void => {
    if (keepAliveTimer !== undefined) clearInterval(keepAliveTimer);
    keepAliveTimer = undefined;
  };

  const fail = (error: Error): never => {
    if (failure === undefined) {
      failure = error;
      stopKeepAlive();
      duplex.abort(error);
    }
    throw error;
  };

  const readMore = async (): Promise<void> => {
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      decoder.finish();
      return;
    }
    const frames = decoder.push(next.value);
    for (const frame of frames) ready.push(frame);
    // The clock of a frame starts with its first bytes: a chunk that completed frames and began
    // another starts a new one.
    if (!decoder.inFrame) frameStarted = undefined;
    else if (frames.length > 0 || frameStarted === undefined) frameStarted = Date.now();
  };

  /** Waits for more bytes until `deadline` (no limit when undefined), then fails with `stalled()`. */
  const readUntil = async (
    deadline: number | undefined,
    stalled: () => StreamStalledError,
  ): Promise<void> => {
    reading ??= readMore().finally(() => {
      reading = undefined;
    });
    if (deadline === undefined) return reading;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(stalled()), Math.max(0, deadline - Date.now()));
    });
    try {
      await Promise.race([reading, timeout]);
    } finally {
      clearTimeout(timer);
    }
  };

  /** The write that has not started yet: frames sent meanwhile join it. */
  let open: { frames: Uint8Array[]; bytes: number; done: Promise<void> } | undefined;

  /**
   * Writes frames in order (a keep-alive never interleaves with a message). Frames sent while a
   * write is in progress go out together in the next one: every write costs the transport a
   * muxer frame, an encrypted message and a socket message on both sides, which is most of
   * what a catch-up of small operations spends when each goes alone.
   */
  const write = (frame: Uint8Array): Promise<void> => {
    if (open !== undefined && open.bytes + frame.length <= MAX_COALESCED_BYTES) {
      open.frames.push(frame);
      open.bytes += frame.length;
      return open.done;
    }
    const batch = { frames: [frame], bytes: frame.length, done: Promise.resolve() };
    batch.done = writing.then(() => {
      if (open === batch) open = undefined;
      lastWrite = Date.now();
      const { frames } = batch;
      return duplex.write(frames.length === 1 ? (frames[0] as Uint8Array) : concatBytes(...frames));
    });
    open = batch;
    writing = batch.done.catch(() => {});
    return batch.done;
  };

  if (options.keepAliveIntervalMs !== undefined && options.keepAliveIntervalMs > 0) {
    const interval = options.keepAliveIntervalMs;
    keepAliveTimer = setInterval(
      () => {
        if (failure !== undefined || writeClosed) return stopKeepAlive();
        if (Date.now() - lastWrite < interval) return;
        write(KEEP_ALIVE_FRAME).catch((error: unknown) => {
          if (failure === undefined) {
            failure = new ChannelClosedError("stream closed while sending", { cause: error });
            stopKeepAlive();
            duplex.abort(failure);
          }
        });
      },
      Math.max(1, Math.floor(interval / 2)),
    );
  }

  return {
    remote,
    async send(message) {
      if (failure !== undefined || writeClosed) throw new ChannelClosedError();
      const frame = encodeFrame(encodeCbor(message), maxFrameSize);
      try {
        await write(frame);
      } catch (error) {
        fail(new ChannelClosedError("stream closed while sending", { cause: error }));
      }
    },
    async receive(receiveOptions) {
      if (failure !== undefined) throw failure;
      const idleMs = receiveOptions?.timeoutMs ?? timeoutMs;
      let idleDeadline = idleMs > 0 ? Date.now() + idleMs : undefined;
      let frame: Uint8Array | undefined;
      try {
        for (;;) {
          frame = ready.shift();
          if (frame?.length === 0) {
            // A keep-alive: the remote is there. Not a message; wait on with a fresh deadline.
            idleDeadline = idleMs > 0 ? Date.now() + idleMs : undefined;
            frame = undefined;
            continue;
          }
          if (frame !== undefined || ended) break;
          const frameDeadline =
            frameStarted !== undefined && frameTimeoutMs > 0
              ? frameStarted + frameTimeoutMs
              : undefined;
          if (
            frameDeadline !== undefined &&
            (idleDeadline === undefined || frameDeadline < idleDeadline)
          ) {
            await readUntil(frameDeadline, () => new StreamStalledError(frameTimeoutMs, true));
          } else {
            await readUntil(idleDeadline, () => new StreamStalledError(idleMs, decoder.inFrame));
          }
        }
      } catch (error) {
        fail(
          error instanceof P2pandaError
            ? error
            : new ChannelClosedError("stream failed", { cause: error }),
        );
      }
      if (frame === undefined) return undefined;
      try {
        return decodeCbor(frame);
      } catch (error) {
        return fail(error as Error);
      }
    },
    async close() {
      if (writeClosed || failure !== undefined) return;
      writeClosed = true;
      stopKeepAlive();
      await writing;
      await duplex.closeWrite();
    },
    abort(error) {
      if (failure === undefined) {
        failure = error;
        stopKeepAlive();
        duplex.abort(error);
      }
    },
  };
}

/** Bytes an in-memory pipe buffers before `write` waits for the reader (like a socket buffer). */
export const DEFAULT_PIPE_HIGH_WATER_MARK = 256 * 1024;

/**
 * Two connected in-memory byte streams, for tests and the simulator. What one side writes the
 * other reads; `write` waits while more than `highWaterMark` bytes are unread, as a real stream
 * would; `abort` on one side ends both with the error.
 */
export function memoryDuplexPair(
  highWaterMark = DEFAULT_PIPE_HIGH_WATER_MARK,
): [ByteDuplex, ByteDuplex] {
  const a = new Pipe(highWaterMark);
  const b = new Pipe(highWaterMark);
  const side = (out: Pipe, inn: Pipe): ByteDuplex => ({
    write: (bytes) => out.push(bytes.slice()),
    source: inn,
    closeWrite: async () => out.end(),
    abort: (error) => {
      out.fail(error);
      inn.fail(error);
    },
  });
  return [side(a, b), side(b, a)];
}

/**
 * Two connected {@link MessageChannel}s (real framing and CBOR over an in-memory pipe): `[0]` is
 * `a`'s end talking to `b`, `[1]` is `b`'s end talking to `a`.
 */
export function memoryChannelPair(
  a: NodeId,
  b: NodeId,
  options?: MessageChannelOptions,
): [MessageChannel, MessageChannel] {
  const [da, db] = memoryDuplexPair();
  return [framedChannel(b, da, options), framedChannel(a, db, options)];
}

/** A one-directional async byte queue with a bounded buffer. */
class Pipe implements AsyncIterable<Uint8Array> {
  readonly #queue: Uint8Array[] = [];
  readonly #highWaterMark: number;
  #queuedBytes = 0;
  #ended = false;
  #error: Error | undefined;
  #wakeReader: (() => void) | undefined;
  #wakeWriters: (() => void)[] = [];

  constructor(highWaterMark: number) {
    this.#highWaterMark = highWaterMark;
  }

  async push(bytes: Uint8Array): Promise<void> {
    if (this.#error) throw this.#error;
    if (this.#ended) throw new ChannelClosedError("write after close");
    this.#queue.push(bytes);
    this.#queuedBytes += bytes.length;
    this.#notifyReader();
    while (this.#queuedBytes > this.#highWaterMark && !this.#error) {
      await new Promise<void>((resolve) => this.#wakeWriters.push(resolve));
    }
    if (this.#error) throw this.#error;
  }
  end(): void {
    this.#ended = true;
    this.#notifyReader();
  }
  fail(error: Error): void {
    this.#error ??= error;
    this.#notifyReader();
    this.#notifyWriters();
  }
  #notifyReader(): void {
    const wake = this.#wakeReader;
    this.#wakeReader = undefined;
    wake?.();
  }
  #notifyWriters(): void {
    const writers = this.#wakeWriters;
    this.#wakeWriters = [];
    for (const wake of writers) wake();
  }
  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
      if (this.#error) throw this.#error;
      const next = this.#queue.shift();
      if (next !== undefined) {
        this.#queuedBytes -= next.length;
        if (this.#queuedBytes <= this.#highWaterMark) this.#notifyWriters();
        yield next;
        continue;
      }
      if (this.#ended) return;
      await new Promise<void>((resolve) => {
        this.#wakeReader = resolve;
      });
    }
  }
}

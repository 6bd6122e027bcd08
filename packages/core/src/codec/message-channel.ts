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
  constructor(message = "channel is closed", options?: { cause?: unknown }) {
    super("CHANNEL_CLOSED", message, options);
  }
}

/** The remote sent nothing complete within the receive timeout (idle or stalled mid-frame). */
export class StreamStalledError extends P2pandaError {
  readonly midFrame: boolean;
  constructor(timeoutMs: number, midFrame: boolean) {
    super(
      "STREAM_STALLED",
      `no complete message within ${timeoutMs} ms${midFrame ? " (stalled mid-frame)" : ""}`,
    );
    this.midFrame = midFrame;
  }
}

/** Default receive timeout of a {@link MessageChannel}. */
export const DEFAULT_RECEIVE_TIMEOUT_MS = 10_000;

/** Wraps a byte stream as a {@link MessageChannel} of framed, strictly decoded CBOR messages. */
export function framedChannel(
  remote: NodeId,
  duplex: ByteDuplex,
  options: MessageChannelOptions = {},
): MessageChannel {
  const maxFrameSize = options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
  const timeoutMs = options.receiveTimeoutMs ?? DEFAULT_RECEIVE_TIMEOUT_MS;
  const decoder = new FrameDecoder(maxFrameSize);
  const ready: Uint8Array[] = [];
  const iterator = duplex.source[Symbol.asyncIterator]();
  let ended = false;
  let writeClosed = false;
  let failure: Error | undefined;

  const fail = (error: Error): never => {
    if (failure === undefined) {
      failure = error;
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
    for (const frame of decoder.push(next.value)) ready.push(frame);
  };

  const withTimeout = async (work: Promise<void>, timeoutMs: number): Promise<void> => {
    if (timeoutMs <= 0) return work;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new StreamStalledError(timeoutMs, decoder.inFrame)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
    }
  };

  return {
    remote,
    async send(message) {
      if (failure !== undefined || writeClosed) throw new ChannelClosedError();
      const frame = encodeFrame(encodeCbor(message), maxFrameSize);
      try {
        await duplex.write(frame);
      } catch (error) {
        fail(new ChannelClosedError("stream closed while sending", { cause: error }));
      }
    },
    async receive(receiveOptions) {
      if (failure !== undefined) throw failure;
      try {
        const deadline = (async () => {
          while (ready.length === 0 && !ended) await readMore();
        })();
        await withTimeout(deadline, receiveOptions?.timeoutMs ?? timeoutMs);
      } catch (error) {
        fail(
          error instanceof P2pandaError
            ? error
            : new ChannelClosedError("stream failed", { cause: error }),
        );
      }
      const frame = ready.shift();
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
      await duplex.closeWrite();
    },
    abort(error) {
      if (failure === undefined) {
        failure = error;
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

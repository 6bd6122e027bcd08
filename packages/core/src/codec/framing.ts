import { P2pandaError } from "../errors.ts";
import { DecodeError } from "./cbor.ts";

/** Default largest frame a peer may send us: 1 MiB. Each protocol may choose a smaller one. */
export const DEFAULT_MAX_FRAME_SIZE = 1024 * 1024;

/** Longest length prefix we read (4 bytes of unsigned LEB128: frames up to 256 MiB). */
const MAX_PREFIX_BYTES = 4;

/** A frame announced or asked for a size above the limit. Raised before anything is allocated. */
export class FrameTooLargeError extends P2pandaError {
  static override readonly name: string = "FrameTooLargeError";
  readonly size: number;
  readonly limit: number;
  constructor(size: number, limit: number) {
    super("FRAME_TOO_LARGE", `frame of ${size} bytes exceeds the limit of ${limit} bytes`);
    this.size = size;
    this.limit = limit;
  }
}

/** The byte stream ended in the middle of a frame. */
export class IncompleteFrameError extends DecodeError {
  static override readonly name: string = "IncompleteFrameError";
  constructor(buffered: number) {
    super(`stream ended inside a frame (${buffered} bytes buffered)`);
  }
}

/** The length prefix is not a minimal unsigned varint of at most four bytes. */
export class InvalidLengthPrefixError extends DecodeError {
  static override readonly name: string = "InvalidLengthPrefixError";
  constructor() {
    super("invalid frame length prefix");
  }
}

/**
 * Length-prefixes `payload` with its size as an unsigned varint (the same framing as libp2p's
 * length-prefixed streams). Throws {@link FrameTooLargeError} when it exceeds `maxFrameSize`.
 */
export function encodeFrame(
  payload: Uint8Array,
  maxFrameSize = DEFAULT_MAX_FRAME_SIZE,
): Uint8Array {
  if (payload.length > maxFrameSize) throw new FrameTooLargeError(payload.length, maxFrameSize);
  const prefix: number[] = [];
  let n = payload.length;
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n > 0) byte |= 0x80;
    prefix.push(byte);
  } while (n > 0);
  const out = new Uint8Array(prefix.length + payload.length);
  out.set(prefix, 0);
  out.set(payload, prefix.length);
  return out;
}

/**
 * Bytes on the wire of a frame whose payload is `payloadLength` bytes: the payload plus its
 * varint length prefix, as {@link encodeFrame} writes it.
 */
export function framedSize(payloadLength: number): number {
  let prefix = 1;
  for (let n = payloadLength; n >= 0x80; n = Math.floor(n / 0x80)) prefix++;
  return prefix + payloadLength;
}

/**
 * Incremental frame decoder: feed it chunks as they arrive, get back every complete frame. The
 * announced size of a frame is checked against the limit as soon as its prefix is read, so a
 * peer can never make us allocate more than `maxFrameSize` (plus one chunk) per stream.
 */
export class FrameDecoder {
  readonly maxFrameSize: number;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #frameSize: number | undefined;

  constructor(maxFrameSize = DEFAULT_MAX_FRAME_SIZE) {
    this.maxFrameSize = maxFrameSize;
  }

  /** Bytes received that are not yet part of a returned frame. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Whether a frame has been started but not completed. */
  get inFrame(): boolean {
    return this.#buffered > 0;
  }

  /**
   * Adds `chunk` and returns the frames it completed, in order. Throws
   * {@link FrameTooLargeError} or {@link InvalidLengthPrefixError}; after a throw the decoder
   * must not be used again (the stream is out of sync).
   */
  push(chunk: Uint8Array): Uint8Array[] {
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
    }
    const frames: Uint8Array[] = [];
    for (;;) {
      if (this.#frameSize === undefined) {
        const prefix = this.#readPrefix();
        if (prefix === undefined) break;
        this.#frameSize = prefix;
      }
      if (this.#buffered < this.#frameSize) break;
      frames.push(this.#take(this.#frameSize));
      this.#frameSize = undefined;
    }
    return frames;
  }

  /** Call when the stream ended: throws {@link IncompleteFrameError} if inside a frame. */
  finish(): void {
    if (this.#buffered > 0 || this.#frameSize !== undefined) {
      throw new IncompleteFrameError(this.#buffered);
    }
  }

  #readPrefix(): number | undefined {
    let value = 0;
    let index = 0;
    for (const chunk of this.#chunks) {
      for (const byte of chunk) {
        if (index === MAX_PREFIX_BYTES) throw new InvalidLengthPrefixError();
        value += (byte & 0x7f) * 2 ** (7 * index);
        index++;
        if ((byte & 0x80) === 0) {
          // A trailing zero byte means a non-minimal encoding (except the single byte 0x00).
          if (byte === 0 && index > 1) throw new InvalidLengthPrefixError();
          if (value > this.maxFrameSize) throw new FrameTooLargeError(value, this.maxFrameSize);
          this.#take(index);
          return value;
        }
      }
    }
    // Incomplete prefix: reject early if it already cannot fit the limit.
    if (index === MAX_PREFIX_BYTES) throw new InvalidLengthPrefixError();
    if (value > this.maxFrameSize) throw new FrameTooLargeError(value, this.maxFrameSize);
    return undefined;
  }

  /** Removes and returns the first `n` buffered bytes (n ≤ buffered). */
  #take(n: number): Uint8Array {
    const first = this.#chunks[0];
    if (first !== undefined && first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
      this.#buffered -= n;
      return out;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.#chunks[0] as Uint8Array;
      const need = n - filled;
      if (chunk.length <= need) {
        out.set(chunk, filled);
        filled += chunk.length;
        this.#chunks.shift();
      } else {
        out.set(chunk.subarray(0, need), filled);
        this.#chunks[0] = chunk.subarray(need);
        filled += need;
      }
    }
    this.#buffered -= n;
    return out;
  }
}

// Two tiny protocols for looking at a connection from the page (and from tests and benchmarks):
// `echo` sends every message back, `sink` swallows bytes and reports how many it got. They use
// only the Endpoint API, so a Node endpoint can serve them too.
import type { MessageChannel, NodeId } from "@p2panda-web/core";
import type { Endpoint } from "@p2panda-web/core/endpoint";

export const ECHO_PROTOCOL = "demo/echo/v1";
export const SINK_PROTOCOL = "demo/sink/v1";
/** Chunk size for bulk transfers; one CBOR frame each (frames are capped at 1 MiB). */
export const DEFAULT_CHUNK_SIZE = 64 * 1024;
/** Sessions wait this long for the next message before giving up. */
const RECEIVE_TIMEOUT_MS = 30_000;

/** Serves {@link ECHO_PROTOCOL} and {@link SINK_PROTOCOL} on `endpoint`. */
export function serveDiagnostics(endpoint: Endpoint): void {
  endpoint.accept(
    ECHO_PROTOCOL,
    async (channel) => {
      for (;;) {
        const message = await channel.receive();
        if (message === undefined) break;
        await channel.send(message);
      }
      await channel.close();
    },
    { receiveTimeoutMs: RECEIVE_TIMEOUT_MS },
  );
  endpoint.accept(
    SINK_PROTOCOL,
    async (channel) => {
      let bytes = 0;
      for (;;) {
        const message = await channel.receive();
        if (message === undefined) break;
        if (message instanceof Uint8Array) bytes += message.byteLength;
      }
      await channel.send({ bytes });
      await channel.close();
    },
    { receiveTimeoutMs: RECEIVE_TIMEOUT_MS },
  );
}

async function open(endpoint: Endpoint, remote: NodeId, protocol: string): Promise<MessageChannel> {
  return endpoint.connect(remote, protocol, { receiveTimeoutMs: RECEIVE_TIMEOUT_MS });
}

/** Deterministic test bytes (a counter pattern mixed with the index), so corruption shows. */
export function patternBytes(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Result of {@link echoBytes}. */
export interface EchoResult {
  readonly sent: number;
  readonly received: number;
  /** Whether every byte came back, in order. */
  readonly intact: boolean;
  readonly ms: number;
}

/**
 * Sends `bytes` to `remote`'s echo service in chunks while reading the echo back, and compares.
 * @throws what `Endpoint.connect` and `MessageChannel` throw.
 */
export async function echoBytes(
  endpoint: Endpoint,
  remote: NodeId,
  bytes: Uint8Array,
  chunkSize = DEFAULT_CHUNK_SIZE,
): Promise<EchoResult> {
  const started = performance.now();
  const channel = await open(endpoint, remote, ECHO_PROTOCOL);
  const sending = (async () => {
    for (let at = 0; at < bytes.byteLength; at += chunkSize) {
      await channel.send(bytes.subarray(at, at + chunkSize));
    }
    await channel.close();
  })();
  const back = new Uint8Array(bytes.byteLength);
  let received = 0;
  let intact = true;
  for (;;) {
    const message = await channel.receive();
    if (message === undefined) break;
    if (!(message instanceof Uint8Array) || received + message.byteLength > back.byteLength) {
      intact = false;
      break;
    }
    back.set(message, received);
    received += message.byteLength;
  }
  await sending;
  if (received !== bytes.byteLength) intact = false;
  for (let i = 0; intact && i < bytes.byteLength; i++) if (back[i] !== bytes[i]) intact = false;
  return { sent: bytes.byteLength, received, intact, ms: performance.now() - started };
}

/** Round-trip times (ms, in order) of `count` small messages through `remote`'s echo service. */
export async function roundTrips(
  endpoint: Endpoint,
  remote: NodeId,
  count: number,
): Promise<number[]> {
  const channel = await open(endpoint, remote, ECHO_PROTOCOL);
  const times: number[] = [];
  const payload = patternBytes(32);
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await channel.send(payload);
    const reply = await channel.receive();
    if (!(reply instanceof Uint8Array)) throw new Error("echo session ended early");
    times.push(performance.now() - started);
  }
  await channel.close();
  await channel.receive();
  return times;
}

/** Result of {@link sendToSink}. */
export interface ThroughputResult {
  readonly bytes: number;
  readonly ms: number;
  /** Megabytes (10^6 bytes) per second, counted until the sink confirmed every byte. */
  readonly mbPerSecond: number;
}

/** Sends `totalBytes` one way to `remote`'s sink and waits for its count. */
export async function sendToSink(
  endpoint: Endpoint,
  remote: NodeId,
  totalBytes: number,
  chunkSize = DEFAULT_CHUNK_SIZE,
): Promise<ThroughputResult> {
  const chunk = patternBytes(chunkSize);
  const channel = await open(endpoint, remote, SINK_PROTOCOL);
  const started = performance.now();
  let sent = 0;
  while (sent < totalBytes) {
    const part = totalBytes - sent >= chunkSize ? chunk : chunk.subarray(0, totalBytes - sent);
    await channel.send(part);
    sent += part.byteLength;
  }
  await channel.close();
  const reply = (await channel.receive()) as { bytes?: unknown } | undefined;
  const ms = performance.now() - started;
  if (reply?.bytes !== totalBytes) throw new Error(`sink counted ${String(reply?.bytes)} bytes`);
  return { bytes: totalBytes, ms, mbPerSecond: totalBytes / 1e6 / (ms / 1000) };
}

import { DecodeError, decodeCbor, encodeCbor } from "../codec/cbor.ts";
import { NodeId } from "../ids/node-id.ts";
import {
  MAX_ADDRESS_LENGTH,
  MAX_TRANSPORT_ADDRESSES,
  type TransportInfo,
  transportInfoFromWire,
  transportInfoToWire,
} from "./transport-info.ts";

/** What we know about our connection attempts to a node (in and out). */
export interface ConnectionMetrics {
  readonly successes: number;
  readonly failures: number;
  /** Time (ms, from the injected clock) of the latest successful attempt. */
  readonly lastSuccessAt?: number;
  /** Time (ms) of the latest failed attempt. */
  readonly lastFailureAt?: number;
  /**
   * Outcome of the latest report. Decides staleness when a success and a failure carry the same
   * millisecond: the one reported last wins.
   */
  readonly lastOutcome?: "success" | "failure";
}

/** What a node keeps about another node (spec §2). */
export interface NodeInfo {
  readonly nodeId: NodeId;
  /** Local choice, never sent to others. Walkers prefer bootstraps; they are never stale. */
  readonly bootstrap: boolean;
  readonly metrics: ConnectionMetrics;
  readonly transports?: TransportInfo;
}

const NO_METRICS: ConnectionMetrics = Object.freeze({ successes: 0, failures: 0 });

/** A node info with no connection history. */
export function createNodeInfo(
  nodeId: NodeId,
  init: { bootstrap?: boolean; transports?: TransportInfo } = {},
): NodeInfo {
  const info: NodeInfo = { nodeId, bootstrap: init.bootstrap ?? false, metrics: NO_METRICS };
  return init.transports === undefined ? info : { ...info, transports: init.transports };
}

/**
 * Whether the last recorded connection attempt to the node failed (spec §2): it has a failure
 * and either no success or an older one; on the same millisecond the later report decides. No
 * attempts: not stale. A bootstrap is never stale.
 */
export function isStale(info: NodeInfo): boolean {
  if (info.bootstrap) return false;
  const { failures, lastFailureAt, lastSuccessAt, lastOutcome } = info.metrics;
  if (failures === 0 || lastFailureAt === undefined) return false;
  if (lastSuccessAt === undefined || lastSuccessAt < lastFailureAt) return true;
  if (lastSuccessAt > lastFailureAt) return false;
  return lastOutcome === "failure";
}

/**
 * `info` with one more connection attempt counted. `at` is the time of the attempt (ms); a
 * report older than the latest one still counts but does not change which outcome is latest.
 */
export function withConnectionReport(info: NodeInfo, ok: boolean, at: number): NodeInfo {
  const m = info.metrics;
  const latest = Math.max(m.lastSuccessAt ?? -Infinity, m.lastFailureAt ?? -Infinity);
  const isLatest = at >= latest;
  const metrics: ConnectionMetrics = ok
    ? {
        ...m,
        successes: m.successes + 1,
        lastSuccessAt: Math.max(at, m.lastSuccessAt ?? -Infinity),
        lastOutcome: isLatest ? "success" : m.lastOutcome,
      }
    : {
        ...m,
        failures: m.failures + 1,
        lastFailureAt: Math.max(at, m.lastFailureAt ?? -Infinity),
        lastOutcome: isLatest ? "failure" : m.lastOutcome,
      };
  if (metrics.lastOutcome === undefined) delete (metrics as { lastOutcome?: unknown }).lastOutcome;
  return { ...info, metrics };
}

const FORMAT_VERSION = 1;

function withoutUndefined(record: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) if (value !== undefined) out[key] = value;
  return out;
}

/**
 * CBOR encoding of every field, for storage backends (not a wire format: `bootstrap` and
 * metrics are local).
 */
export function encodeNodeInfo(info: NodeInfo): Uint8Array {
  const m = info.metrics;
  const transports =
    info.transports === undefined
      ? undefined
      : info.transports.kind === "trusted"
        ? { kind: "trusted", addresses: [...info.transports.addresses] }
        : { kind: "authenticated", info: transportInfoToWire(info.transports) };
  return encodeCbor(
    withoutUndefined({
      v: FORMAT_VERSION,
      nodeId: info.nodeId,
      bootstrap: info.bootstrap,
      metrics: withoutUndefined({
        successes: m.successes,
        failures: m.failures,
        lastSuccessAt: m.lastSuccessAt,
        lastFailureAt: m.lastFailureAt,
        lastOutcome: m.lastOutcome,
      }),
      transports,
    }),
  );
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function isTime(value: unknown): value is number | undefined {
  return value === undefined || (typeof value === "number" && Number.isFinite(value));
}

function asMap(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new DecodeError(`${what} is not a map`);
  }
  return value as Record<string, unknown>;
}

function decodeTransports(value: unknown): TransportInfo | undefined {
  if (value === undefined) return undefined;
  const t = asMap(value, "transports");
  if (t.kind === "authenticated") return transportInfoFromWire(t.info);
  if (t.kind !== "trusted") throw new DecodeError("unknown transport info kind");
  const addresses = t.addresses;
  if (
    !Array.isArray(addresses) ||
    addresses.length > MAX_TRANSPORT_ADDRESSES ||
    !addresses.every((a) => typeof a === "string" && a.length <= MAX_ADDRESS_LENGTH)
  ) {
    throw new DecodeError("trusted addresses are a short list of short strings");
  }
  return { kind: "trusted", addresses: Object.freeze([...(addresses as string[])]) };
}

/** Reads what {@link encodeNodeInfo} wrote. Throws {@link DecodeError} on anything else. */
export function decodeNodeInfo(bytes: Uint8Array): NodeInfo {
  const record = asMap(decodeCbor(bytes), "node info");
  if (record.v !== FORMAT_VERSION) throw new DecodeError("unknown node info format version");
  if (!NodeId.is(record.nodeId)) throw new DecodeError("node info has no valid node id");
  if (typeof record.bootstrap !== "boolean") throw new DecodeError("bootstrap is not a boolean");
  const m = asMap(record.metrics, "metrics");
  const { successes, failures, lastSuccessAt, lastFailureAt, lastOutcome } = m;
  if (
    !isCount(successes) ||
    !isCount(failures) ||
    !isTime(lastSuccessAt) ||
    !isTime(lastFailureAt)
  ) {
    throw new DecodeError("malformed connection metrics");
  }
  if (lastOutcome !== undefined && lastOutcome !== "success" && lastOutcome !== "failure") {
    throw new DecodeError("malformed connection metrics");
  }
  const metrics = withoutUndefined({
    successes,
    failures,
    lastSuccessAt,
    lastFailureAt,
    lastOutcome,
  }) as unknown as ConnectionMetrics;
  const transports = decodeTransports(record.transports);
  const info: NodeInfo = { nodeId: record.nodeId, bootstrap: record.bootstrap, metrics };
  return transports === undefined ? info : { ...info, transports };
}

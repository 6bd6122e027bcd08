import { toHex } from "@p2panda-web/core";
import type { P2pEvent } from "@p2panda-web/events";

/** What the inspector's export holds (JSON): enough to attach to a bug report. */
export interface InspectorExport {
  readonly nodeId: string;
  readonly exportedAt: number;
  /** Events seen since the inspector was attached (the list keeps only the last ones). */
  readonly eventCount: number;
  readonly events: readonly unknown[];
}

/**
 * The events as JSON. Events carry bytes, errors, sets and maps, which `JSON.stringify` drops
 * or flattens to `{}`: bytes become hex, errors their name, code and message, sets and maps
 * arrays.
 */
export function eventsToJson(
  nodeId: string,
  events: readonly P2pEvent[],
  eventCount: number,
  now: number,
): string {
  const data: InspectorExport = { nodeId, exportedAt: now, eventCount, events };
  return JSON.stringify(data, (_key, value: unknown) => plain(value), 2);
}

function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return toHex(value);
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return {
      name: value.name,
      ...(typeof code === "string" ? { code } : {}),
      message: value.message,
    };
  }
  if (value instanceof Set) return [...value];
  if (value instanceof Map) return Object.fromEntries(value);
  if (typeof value === "bigint") return value.toString();
  return value;
}

import { decodeCbor, fromHex } from "@p2panda-web/core";
import type { LogId } from "@p2panda-web/core/sync";

/**
 * The log id whose canonical CBOR encoding has this hex form (the inverse of core's
 * `logIdKey`): backends key logs by that hex, which sorts like the encoded bytes.
 */
export function logIdFromHex(hex: string): LogId {
  return decodeCbor(fromHex(hex)) as LogId;
}

/**
 * Counters of one sync session (spec §6.3). "Outbound"/"inbound" are the totals announced in
 * `PreSync` (ours and the remote's: the basis for progress bars); "sent"/"received" count what
 * actually went over the stream, per phase. Bytes are header + body bytes.
 */
export interface SyncMetrics {
  /** Operations we announced to send. */
  outboundOperations: number;
  outboundBytes: number;
  /** Operations the remote announced to send. */
  inboundOperations: number;
  inboundBytes: number;
  sentSyncOperations: number;
  sentSyncBytes: number;
  receivedSyncOperations: number;
  receivedSyncBytes: number;
  sentLiveOperations: number;
  sentLiveBytes: number;
  receivedLiveOperations: number;
  receivedLiveBytes: number;
  /** Received operations validated and stored. */
  storedOperations: number;
  /** Received operations dropped as repeats (de-dup buffer or already stored). */
  duplicateOperations: number;
  /**
   * Received operations we could not attach to their log (the remote pruned the start of it, or
   * in live mode an earlier operation has not arrived yet): not stored, not an error.
   */
  detachedOperations: number;
  /** Live operations refused because their log does not belong to the session's topic. */
  foreignOperations: number;
}

/** All counters at zero. */
export function emptyMetrics(): SyncMetrics {
  return {
    outboundOperations: 0,
    outboundBytes: 0,
    inboundOperations: 0,
    inboundBytes: 0,
    sentSyncOperations: 0,
    sentSyncBytes: 0,
    receivedSyncOperations: 0,
    receivedSyncBytes: 0,
    sentLiveOperations: 0,
    sentLiveBytes: 0,
    receivedLiveOperations: 0,
    receivedLiveBytes: 0,
    storedOperations: 0,
    duplicateOperations: 0,
    detachedOperations: 0,
    foreignOperations: 0,
  };
}

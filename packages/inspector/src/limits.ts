// Its own module so the package index can export the defaults without pulling in the state.

/** How much the inspector keeps of each list; older entries fall off the front. */
export interface InspectorLimits {
  /** Raw events kept for the export. Default 200. */
  readonly events: number;
  /** Discovery sessions in the log. Default 100. */
  readonly discoverySessions: number;
  /** Gossip messages shown per topic. Default 50. */
  readonly messagesPerTopic: number;
  /** Errors shown. Default 50. */
  readonly errors: number;
  /** Sync sessions remembered (finished ones included). Default 100. */
  readonly syncSessions: number;
}

/** Defaults of {@link InspectorLimits}. */
export const DEFAULT_INSPECTOR_LIMITS: InspectorLimits = {
  events: 200,
  discoverySessions: 100,
  messagesPerTopic: 50,
  errors: 50,
  syncSessions: 100,
};

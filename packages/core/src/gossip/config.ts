/**
 * Membership (HyParView) settings. Defaults are those of iroh-gossip, which upstream p2panda-net
 * uses unchanged (spec §5.2).
 */
export interface HyParViewConfig {
  /** Neighbours we keep open links to and gossip with. Default 5. */
  activeViewCapacity: number;
  /** Known but unconnected nodes to replace failed neighbours from. Default 30. */
  passiveViewCapacity: number;
  /** Hops of a `forward-join` walk (ARWL). Default 6. */
  activeRandomWalkLength: number;
  /** A `forward-join` walk puts the joiner into the passive view at this ttl (PRWL). Default 3. */
  passiveRandomWalkLength: number;
  /** Hops of a `shuffle` walk. Default 6. */
  shuffleRandomWalkLength: number;
  /** Active-view nodes sent in a shuffle. Default 3. */
  shuffleActiveViewCount: number;
  /** Passive-view nodes sent in a shuffle. Default 4. */
  shufflePassiveViewCount: number;
  /** Period of the passive-view shuffle (and of refilling a short active view). Default 60,000 ms. */
  shuffleIntervalMs: number;
  /** A `neighbor` request unanswered this long counts as failed. Default 500 ms. */
  neighborRequestTimeoutMs: number;
}

/** Broadcast (PlumTree) settings; iroh-gossip defaults (spec §5.3). */
export interface PlumTreeConfig {
  /**
   * Least wait after the first `ihave` for a missing message before grafting (upstream's fixed
   * graft timeout 1). The wait is measured: mean + 4 deviations of the delays this node saw
   * between a message's first announcement and its arrival over the eager path, so a graft
   * recovers a lost message rather than racing an eager path that is merely slower. Until
   * something was measured, this. Default 80 ms.
   */
  graftTimeout1Ms: number;
  /**
   * Least wait before grafting the next announcer of a still-missing message (upstream's fixed
   * graft timeout 2); measured like `graftTimeout1Ms`, from grafts to their answers. Default 40 ms.
   */
  graftTimeout2Ms: number;
  /**
   * Longest either measured graft wait may grow to, so a message lost on the eager path is
   * recovered within about this long however slow the eager paths were. p2panda-web addition.
   * Default 1,000 ms.
   */
  graftTimeoutMaxMs: number;
  /** `ihave` announcements are batched and flushed after this delay. Default 5 ms. */
  dispatchTimeoutMs: number;
  /**
   * A lazy link that is this many hops shorter than the eager path a message came along is
   * promoted to eager (tree optimisation). Default 4; iroh-gossip uses 7 (the paper's
   * experiment setting). Measured in the gossip simulator (docs/benchmarks.md), at 7 the tree
   * that random senders share stays about 1.6–1.7 × as deep as flooding at 1,000 nodes; at 4 it
   * gets within 1.5 ×, with RMR still below 0.1. Nodes with different thresholds interoperate.
   */
  optimizationThreshold: number;
  /** Full messages are kept this long to answer grafts. Default 30,000 ms. */
  messageCacheRetentionMs: number;
  /** Ids of seen messages are kept this long to drop duplicates. Default 90,000 ms. */
  messageIdRetentionMs: number;
  /** Period of the cache and id eviction (only while something is cached). Default 1,000 ms. */
  cacheEvictIntervalMs: number;
  /**
   * Within this time after a neighbour's link failed, a new neighbour is sent `ihave` for the
   * messages we received this recently, so a message that was in flight while the overlay
   * repaired itself (a passive node took the failed one's place) still reaches that part of the
   * tree: the neighbour grafts what it lacks. Not done on a plain join, so joiners get no old
   * messages. p2panda-web addition (iroh-gossip sends nothing); `0` turns it off. Default 15,000 ms:
   * longer than a browser endpoint takes to notice a vanished peer (ping every 5 s, 3 s timeout).
   */
  announceRecentToNewNeighbourMs: number;
}

/**
 * Limits on what a remote can make us allocate or process; checked when a message is decoded,
 * before anything else is done with it. p2panda-web additions, not upstream.
 */
export interface GossipLimits {
  /**
   * Largest message content in bytes. Must be equal across the network: a node with a smaller
   * limit drops and disconnects senders of larger messages. Default 4,096 (upstream).
   */
  maxMessageSize: number;
  /** Node ids per `shuffle` / `shuffle-reply`. Default 16 (a shuffle sends 3 + 4 + origin). */
  maxShuffleNodes: number;
  /** Entries per `ihave`. Default 256; longer batches are split by the sender. */
  maxIHaveEntries: number;
  /** Largest random-walk ttl accepted. Default 16. */
  maxTtl: number;
  /** Largest PlumTree round (hop count) accepted. Default 65,535 (upstream's u16). */
  maxRound: number;
  /**
   * Token bucket per neighbour link over all gossip messages of all topics: `burst` messages at
   * once, refilled at `perSecond`. A peer that exceeds it is disconnected and ignored for
   * `floodCooldownMs`. Default burst 512, 256 messages/s, 60,000 ms.
   */
  rateLimit: { burst: number; perSecond: number };
  /** How long a peer disconnected for flooding or malformed input is ignored. Default 60,000 ms. */
  floodCooldownMs: number;
}

/** Everything configurable in gossip; every field defaults as documented. */
export interface GossipConfig {
  membership: HyParViewConfig;
  broadcast: PlumTreeConfig;
  limits: GossipLimits;
}

/** Upstream (iroh-gossip) membership defaults. */
export const DEFAULT_HYPARVIEW_CONFIG: Readonly<HyParViewConfig> = {
  activeViewCapacity: 5,
  passiveViewCapacity: 30,
  activeRandomWalkLength: 6,
  passiveRandomWalkLength: 3,
  shuffleRandomWalkLength: 6,
  shuffleActiveViewCount: 3,
  shufflePassiveViewCount: 4,
  shuffleIntervalMs: 60_000,
  neighborRequestTimeoutMs: 500,
};

/** Upstream (iroh-gossip) broadcast defaults. */
export const DEFAULT_PLUMTREE_CONFIG: Readonly<PlumTreeConfig> = {
  graftTimeout1Ms: 80,
  graftTimeout2Ms: 40,
  graftTimeoutMaxMs: 1_000,
  dispatchTimeoutMs: 5,
  optimizationThreshold: 4,
  messageCacheRetentionMs: 30_000,
  messageIdRetentionMs: 90_000,
  cacheEvictIntervalMs: 1_000,
  announceRecentToNewNeighbourMs: 15_000,
};

/** Default {@link GossipLimits}. */
export const DEFAULT_GOSSIP_LIMITS: Readonly<GossipLimits> = {
  maxMessageSize: 4096,
  maxShuffleNodes: 16,
  maxIHaveEntries: 256,
  maxTtl: 16,
  maxRound: 65_535,
  rateLimit: { burst: 512, perSecond: 256 },
  floodCooldownMs: 60_000,
};

/** Partial overrides of a {@link GossipConfig}, section by section. */
export interface GossipConfigInput {
  membership?: Partial<HyParViewConfig>;
  broadcast?: Partial<PlumTreeConfig>;
  limits?: Partial<GossipLimits>;
}

/** Fills in the defaults. */
export function gossipConfig(input: GossipConfigInput = {}): GossipConfig {
  return {
    membership: { ...DEFAULT_HYPARVIEW_CONFIG, ...input.membership },
    broadcast: { ...DEFAULT_PLUMTREE_CONFIG, ...input.broadcast },
    limits: { ...DEFAULT_GOSSIP_LIMITS, ...input.limits },
  };
}

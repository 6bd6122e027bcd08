import type { Rng } from "../random.ts";

/** A one-way latency range in milliseconds, drawn uniformly. */
export interface LatencyRange {
  readonly min: number;
  readonly max: number;
}

/** Options of a {@link SimNetwork}. */
export interface SimNetworkOptions {
  /** One-way latency of a connection or link. Default 20–80 ms. */
  latencyMs?: LatencyRange;
  /**
   * How long a dial to a node that cannot be reached takes to fail. Default 3,000 ms (upstream's
   * idle timeout: an offline browser tab does not refuse, it just never answers).
   */
  dialFailMs?: number;
}

/** Default one-way latency of a {@link SimNetwork}. */
export const DEFAULT_SIM_LATENCY_MS: LatencyRange = { min: 20, max: 80 };

/** Default time until a dial to an unreachable node fails. */
export const DEFAULT_SIM_DIAL_FAIL_MS = 3_000;

/**
 * The network every simulator runs its nodes on: who is online, which nodes a partition keeps
 * apart, and how long a message or a dial takes. It holds no protocol state and schedules
 * nothing itself; a simulator asks it before it schedules a delivery on its
 * {@link VirtualScheduler}, so one model serves every protocol. Latencies come from the
 * simulator's seeded rng, so the same seed gives the same network.
 */
export class SimNetwork<Id extends string = string> {
  readonly latencyMs: LatencyRange;
  readonly dialFailMs: number;
  readonly #rng: Rng;
  readonly #online = new Set<Id>();
  /** Partition side of each node named in the current partition; others are on side 0. */
  readonly #side = new Map<Id, number>();
  readonly #links = new Map<string, number>();

  constructor(rng: Rng, options: SimNetworkOptions = {}) {
    this.#rng = rng;
    this.latencyMs = options.latencyMs ?? DEFAULT_SIM_LATENCY_MS;
    this.dialFailMs = options.dialFailMs ?? DEFAULT_SIM_DIAL_FAIL_MS;
  }

  /** Nodes online now. */
  get onlineCount(): number {
    return this.#online.size;
  }

  /** Whether `id` is online (a node the network never saw is not). */
  isOnline(id: Id): boolean {
    return this.#online.has(id);
  }

  /** Brings `id` online (a new node, or one coming back) or takes it offline. */
  setOnline(id: Id, online: boolean): void {
    if (online) this.#online.add(id);
    else this.#online.delete(id);
  }

  /**
   * Splits the network: each group is one side, and the nodes not named in any group form one
   * more side together. Replaces an earlier partition. Connections already open are not cut;
   * new dials across sides fail (see {@link canReach}).
   */
  partition(...groups: readonly Iterable<Id>[]): void {
    this.#side.clear();
    groups.forEach((group, index) => {
      for (const id of group) this.#side.set(id, index + 1);
    });
  }

  /** Ends a partition: every node can reach every online node again. */
  heal(): void {
    this.#side.clear();
  }

  /** Whether a dial from `from` to `to` can succeed now: `to` is online and on `from`'s side. */
  canReach(from: Id, to: Id): boolean {
    return this.#online.has(to) && (this.#side.get(from) ?? 0) === (this.#side.get(to) ?? 0);
  }

  /**
   * A fresh one-way latency in whole milliseconds, uniformly in the range: one per connection
   * (a new dial may take another route).
   */
  drawLatency(): number {
    const { min, max } = this.latencyMs;
    return min + this.#rng.int(max - min + 1);
  }

  /**
   * Time from a dial until the other side sees the stream: one round trip (connection set-up
   * and stream open) at the connection's one-way `latency`.
   */
  openDelay(latency: number): number {
    return 2 * latency;
  }

  /**
   * The one-way latency of the link between `a` and `b` (fractional milliseconds), drawn the
   * first time it is asked for and kept: a fixed overlay of long-lived connections.
   */
  linkLatency(a: Id, b: Id): number {
    const key = a < b ? `${a} ${b}` : `${b} ${a}`;
    let ms = this.#links.get(key);
    if (ms === undefined) {
      const { min, max } = this.latencyMs;
      ms = min + this.#rng.next() * (max - min);
      this.#links.set(key, ms);
    }
    return ms;
  }
}

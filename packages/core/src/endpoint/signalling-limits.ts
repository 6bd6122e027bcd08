import { InvalidInputError } from "../errors.ts";
import { TokenBucket } from "../gossip/token-bucket.ts";

/**
 * What a {@link SignallingLimits} counts, per remote node:
 * - `reservation`: relay reservations a node asks of us (we are its relay);
 * - `relay-circuit`: circuits a node asks us to open to someone else (we are the relay);
 * - `inbound-circuit`: relayed connections a node opens to us through any relay (we are the
 *   target of its WebRTC signalling);
 * - `outbound-circuit`: relayed connections we open to a node for signalling (we dial it), so a
 *   node that redials in a loop holds itself back before any relay has to.
 */
export type SignallingLimitKind =
  | "reservation"
  | "relay-circuit"
  | "inbound-circuit"
  | "outbound-circuit";

/** A per-node rate: `burst` at once, refilled at `perMinute`. */
export interface SignallingRate {
  /** Requests a node may make at once after being quiet. */
  readonly burst: number;
  /** Requests per minute a node may make on average. */
  readonly perMinute: number;
}

/**
 * Per-node rate limits on relay reservations and relayed (signalling) connections, enforced by
 * the relay, by the target and by the dialer alike (see {@link SignallingLimitKind}).
 */
export interface SignallingLimitsOptions {
  /** Default {@link DEFAULT_SIGNALLING_LIMITS}.reservation: 4 at once, 4 a minute. */
  readonly reservation?: SignallingRate;
  /** Default {@link DEFAULT_SIGNALLING_LIMITS}.relayCircuit: 16 at once, 30 a minute. */
  readonly relayCircuit?: SignallingRate;
  /** Default {@link DEFAULT_SIGNALLING_LIMITS}.inboundCircuit: 8 at once, 20 a minute. */
  readonly inboundCircuit?: SignallingRate;
  /** Default {@link DEFAULT_SIGNALLING_LIMITS}.outboundCircuit: 8 at once, 20 a minute. */
  readonly outboundCircuit?: SignallingRate;
  /** Most remote nodes tracked at once; the quietest are forgotten first. Default 4,096. */
  readonly maxTrackedNodes?: number;
}

/**
 * Defaults of {@link SignallingLimitsOptions}. A reservation lasts an hour and is renewed once
 * in it, so 4 a minute only holds back a node that reconnects in a loop. A tab sets up one
 * WebRTC connection per neighbour (a handful) and redials a lost one once or twice, so 8 at once
 * and 20 a minute towards one node leave room for normal churn; a relay serves circuits from one
 * node to many, hence more.
 */
export const DEFAULT_SIGNALLING_LIMITS: Readonly<{
  reservation: SignallingRate;
  relayCircuit: SignallingRate;
  inboundCircuit: SignallingRate;
  outboundCircuit: SignallingRate;
  maxTrackedNodes: number;
}> = Object.freeze({
  reservation: { burst: 4, perMinute: 4 },
  relayCircuit: { burst: 16, perMinute: 30 },
  inboundCircuit: { burst: 8, perMinute: 20 },
  outboundCircuit: { burst: 8, perMinute: 20 },
  maxTrackedNodes: 4_096,
});

/**
 * Token buckets per (kind, remote node). Pure: the caller passes the time, so a test replays it
 * exactly. Memory is bounded by `maxTrackedNodes` buckets: when full, the bucket used least
 * recently goes (a forgotten node starts again with a full burst, which only ever lets a few
 * more requests through).
 */
export class SignallingLimits {
  readonly #rates: Record<SignallingLimitKind, SignallingRate>;
  readonly #maxTracked: number;
  /** Insertion order is recency order: a used bucket is moved to the end. */
  readonly #buckets = new Map<string, TokenBucket>();

  /** @throws InvalidInputError on a rate that is not positive or a bound below 1. */
  constructor(options: SignallingLimitsOptions = {}) {
    const d = DEFAULT_SIGNALLING_LIMITS;
    this.#rates = {
      reservation: checkRate("reservation", options.reservation ?? d.reservation),
      "relay-circuit": checkRate("relayCircuit", options.relayCircuit ?? d.relayCircuit),
      "inbound-circuit": checkRate("inboundCircuit", options.inboundCircuit ?? d.inboundCircuit),
      "outbound-circuit": checkRate(
        "outboundCircuit",
        options.outboundCircuit ?? d.outboundCircuit,
      ),
    };
    this.#maxTracked = options.maxTrackedNodes ?? d.maxTrackedNodes;
    if (!Number.isSafeInteger(this.#maxTracked) || this.#maxTracked < 1) {
      throw new InvalidInputError("maxTrackedNodes must be a positive integer");
    }
  }

  /** Takes one request of `kind` from `remote` at `now` (ms): whether it is within its rate. */
  take(kind: SignallingLimitKind, remote: string, now: number): boolean {
    const key = `${kind} ${remote}`;
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      const rate = this.#rates[kind];
      bucket = new TokenBucket(rate.burst, rate.perMinute / 60, now);
      if (this.#buckets.size >= this.#maxTracked) {
        const oldest = this.#buckets.keys().next().value;
        if (oldest !== undefined) this.#buckets.delete(oldest);
      }
    } else {
      this.#buckets.delete(key);
    }
    this.#buckets.set(key, bucket);
    return bucket.take(now);
  }

  /** Buckets held (for tests of the bound). */
  get tracked(): number {
    return this.#buckets.size;
  }
}

function checkRate(name: string, rate: SignallingRate): SignallingRate {
  const ok = (n: number): boolean => Number.isFinite(n) && n > 0;
  if (!ok(rate.burst) || !ok(rate.perMinute)) {
    throw new InvalidInputError(`signalling limit ${name} needs a positive burst and perMinute`);
  }
  return rate;
}

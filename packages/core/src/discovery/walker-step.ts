import type { NodeId } from "../ids/node-id.ts";
import type { Topic } from "../ids/topic.ts";
import type { Rng } from "../random.ts";
import type { Backoff } from "./backoff.ts";
import type { DiscoveryResult } from "./psi-handshake.ts";
import type { RandomWalker } from "./random-walker.ts";

/** Below this share of newly learned infos a step counts as unsuccessful and backs off. */
export const SUCCESS_RATE_THRESHOLD = 0.02;

/**
 * The first unproductive step after a start over (or a productive step) waits at most this
 * long on average, the next twice as long, and so on until the upstream backoff is the shorter
 * one. Each wait is drawn uniformly from [0, 2 × its mean). See {@link WalkerStep}.
 */
export const EAGER_FIRST_WAIT_MS = 250;

/**
 * While searching (see {@link WalkerStep.walkFrom}), unproductive steps double their mean wait
 * only this many times: 0.25, 0.5, then 1 s on average, never upstream's growing backoff.
 */
export const SEARCH_MAX_DOUBLINGS = 2;

/** After finding no node at all (empty address book), try again from the start after this. */
export const EMPTY_ADDRESS_BOOK_RETRY_MS = 2_000;

/**
 * Unreachable nodes in a row that cost no wait (see `WalkFromHere`'s `unreachable`). From the
 * next one on, each step waits at least {@link EMPTY_ADDRESS_BOOK_RETRY_MS}: nothing we know can
 * be reached, which is an empty address book for all a walk can do. Without this bound a node
 * whose only bootstrap it cannot dial (a loopback address while private addresses are not
 * allowed) ran about 500 failed sessions a second.
 */
export const FREE_UNREACHABLE_STEPS = 8;

/** Where the next walk step starts from (spec §4.3). */
export type WalkFromHere =
  | { readonly kind: "bootstrap" }
  | {
      readonly kind: "last-session";
      readonly result: DiscoveryResult;
      readonly newlyLearned: number;
      /**
       * Shared topics that were new for the remote: the session found a co-topic peer we did
       * not know as one. Such a step is productive whatever its success rate (p2panda-web's
       * addition: upstream backs off 1–5 s after it when the peer taught no new address, so a
       * tab met its second co-topic peer seconds after its first).
       */
      readonly newSharedTopics?: number;
    }
  | {
      readonly kind: "failed-session";
      readonly lastSuccessful?: DiscoveryResult | undefined;
      /**
       * The node could not be reached at all (no address, the dial failed): the walk moves on
       * without backing off, as no session took place. p2panda-web's addition: on a
       * long-running bootstrap a newcomer meets nodes that just left, and each used to cost
       * 1–5 s of backoff before the walker tried the next.
       */
      readonly unreachable?: boolean;
    };

/**
 * Share of the last step's transport infos that were new to us: 1 at bootstrap, 0 after a
 * failure. A result without any infos taught us nothing, so it counts as 0.
 */
export function successRate(from: WalkFromHere): number {
  switch (from.kind) {
    case "bootstrap":
      return 1;
    case "failed-session":
      return 0;
    case "last-session": {
      const total = from.result.transportInfos.size;
      return total === 0 ? 0 : from.newlyLearned / total;
    }
  }
}

/** What a {@link WalkerStep} asks its driver to do. */
export type WalkerStepOutput =
  /** (Re)arm this walker's timer; call `timerFired(token, …)` after `ms`. */
  | { readonly type: "wait"; readonly ms: number; readonly token: number }
  /** Run a discovery session with `remote`, then feed the outcome to `walkFrom`. */
  | { readonly type: "start-session"; readonly remote: NodeId }
  /** The address book had no node to walk to: call `timerFired(token, …)` after `ms` (2 s). */
  | { readonly type: "retry-later"; readonly ms: number; readonly token: number };

/** What a walk step reads from the address book. */
export interface AddressBookView {
  readonly allNodeIds: Iterable<NodeId>;
  readonly bootstrapIds: Iterable<NodeId>;
  /** Whether we finished a session with the node before (walks prefer nodes never met). */
  readonly met?: ((id: NodeId) => boolean) | undefined;
}

/** The phase a {@link WalkerStep} is in. */
export type WalkerPhase = "idle" | "waiting" | "in-session" | "retrying";

/**
 * One walker's loop (spec §4.3) as a state machine: back off after unproductive steps, ask the
 * {@link RandomWalker} for the next node when the wait is over, hand that node to the driver,
 * and take the session's outcome as the next starting point. A reset signal cuts a wait short
 * and starts over from the bootstrap nodes; one that arrives during a session is kept and
 * applied when the session ends (upstream drops it).
 *
 * p2panda-web's addition, an eager start: the k-th unproductive step in a row after a start
 * over or a productive step waits a random time drawn uniformly from [0, 2 × 250 ms × 2^(k−1))
 * (on average 0.25, 0.5, 1, 2 … s), or upstream's backoff if that is shorter. A node that
 * starts together with its co-topic peers (three tabs opened at once, whose first bootstrap
 * sessions each came before the others' addresses were there) asks again within a second
 * instead of after upstream's 1–5 s. From about the eighth such step on the upstream backoff
 * (+1–5 s per step) is the shorter and rules alone: the steady state is upstream's.
 *
 * The random draw matters: with a fixed 0.25 × 2^(k−1) s, nodes that started together stayed
 * in step, all asking the bootstraps in the same instant and being refused together. In the
 * discovery simulator (400 nodes started at once, 5 bootstraps with 16 accept slots each) the
 * median time until a node held every co-topic peer's address went from 9.7 s (upstream) to
 * 35 s with the fixed waits, and to 5.2 s with the random ones.
 */
export class WalkerStep {
  readonly walker: RandomWalker;
  readonly backoff: Backoff;
  readonly #rng: Rng;
  #phase: WalkerPhase = "idle";
  #from: WalkFromHere = { kind: "bootstrap" };
  #token = 0;
  #pendingReset = false;
  /** Unproductive steps in a row since the last start over or productive step. */
  #unproductive = 0;
  /** Steps in a row whose node could not be reached at all. */
  #unreachable = 0;

  constructor(walker: RandomWalker, backoff: Backoff, rng: Rng) {
    this.walker = walker;
    this.backoff = backoff;
    this.#rng = rng;
  }

  /** Where the step is: waiting to walk, in a session, or backing off. */
  get phase(): WalkerPhase {
    return this.#phase;
  }

  /**
   * Starts the next step from `from` (Bootstrap to begin; the last session's outcome after
   * that). Applies the backoff rule and returns how long to wait.
   *
   * `searching` (p2panda-web's addition): the node has a topic it knows no other member of yet.
   * A node finds the first member of a topic only by testing nodes one by one (a stranger hands
   * out nothing but itself and the bootstrap nodes), about N / k sessions for a topic of k
   * members among N nodes, and upstream's backoff (+1–5 s per unproductive step, up to 30 s)
   * made that minutes at N = 300. While searching, waits stay eager (at most
   * {@link SEARCH_MAX_DOUBLINGS} doublings, 1 s on average). The manager bounds how long.
   */
  walkFrom(from: WalkFromHere, searching = false): WalkerStepOutput {
    if (this.#pendingReset) {
      this.#pendingReset = false;
      from = { kind: "bootstrap" };
    }
    const unreachable = from.kind === "failed-session" && from.unreachable === true;
    this.#unreachable = unreachable ? this.#unreachable + 1 : 0;
    if (unreachable) {
      // The backoff stays where it is: neither a productive step nor an unproductive session.
    } else if (
      successRate(from) < SUCCESS_RATE_THRESHOLD &&
      !(from.kind === "last-session" && (from.newSharedTopics ?? 0) > 0)
    ) {
      this.backoff.increment();
      this.#unproductive++;
    } else {
      this.backoff.reset();
      this.#unproductive = 0;
    }
    if (from.kind === "bootstrap") this.#unproductive = 0;
    this.#from = from;
    this.#phase = "waiting";
    const doublings = Math.min(this.#unproductive - 1, searching ? SEARCH_MAX_DOUBLINGS : 30);
    const eager =
      this.#unproductive === 0
        ? Number.POSITIVE_INFINITY
        : Math.floor(2 * this.#rng.next() * EAGER_FIRST_WAIT_MS * 2 ** doublings);
    const floor = this.#unreachable > FREE_UNREACHABLE_STEPS ? EMPTY_ADDRESS_BOOK_RETRY_MS : 0;
    const wait =
      searching && this.#unproductive > 0 ? eager : Math.min(this.backoff.valueMs, eager);
    const ms = Math.max(floor, wait);
    return { type: "wait", ms, token: ++this.#token };
  }

  /**
   * The timer armed by the last `wait`/`retry-later` fired. Stale tokens (a timer replaced by
   * a reset) are ignored and return `undefined`.
   */
  timerFired(token: number, book: AddressBookView): WalkerStepOutput | undefined {
    if (token !== this.#token) return undefined;
    if (this.#phase === "retrying") return this.walkFrom({ kind: "bootstrap" });
    if (this.#phase !== "waiting") return undefined;
    const from = this.#from;
    const previous =
      from.kind === "last-session"
        ? from.result
        : from.kind === "failed-session"
          ? from.lastSuccessful
          : undefined;
    const next = this.walker.nextNode({
      previous,
      allNodeIds: book.allNodeIds,
      bootstrapIds: book.bootstrapIds,
      met: book.met,
    });
    if (next === undefined) {
      this.#phase = "retrying";
      return { type: "retry-later", ms: EMPTY_ADDRESS_BOOK_RETRY_MS, token: ++this.#token };
    }
    this.#phase = "in-session";
    return { type: "start-session", remote: next };
  }

  /** Reset signal: start over from the bootstrap nodes with no backoff. */
  resetSignal(): WalkerStepOutput | undefined {
    if (this.#phase === "in-session") {
      this.#pendingReset = true;
      return undefined;
    }
    if (this.#phase === "idle") return undefined;
    return this.walkFrom({ kind: "bootstrap" });
  }
}

/** Reset rule, topics: all walkers start over when our topic set gains a topic (not on removals). */
export function ownTopicsGained(previous: ReadonlySet<Topic>, next: ReadonlySet<Topic>): boolean {
  for (const t of next) if (!previous.has(t)) return true;
  return false;
}

/** Reset rule, transport info: all walkers start over when ours changes to a non-empty value. */
export function ownTransportInfoWarrantsReset(info: unknown): boolean {
  return info !== undefined && info !== null;
}

import type { NodeId } from "../ids/node-id.ts";
import type { Rng } from "../random.ts";

/** Default probability that a walk step starts over from a bootstrap node. */
export const DEFAULT_RESET_PROBABILITY = 0.02;

/** Options of {@link RandomWalker}. */
export interface RandomWalkerOptions {
  /** Probability of starting over on a step that could go on. Default 0.02; 0 = never. */
  resetProbability?: number;
}

/** What the walker needs to know from the address book for one step; the caller reads it. */
export interface WalkStepInput {
  /** The last session's result: its transport infos' node ids become walk candidates. */
  previous?: { readonly transportInfos: ReadonlyMap<NodeId, unknown> } | undefined;
  /** Every node id in the address book (read only when the walk starts over). */
  allNodeIds: Iterable<NodeId>;
  /** The bootstrap nodes in the address book (read only when the walk starts over). */
  bootstrapIds: Iterable<NodeId>;
  /**
   * Whether we finished a session with the node before (in any walk, either role). Walks
   * prefer nodes we never met (see {@link RandomWalker}); without it every node is new.
   */
  met?: ((id: NodeId) => boolean) | undefined;
}

/** Random draws a step makes looking for a node we never met before it takes any node. */
export const UNMET_DRAWS = 32;

/**
 * Peer sampling by random walk (spec §4.1): start from a random bootstrap node, then hop to a
 * random node not visited since the last start, learning candidates from every session's
 * result; start over when nothing is left, on the first step, or with a small probability.
 * Pure: no address book access, randomness injected. Never yields our own id.
 *
 * p2panda-web's addition: a step prefers a node we never had a session with. It draws up to
 * {@link UNMET_DRAWS} distinct candidates at random and takes the first one not met, else its
 * first, uniform pick. Upstream's walk picks uniformly, so after a start over it spends most steps on nodes it
 * has met already: in a topic of 16 tabs some tabs still did not know all others after 120 s,
 * because every session with a known co-topic peer teaches nothing and backs the walker off.
 */
export class RandomWalker {
  readonly #myNodeId: NodeId;
  readonly #rng: Rng;
  readonly #resetProbability: number;
  #visited = new Set<NodeId>();
  readonly #unvisited = new IndexedSet<NodeId>();

  constructor(myNodeId: NodeId, rng: Rng, options: RandomWalkerOptions = {}) {
    this.#myNodeId = myNodeId;
    this.#rng = rng;
    this.#resetProbability = options.resetProbability ?? DEFAULT_RESET_PROBABILITY;
  }

  /** Nodes visited since the walk last started over (including ourselves). */
  get visited(): ReadonlySet<NodeId> {
    return this.#visited;
  }

  /** Known nodes not visited yet in this walk. */
  get unvisited(): readonly NodeId[] {
    return this.#unvisited.items;
  }

  /**
   * The next node to run a discovery session with, or `undefined` when there is none (empty
   * address book, or we are our own only bootstrap node).
   */
  nextNode(input: WalkStepInput): NodeId | undefined {
    const previous = input.previous;
    if (previous !== undefined) {
      for (const id of previous.transportInfos.keys()) {
        if (!this.#visited.has(id) && id !== this.#myNodeId) this.#unvisited.add(id);
      }
    }
    const reset =
      previous === undefined ||
      this.#unvisited.size === 0 ||
      (this.#resetProbability > 0 && this.#rng.next() < this.#resetProbability);

    let chosen: NodeId | undefined;
    if (reset) {
      this.#unvisited.clear();
      for (const id of input.allNodeIds) if (id !== this.#myNodeId) this.#unvisited.add(id);
      this.#visited = new Set([this.#myNodeId]);
      chosen = this.#randomBootstrap(input.bootstrapIds);
    } else {
      chosen = this.#preferUnmet(input.met);
    }
    if (chosen !== undefined) {
      this.#visited.add(chosen);
      this.#unvisited.delete(chosen);
    }
    return chosen;
  }

  #preferUnmet(met: ((id: NodeId) => boolean) | undefined): NodeId | undefined {
    const first = this.#unvisited.random(this.#rng);
    if (met === undefined || first === undefined || !met(first)) return first;
    // Distinct draws (a partial Fisher–Yates over the set's order), so a set no larger than
    // UNMET_DRAWS is searched completely.
    const size = this.#unvisited.size;
    for (let i = 0; i < Math.min(UNMET_DRAWS, size); i++) {
      this.#unvisited.swap(i, i + this.#rng.int(size - i));
      const candidate = this.#unvisited.items[i] as NodeId;
      if (!met(candidate)) return candidate;
    }
    return first;
  }

  #randomBootstrap(bootstrapIds: Iterable<NodeId>): NodeId | undefined {
    const candidates: NodeId[] = [];
    let includesUs = false;
    for (const id of bootstrapIds) {
      if (id === this.#myNodeId) includesUs = true;
      else candidates.push(id);
    }
    if (candidates.length > 0) return candidates[this.#rng.int(candidates.length)];
    // We are our own only bootstrap node: give up rather than walk to ourselves.
    if (includesUs) return undefined;
    return this.#unvisited.random(this.#rng);
  }
}

/** A set with O(1) add, delete and uniform random pick. */
class IndexedSet<T> {
  readonly items: T[] = [];
  readonly #index = new Map<T, number>();

  get size(): number {
    return this.items.length;
  }

  add(item: T): void {
    if (this.#index.has(item)) return;
    this.#index.set(item, this.items.length);
    this.items.push(item);
  }

  delete(item: T): void {
    const i = this.#index.get(item);
    if (i === undefined) return;
    const last = this.items.pop() as T;
    this.#index.delete(item);
    if (i < this.items.length) {
      this.items[i] = last;
      this.#index.set(last, i);
    }
  }

  /** Swaps the items at positions `i` and `j` (the set's order is not part of its meaning). */
  swap(i: number, j: number): void {
    if (i === j) return;
    const a = this.items[i] as T;
    const b = this.items[j] as T;
    this.items[i] = b;
    this.items[j] = a;
    this.#index.set(b, i);
    this.#index.set(a, j);
  }

  clear(): void {
    this.items.length = 0;
    this.#index.clear();
  }

  random(rng: Rng): T | undefined {
    return this.items.length === 0 ? undefined : this.items[rng.int(this.items.length)];
  }
}

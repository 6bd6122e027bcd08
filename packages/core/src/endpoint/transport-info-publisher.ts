import type { Clock } from "../clock.ts";
import { HybridClock, HybridTimestamp } from "../hybrid-timestamp.ts";
import type { Identity } from "../identity/identity.ts";
import { createNodeInfo } from "../records/node-info.ts";
import { type AuthenticatedTransportInfo, signTransportInfo } from "../records/transport-info.ts";
import type { EndpointAddressBook } from "./endpoint-options.ts";

/** What a {@link TransportInfoPublisher} works with. */
export interface TransportInfoPublisherInit {
  /** Signs the infos; its node id is whose info it is. */
  readonly identity: Identity;
  /** Where the info is stored (and where an earlier run's info is read from). */
  readonly addressBook: Pick<EndpointAddressBook, "nodeInfo" | "insertNodeInfo">;
  /** Wall clock of the hybrid clock that stamps the infos. */
  readonly clock: Clock;
  /** The addresses to advertise, read when a publication runs. */
  readonly addresses: () => string[];
  /** Called after each info is signed and stored. */
  readonly onPublished?: (info: AuthenticatedTransportInfo) => void;
}

/**
 * Keeps our signed transport info in step with the addresses we advertise: each
 * {@link addressesMaybeChanged} queues a publication after the ones before it, and one that finds
 * the same address set as the last published does nothing. The timestamp increments from the
 * newest of ours it knows (the stored one may come from an earlier run), so our newest info
 * always wins last-write-wins elsewhere.
 */
export class TransportInfoPublisher {
  readonly #init: TransportInfoPublisherInit;
  readonly #hybridClock: HybridClock;
  #current: AuthenticatedTransportInfo | undefined;
  #publishedKey: string | undefined;
  #publishing: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(init: TransportInfoPublisherInit) {
    this.#init = init;
    this.#hybridClock = new HybridClock(init.clock);
  }

  /** Our latest signed transport info. */
  get current(): AuthenticatedTransportInfo | undefined {
    return this.#current;
  }

  /** Settles when every queued publication has run (a failed one is dropped, not thrown). */
  get settled(): Promise<void> {
    return this.#publishing;
  }

  /** Queues a publication of the current addresses. */
  addressesMaybeChanged(): void {
    if (this.#stopped) return;
    this.#publishing = this.#publishing.then(() => this.#publish()).catch(() => {});
  }

  /** No publication starts after this; wait for {@link settled} for one already running. */
  stop(): void {
    this.#stopped = true;
  }

  async #publish(): Promise<void> {
    if (this.#stopped) return;
    const { identity, addressBook } = this.#init;
    const addresses = this.#init.addresses();
    const key = [...addresses].sort().join(" ");
    if (key === this.#publishedKey) return;
    // Losing every address (a tab's relay reservation ends as it closes or reconnects) is not
    // published: a newer empty info would replace the addresses others hold for us everywhere
    // it travels, and they would know us by id only. The next non-empty set is published.
    if (addresses.length === 0 && (this.#current?.addresses.length ?? 0) > 0) return;
    const stored = addressBook.nodeInfo(identity.nodeId);
    let previous = this.#current?.timestamp ?? HybridTimestamp.ZERO;
    if (
      stored?.transports?.kind === "authenticated" &&
      stored.transports.timestamp.isAfter(previous)
    ) {
      previous = stored.transports.timestamp;
    }
    const info = await signTransportInfo(
      identity,
      this.#hybridClock.increment(previous),
      addresses,
    );
    const current = addressBook.nodeInfo(identity.nodeId) ?? createNodeInfo(identity.nodeId);
    await addressBook.insertNodeInfo({ ...current, transports: info });
    this.#current = info;
    this.#publishedKey = key;
    this.#init.onPublished?.(info);
  }
}

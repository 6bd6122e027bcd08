// What the page exposes on `window.p2panda` once its node runs: for the e2e tests, benchmarks
// and anyone poking around in the devtools console.
import type { AddressBook } from "@p2panda-web/address-book";
import type { Identity, LifecycleRecovery, NodeId, Topic } from "@p2panda-web/core";
import type { DiscoveryService } from "@p2panda-web/core/discovery";
import type { Endpoint } from "@p2panda-web/core/endpoint";
import type { GossipHandle, GossipService } from "@p2panda-web/core/gossip";
import type { SyncHandle, SyncService } from "@p2panda-web/core/sync";
import type { BrowserRoomNode, SharedRoom } from "@p2panda-web/presets";
import type * as catchUp from "./catch-up.ts";
import type * as diagnostics from "./diagnostics.ts";
import type { Milestones } from "./milestones.ts";

export interface DemoHook {
  readonly identity: Identity;
  readonly endpoint: Endpoint;
  readonly addressBook: AddressBook;
  /** Confidential topic discovery: walkers, sessions, metrics. */
  readonly discovery: DiscoveryService;
  /** Gossip on the topic: overlay neighbours, presence and the ephemeral chat. */
  readonly gossip: GossipService;
  readonly gossipHandle: GossipHandle;
  /** Sync of the chat's signed logs (IndexedDB of this identity slot). */
  readonly sync: SyncService;
  readonly chat: SyncHandle;
  /** Lifecycle recovery: pauses, resumes and bootstrap reconnects (`events$`). */
  readonly lifecycle: LifecycleRecovery;
  /** The topic this tab takes part in (`?topic=<name>`). */
  readonly topic: Topic;
  /** Identity slot held by this tab (see identity-slot.ts); `undefined` = throwaway identity. */
  readonly slot: number | undefined;
  /** Bootstrap multiaddrs the page was given. */
  readonly bootstrap: readonly string[];
  /** Echo/sink protocols and measurements (diagnostics.ts). */
  readonly diagnostics: typeof diagnostics;
  /** A log catch-up between two tabs into fresh IndexedDB databases (catch-up.ts). */
  readonly catchUp: typeof catchUp;
  /** When this page first reached each step towards its data (milestones.ts). */
  readonly milestones: Milestones;
  /** Our latest signed transport info, CBOR as hex (hand it to another node's `importTransportInfo`). */
  exportTransportInfo(): string | undefined;
  /**
   * Stores another node's signed transport info (from its `exportTransportInfo`) in the address
   * book, after verifying it, so `endpoint.connect` can dial it. Resolves to whether it was newer.
   */
  importTransportInfo(nodeId: NodeId, hex: string): Promise<boolean>;
}

/** How this tab takes part: its own node, or the shared one (as its leader or a follower). */
export interface DemoTabHook {
  readonly mode: "shared" | "per-tab";
  readonly role: "leader" | "follower";
  /** The node's id (in a follower: the leader's). */
  readonly nodeId: string;
  /** When this tab was elected leader (ms since the epoch; shared mode, after a takeover too). */
  readonly electedAt?: number;
  /** When its node ran and its room was open. */
  readonly runningAt?: number;
  /** When its node first held a relay reservation (reachable by other tabs again). */
  readonly reservedAt?: number;
}

declare global {
  interface Window {
    /** The node this tab runs (not in a follower tab). */
    p2panda?: DemoHook;
    /** The mode and role of this tab. */
    p2pandaTab?: DemoTabHook;
    /** The shared room (shared mode). */
    sharedRoom?: SharedRoom<BrowserRoomNode>;
  }
}

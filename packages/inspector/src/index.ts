/**
 * @p2panda-web/inspector: `<p2panda-inspector>`, a panel that shows a node's addresses,
 * connections, address book, discovery sessions, gossip overlays, sync sessions and errors,
 * live. Importing this module costs nothing: the element and its rendering load on the first
 * call of {@link defineInspector} or {@link showInspector}.
 *
 * ```ts
 * const { showInspector } = await import("@p2panda-web/inspector");
 * await showInspector(node); // appended to document.body
 * ```
 * @packageDocumentation
 */
import type { InspectedNode } from "./inspected-node.ts";
import type { P2pandaInspectorElement } from "./inspector-element.ts";
import type { MessageOrigin } from "./inspector-state.ts";
import type { InspectorLimits } from "./limits.ts";

export type { InspectorExport } from "./event-json.ts";
export type {
  InspectedAddressBook,
  InspectedDiscovery,
  InspectedEndpoint,
  InspectedGossip,
  InspectedNode,
  InspectedSync,
} from "./inspected-node.ts";
export type { InspectorRenderStats, P2pandaInspectorElement } from "./inspector-element.ts";
export type { MessageOrigin } from "./inspector-state.ts";
export { DEFAULT_INSPECTOR_LIMITS, type InspectorLimits } from "./limits.ts";

/** The tag {@link defineInspector} registers by default. */
export const INSPECTOR_TAG = "p2panda-inspector";

/**
 * Loads the element and registers it as `tag` (once; later calls return the same class).
 * Resolves to the element class.
 */
export async function defineInspector(
  tag: string = INSPECTOR_TAG,
): Promise<typeof P2pandaInspectorElement> {
  const loaded = await import("./inspector-element.ts");
  const defined = customElements.get(tag);
  if (defined !== undefined) return defined as typeof P2pandaInspectorElement;
  customElements.define(tag, loaded.P2pandaInspectorElement);
  return loaded.P2pandaInspectorElement;
}

/** Options of {@link showInspector}. */
export interface ShowInspectorOptions {
  /** Where the inspector is appended. Default `document.body`. */
  readonly container?: Element;
  /** How much of each list is kept (defaults in `DEFAULT_INSPECTOR_LIMITS`). */
  readonly limits?: Partial<InspectorLimits>;
  /**
   * Reads a gossip message's author from its content (gossip carries none): the gossip
   * section then starts each message's path at its origin. The app's claim, unsigned.
   */
  readonly messageOrigin?: MessageOrigin;
}

/**
 * Shows `node` in a new `<p2panda-inspector>` appended to `options.container`. Remove the
 * element to stop it (it unsubscribes from the node when taken out of the document).
 */
export async function showInspector(
  node: InspectedNode,
  options: ShowInspectorOptions = {},
): Promise<P2pandaInspectorElement> {
  await defineInspector();
  const element = document.createElement(INSPECTOR_TAG) as P2pandaInspectorElement;
  if (options.limits !== undefined) element.limits = options.limits;
  if (options.messageOrigin !== undefined) element.messageOrigin = options.messageOrigin;
  element.node = node;
  (options.container ?? document.body).append(element);
  return element;
}

// The "Inspector" button: opens @p2panda-web/inspector on this tab's node in a drawer. The
// package is imported on the first click only, so the page pays nothing for it until then.
import type { InspectedNode, ShowInspectorOptions } from "@p2panda-web/inspector";

/**
 * Wires `button` to show `node` in `host`, toggling the drawer on later clicks; `options` go to
 * `showInspector` (e.g. how to read a gossip message's author).
 */
export function wireInspectorButton(
  button: HTMLButtonElement,
  host: HTMLElement,
  node: InspectedNode,
  options: Omit<ShowInspectorOptions, "container"> = {},
): void {
  let opened: Promise<unknown> | undefined;
  button.disabled = false;
  button.addEventListener("click", () => {
    const open = host.hidden;
    host.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
    if (open && opened === undefined) {
      opened = import("@p2panda-web/inspector")
        .then(({ showInspector }) => showInspector(node, { ...options, container: host }))
        .catch((error: unknown) => {
          opened = undefined;
          host.textContent = `inspector failed to load: ${String(error)}`;
        });
    }
  });
}

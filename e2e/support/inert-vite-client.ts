// Vite's dev client, made inert for pages that go away and come back.
import type { BrowserContext } from "@playwright/test";

/**
 * What a page that must live through a freeze or the back/forward cache gets instead of Vite's
 * dev client (route `/@vite/client` to it). That client reloads the page once its HMR socket
 * drops, which it does across a freeze: the reload, not the node, would then catch up; and its
 * open WebSocket keeps a page out of the bfcache. A deployed app has no such client. The exports
 * are the ones transformed modules import.
 */
export const INERT_VITE_CLIENT = `
export function createHotContext() {
  const none = () => {};
  return { data: {}, accept: none, dispose: none, prune: none, decline: none, invalidate: none, on: none, off: none, send: none };
}
export function updateStyle(id, css) {
  const style = document.createElement("style");
  style.dataset.viteDevId = id;
  style.textContent = css;
  document.head.append(style);
}
export function removeStyle() {}
export function injectQuery(url) { return url; }
export class ErrorOverlay extends HTMLElement {}
`;

/** Serves {@link INERT_VITE_CLIENT} instead of Vite's dev client to every page of `context`. */
export async function routeInertViteClient(context: BrowserContext): Promise<void> {
  await context.route(/\/@vite\/client$/, (route) =>
    route.fulfill({ contentType: "text/javascript", body: INERT_VITE_CLIENT }),
  );
}

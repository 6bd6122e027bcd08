import type { PageSignal } from "./page-lifecycle.ts";

/**
 * Where lifecycle recovery hears about the page: the browser's events, or a test's hand. An
 * injected seam, so that the decisions ({@link PageLifecycle}) never touch the DOM.
 */
export interface PageSignals {
  /** Whether the network is up now (`navigator.onLine`): a node created offline starts paused. */
  readonly online: boolean;
  /** Calls `listener` with every signal from now on; returns the function that stops it. */
  subscribe(listener: (signal: PageSignal) => void): () => void;
}

/** The window and document a browser page signals through (`globalThis` in a page). */
export interface PageEventTargets {
  readonly window: Pick<Window, "addEventListener" | "removeEventListener">;
  readonly document: Pick<Document, "addEventListener" | "removeEventListener" | "visibilityState">;
  readonly navigator?: { readonly onLine?: boolean };
}

/**
 * The page's own signals: `online`/`offline` and `pagehide`/`pageshow` on window,
 * `visibilitychange` and `freeze`/`resume` (Chromium's Page Lifecycle API) on document.
 * Returns `undefined` outside a page (Node.js, a worker).
 */
export function browserPageSignals(targets?: PageEventTargets): PageSignals | undefined {
  const scope = globalThis as Partial<typeof globalThis>;
  const page =
    targets ??
    (scope.window !== undefined && scope.document !== undefined
      ? { window: scope.window, document: scope.document, navigator: scope.navigator }
      : undefined);
  if (page === undefined) return undefined;
  return {
    get online() {
      return page.navigator?.onLine !== false;
    },
    subscribe(listener) {
      const on: [
        Pick<EventTarget, "addEventListener" | "removeEventListener">,
        string,
        (e: Event) => void,
      ][] = [
        [page.window, "offline", () => listener({ type: "offline" })],
        [page.window, "online", () => listener({ type: "online" })],
        [
          page.window,
          "pagehide",
          (e) => listener({ type: "pagehide", persisted: (e as PageTransitionEvent).persisted }),
        ],
        [
          page.window,
          "pageshow",
          (e) => listener({ type: "pageshow", persisted: (e as PageTransitionEvent).persisted }),
        ],
        [
          page.document,
          "visibilitychange",
          () =>
            listener({ type: page.document.visibilityState === "hidden" ? "hidden" : "visible" }),
        ],
        [page.document, "freeze", () => listener({ type: "frozen" })],
        [page.document, "resume", () => listener({ type: "resumed" })],
      ];
      for (const [target, type, handler] of on) target.addEventListener(type, handler);
      return () => {
        for (const [target, type, handler] of on) target.removeEventListener(type, handler);
      };
    },
  };
}

/** Signals a test or an app sends by hand (`emit`), e.g. from its own network monitor. */
export class ManualPageSignals implements PageSignals {
  online: boolean;
  readonly #listeners = new Set<(signal: PageSignal) => void>();

  constructor(initial: { online?: boolean } = {}) {
    this.online = initial.online ?? true;
  }

  subscribe(listener: (signal: PageSignal) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Sends `signal` to every listener (and tracks `online`). */
  emit(signal: PageSignal): void {
    if (signal.type === "offline") this.online = false;
    if (signal.type === "online") this.online = true;
    for (const listener of [...this.#listeners]) listener(signal);
  }
}

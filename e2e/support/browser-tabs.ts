// Demo tabs in either browser (Chromium through Playwright, Firefox through puppeteer-core), behind
// the little both drivers share (`evaluate`), for the multi-browser test and the Chromium ↔ Firefox
// benchmark. Each tab is a browser context of its own (own storage, own identity) and records its
// WebRTC activity from the first script on (see RTC_RECORDER), so a slow connection can be
// explained afterwards.
import type { Browser as PlaywrightBrowser } from "playwright";
import type { Browser as PuppeteerBrowser } from "puppeteer-core";
import type {} from "../../demo/test-hook.ts";

export type BrowserName = "chromium" | "firefox";

/** One line of a tab's WebRTC record: a wall-clock time (ms since the epoch) and what happened. */
export interface RtcLogLine {
  readonly at: number;
  readonly what: string;
}

/** What {@link MeasuredTab.watchPeer} saw. */
export interface PeerWatch {
  /** When the peer was first in this tab's address book (ms since the epoch). */
  readonly knownAt: number | undefined;
  /** When this tab first had a direct WebRTC connection to the peer. */
  readonly directAt: number | undefined;
  /** The endpoint's counters at the end. */
  readonly metrics: Record<string, number>;
  /** The tab's WebRTC record (peer connections, candidates, state changes). */
  readonly log: RtcLogLine[];
  /** The tab's open connections at the end (with their peer connection's state). */
  readonly connections: string[];
}

/** A demo tab whose node runs. */
export interface MeasuredTab {
  readonly browser: BrowserName;
  readonly nodeId: string;
  /** Runs `fn(arg)` in the page. */
  evaluate<A, R>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
  /**
   * Uncaught errors and `console.error` lines of the page so far (not failed WebSocket dials,
   * which are normal when a known node has gone; see tabs.ts's `collectPageErrors`).
   */
  readonly errors: string[];
  /** Reloads the page and waits until its node runs again. */
  reload(): Promise<void>;
  /** Watches until this tab has a direct WebRTC connection to `peer`, or `timeoutMs` passed. */
  watchPeer(peer: string, timeoutMs: number): Promise<PeerWatch>;
  close(): Promise<void>;
}

declare global {
  interface Window {
    __rtcLog?: RtcLogLine[];
  }
}

/**
 * Runs before the page's scripts: wraps `RTCPeerConnection` so that every peer connection's
 * candidates (gathered and received) and state changes land in `window.__rtcLog`.
 */
function RTC_RECORDER(): void {
  const log: RtcLogLine[] = [];
  window.__rtcLog = log;
  const Original = window.RTCPeerConnection;
  if (Original === undefined) return;
  let count = 0;
  const note = (id: number, what: string): void => {
    log.push({ at: Date.now(), what: `pc${id} ${what}` });
  };
  class Recorded extends Original {
    constructor(config?: RTCConfiguration) {
      super(config);
      const id = ++count;
      note(id, "created");
      this.addEventListener("icecandidate", (e) => {
        note(id, `local ${e.candidate?.candidate || "(end)"}`);
      });
      this.addEventListener("iceconnectionstatechange", () => {
        note(id, `ice ${this.iceConnectionState}`);
      });
      this.addEventListener("connectionstatechange", () => {
        note(id, `connection ${this.connectionState}`);
        if (this.connectionState !== "connected") return;
        // Which candidates carried it: host, srflx, prflx (learnt from a check) or relay.
        this.getStats()
          .then((report) => {
            const stats = [...report.values()] as Array<Record<string, unknown>>;
            const pair = stats.find(
              (s) => s.type === "candidate-pair" && (s.selected === true || s.nominated === true),
            );
            const side = (key: string): string => {
              const c = stats.find((s) => s.id === pair?.[key]);
              return `${c?.candidateType}/${c?.protocol} ${c?.address ?? c?.ip}:${c?.port}`;
            };
            note(id, `pair local ${side("localCandidateId")} remote ${side("remoteCandidateId")}`);
          })
          .catch(() => {});
      });
      this.addEventListener("signalingstatechange", () => {
        note(id, `signaling ${this.signalingState}`);
      });
      const add = this.addIceCandidate.bind(this);
      this.addIceCandidate = (candidate?: RTCIceCandidateInit | null) => {
        note(id, `remote ${candidate?.candidate ?? "(null)"}`);
        return add(candidate ?? undefined).catch((error: unknown) => {
          note(id, `addIceCandidate failed: ${String(error)}`);
          throw error;
        });
      };
    }
  }
  window.RTCPeerConnection = Recorded;
}

/**
 * Runs in the page once its node runs: adds the endpoint's side to `window.__rtcLog` — which
 * protocol asked for a connection and to whom, libp2p's dial progress (relay circuit, signalling
 * stream, offer, answer, candidates), how each dial ended, and connections opening and closing —
 * so a slow set-up shows where its time went before the first peer connection too.
 */
function ENDPOINT_RECORDER(): void {
  const p = window.p2panda;
  const log = window.__rtcLog;
  if (p === undefined || log === undefined) return;
  const note = (what: string): void => {
    log.push({ at: Date.now(), what });
  };
  const short = (id: unknown): string => String(id).slice(-8);
  const endpoint = p.endpoint as unknown as {
    connect: (...args: unknown[]) => Promise<unknown>;
    dial: (...args: unknown[]) => Promise<unknown>;
  };
  const connect = endpoint.connect.bind(endpoint);
  endpoint.connect = (remote, protocol, ...rest) => {
    const open = p.endpoint.isConnected?.(remote as never) ?? false;
    if (!open) note(`connect ${short(remote)} for ${String(protocol)}`);
    return connect(remote, protocol, ...rest);
  };
  const dialNode = endpoint.dial.bind(endpoint);
  endpoint.dial = (remote, ...rest) => {
    note(`endpoint.dial ${short(remote)}`);
    return dialNode(remote, ...rest);
  };
  const libp2p = p.endpoint.libp2p as unknown as {
    dial: (
      ma: unknown,
      options?: { onProgress?: (e: { type: string; detail?: unknown }) => void },
    ) => Promise<unknown>;
  };
  const dial = libp2p.dial.bind(libp2p);
  let dials = 0;
  libp2p.dial = (ma, options = {}) => {
    const id = ++dials;
    const target = Array.isArray(ma) ? ma.map(String) : [String(ma)];
    note(`dial${id} start ${target.map((t) => t.slice(-40)).join(" ")}`);
    const progress = options.onProgress;
    return dial(ma, {
      ...options,
      onProgress: (event) => {
        if (event.type !== "webrtc:add-ice-candidate") note(`dial${id} ${event.type}`);
        progress?.(event);
      },
    }).then(
      (connection) => {
        note(`dial${id} done`);
        return connection;
      },
      (error: unknown) => {
        const e = error as { name?: string; message?: string; errors?: unknown[] };
        const inner = (e.errors ?? []).map((x) => String((x as Error).message ?? x)).join("; ");
        note(`dial${id} failed ${e.name}: ${e.message}${inner === "" ? "" : ` (${inner})`}`);
        throw error;
      },
    );
  };
  p.endpoint.events$.subscribe((event) => {
    if (
      event.type === "endpoint:connection-opened" ||
      event.type === "endpoint:connection-closed"
    ) {
      const e = event as { remote: string; transport: string; limited: boolean; direction: string };
      note(
        `${event.type.slice("endpoint:".length)} ${short(e.remote)} ${e.transport} ${e.direction}${e.limited ? " limited" : ""}`,
      );
    } else if (event.type === "endpoint:dial-failed") {
      const e = event as { remote: string; code: string; message: string };
      note(`dial-failed ${short(e.remote)} ${e.code} ${e.message.slice(0, 160)}`);
    }
  });
}

/**
 * Opens the demo at `url` in a new browser context of `name` and waits until its node runs.
 */
export async function openMeasuredTab(
  name: BrowserName,
  browsers: { chromium?: PlaywrightBrowser; firefox?: PuppeteerBrowser },
  url: string,
  timeoutMs = 90_000,
): Promise<MeasuredTab> {
  let evaluate: MeasuredTab["evaluate"];
  let close: () => Promise<void>;
  let reload: () => Promise<unknown>;
  const errors: string[] = [];
  const onConsole = (type: string, text: string): void => {
    if (type === "error" && !/^WebSocket connection to '.*' failed/.test(text)) errors.push(text);
  };
  if (name === "chromium") {
    if (browsers.chromium === undefined) throw new Error("no Chromium given");
    const context = await browsers.chromium.newContext();
    await context.addInitScript(RTC_RECORDER);
    const page = await context.newPage();
    page.on("pageerror", (error) => errors.push(error.message));
    page.on("console", (message) => onConsole(message.type(), message.text()));
    await page.goto(url);
    evaluate = (fn, arg) => page.evaluate(fn as never, arg) as never;
    close = () => context.close();
    reload = () => page.reload();
  } else {
    if (browsers.firefox === undefined) throw new Error("no Firefox given");
    const context = await browsers.firefox.createBrowserContext();
    const page = await context.newPage();
    page.on("pageerror", (error) =>
      errors.push(error instanceof Error ? error.message : String(error)),
    );
    page.on("console", (message) => onConsole(message.type(), message.text()));
    await page.evaluateOnNewDocument(RTC_RECORDER);
    await page.goto(url);
    evaluate = (fn, arg) => page.evaluate(fn as never, arg) as never;
    close = () => context.close();
    reload = () => page.reload();
  }
  const nodeRuns = async (): Promise<void> => {
    const state = await evaluate(
      (ms) =>
        new Promise<string>((resolve) => {
          const started = Date.now();
          const check = (): void => {
            if (window.p2panda !== undefined) resolve("running");
            else if (document.body.dataset.state === "failed") {
              resolve(`failed: ${document.querySelector('[data-testid="status"]')?.textContent}`);
            } else if (Date.now() - started > ms) resolve("timeout");
            else setTimeout(check, 50);
          };
          check();
        }),
      timeoutMs,
    );
    if (state !== "running") throw new Error(`${name}: demo node did not start (${state})`);
  };
  try {
    await nodeRuns();
  } catch (error) {
    await close().catch(() => {});
    throw error;
  }
  const nodeId = await evaluate(() => window.p2panda!.identity.nodeId as string, undefined);
  await evaluate(ENDPOINT_RECORDER, undefined);
  return {
    browser: name,
    nodeId,
    evaluate,
    close,
    errors,
    reload: async () => {
      await reload();
      await nodeRuns();
    },
    watchPeer: (peer, ms) =>
      evaluate(
        ([peerId, limit]) =>
          new Promise<PeerWatch>((resolve) => {
            const p = window.p2panda!;
            const started = Date.now();
            let knownAt: number | undefined;
            let directAt: number | undefined;
            const check = (): void => {
              const now = Date.now();
              if (knownAt === undefined && p.addressBook.nodeInfo(peerId as never) !== undefined) {
                knownAt = now;
              }
              // Only a WebRTC connection whose peer connection is connected (libp2p's private
              // `maConn.peerConnection`): a phantom one (docs/browsers.md) does not count.
              const connected = new Set(
                p.endpoint.libp2p
                  .getConnections()
                  .filter(
                    (c) =>
                      (c as unknown as { maConn?: { peerConnection?: RTCPeerConnection } }).maConn
                        ?.peerConnection?.connectionState === "connected",
                  )
                  .map((c) => c.remoteAddr.toString()),
              );
              const direct = p.endpoint
                .connections()
                .some(
                  (c) =>
                    c.remote === peerId &&
                    c.transport === "webrtc" &&
                    !c.limited &&
                    connected.has(c.remoteAddress),
                );
              if (direct) directAt = now;
              if (direct || now - started > limit) {
                resolve({
                  knownAt,
                  directAt,
                  metrics: { ...p.endpoint.metrics } as unknown as Record<string, number>,
                  log: [...(window.__rtcLog ?? [])],
                  // With the state of the peer connection under each WebRTC one (libp2p's
                  // private `maConn.peerConnection`): "connected" unless it is a phantom.
                  connections: p.endpoint.libp2p.getConnections().map((c) => {
                    const pc = (c as unknown as { maConn?: { peerConnection?: RTCPeerConnection } })
                      .maConn?.peerConnection;
                    const state = pc === undefined ? "" : ` pc=${pc.connectionState}`;
                    return `${c.remotePeer.toString().slice(-8)} ${c.remoteAddr.toString().includes("/webrtc") ? "webrtc" : "other"} limited=${c.limits !== undefined}${state}`;
                  }),
                });
              } else setTimeout(check, 10);
            };
            check();
          }),
        [peer, ms] as const,
      ),
  };
}

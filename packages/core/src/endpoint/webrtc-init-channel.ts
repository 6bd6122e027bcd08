// The "init" data channel of a tab-to-tab WebRTC set-up, kept from hanging the dialler.
//
// @libp2p/webrtc's dialler creates a data channel labelled "init" before its offer, and once
// its peer connection reports "connected" it waits for that channel's "open" event, closes it
// and waits for its "close" event. The answering side closes the channel the moment it arrives.
// Traced in the soak (libp2p's webrtc trace logs of every tab on one clock): when the dialling
// tab's page learns of "connected" only after the channel opened and was closed again by the
// answerer (its main thread busy with another connection's streams), it waits for an "open" that
// never comes, while the answerer already holds the connection as open. The set-up then ends at
// the stall guard (and is dialled again) or, on the last attempt, at the address timeout (3 s then);
// those were the soak's slow rounds. Here such a channel answers the wait the way it would have
// if the page had been quicker: it reads "open" until the dialler closes it, and a close of an
// already closed channel is followed by its "close" event.

/** The part of an RTCDataChannel this needs. */
export interface InitChannel extends EventTarget {
  readonly label: string;
  readonly readyState: string;
  close(): void;
}

/** Marks a channel prototype's `createDataChannel` as wrapped (once per realm). */
const WRAPPED = Symbol.for("p2panda-web.webrtc-init-channel");

/**
 * Watches one "init" channel (see the file comment). Until the dialler calls `close()`, a channel
 * that the remote closed reads as "open", and one that closed without having opened fires a
 * synthetic "open" first; `close()` on a channel the remote has closed already fires "close"
 * again a turn later, for the dialler that waits for it.
 */
export function guardInitChannel(channel: InitChannel): void {
  const readyState = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(channel), "readyState");
  const realState = (): string =>
    readyState?.get !== undefined ? String(readyState.get.call(channel)) : "open";
  const close = channel.close.bind(channel);
  let opened = false;
  let closedByUs = false;
  channel.addEventListener("open", () => {
    opened = true;
  });
  channel.addEventListener("close", () => {
    if (opened || closedByUs) return;
    opened = true;
    channel.dispatchEvent(new Event("open"));
  });
  Object.defineProperty(channel, "readyState", {
    configurable: true,
    get: () => {
      const state = realState();
      return !closedByUs && (state === "closing" || state === "closed") ? "open" : state;
    },
  });
  Object.defineProperty(channel, "close", {
    configurable: true,
    value: () => {
      closedByUs = true;
      if (realState() === "closed") {
        setTimeout(() => channel.dispatchEvent(new Event("close")), 0);
        return;
      }
      close();
    },
  });
}

/**
 * Makes every data channel labelled "init" that `peerConnection` (a class, e.g. the page's
 * `RTCPeerConnection`) creates from now on a guarded one ({@link guardInitChannel}). Channels
 * with other labels are untouched. Idempotent.
 */
export function guardInitChannels(peerConnection: {
  readonly prototype: { createDataChannel(label: string, options?: unknown): InitChannel };
}): void {
  const proto = peerConnection.prototype as {
    createDataChannel(label: string, options?: unknown): InitChannel;
    [WRAPPED]?: true;
  };
  if (proto[WRAPPED] === true) return;
  const create = proto.createDataChannel;
  proto.createDataChannel = function (this: unknown, label: string, options?: unknown) {
    const channel = create.call(this, label, options);
    if (label === "init") guardInitChannel(channel);
    return channel;
  };
  Object.defineProperty(proto, WRAPPED, { value: true });
}

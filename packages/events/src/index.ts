/**
 * @p2panda-web/events: the shared shape of events and the hot RxJS streams that carry them.
 * @module @p2panda-web/events
 */
export * from "./event.ts";
export * from "./event-stream.ts";

/** The channel between the tabs of one shared node: a `BroadcastChannel`, or a stand-in in tests. */
export interface TabChannel {
  /** Sends `message` to every other tab on the channel (not to this one). */
  post(message: unknown): void;
  /** Calls `listener` with every message another tab posts (not yet validated). */
  listen(listener: (data: unknown) => void): void;
  /** Leaves the channel: nothing is sent or heard any more. */
  close(): void;
}

/** A {@link TabChannel} over the `BroadcastChannel` named `name` (every tab and worker of the origin). */
export function broadcastTabChannel(name: string): TabChannel {
  const channel = new BroadcastChannel(name);
  return {
    post: (message) => channel.postMessage(message),
    listen: (listener) => {
      channel.onmessage = (event: MessageEvent) => listener(event.data);
      // A message that cannot be deserialized here is dropped, like one that does not parse.
      channel.onmessageerror = () => {};
    },
    close: () => channel.close(),
  };
}

// The README's one-call start as a page: `joinTopic` with `?topic=<name>`, `?namespace=<app>`,
// `?tabs=per-tab` (default: the tabs of the browser share one node) and the demo's bootstrap
// (`?bootstrap=` or `/bootstrap.json`). Publish and append from the form;
// e2e/join-topic.spec.ts drives it through `window.room`.
import { type BrowserRoomNode, joinTopic, type Room, type SharedRoom } from "@p2panda-web/presets";
import { bootstrapAddresses } from "./bootstrap-config.ts";

declare global {
  interface Window {
    /** The page's room, once joined. */
    room?: Room<BrowserRoomNode> | SharedRoom<BrowserRoomNode>;
  }
}

function element<T extends HTMLElement = HTMLElement>(testId: string): T {
  const found = document.querySelector<T>(`[data-testid="${testId}"]`);
  if (found === null) throw new Error(`join-topic.html lacks [data-testid="${testId}"]`);
  return found;
}

function show(list: string, text: string): void {
  const item = document.createElement("li");
  item.textContent = text;
  element(list).append(item);
}

async function main(): Promise<void> {
  const query = new URLSearchParams(location.search);
  const options = {
    topic: query.get("topic") ?? "p2panda-web joinTopic",
    namespace: query.get("namespace") ?? "join-topic-page",
    bootstrap: await bootstrapAddresses(),
    // The demo's bootstrap runs on this machine or the LAN.
    endpoint: { allowPrivateAddresses: true },
  };
  const room =
    query.get("tabs") === "per-tab"
      ? await joinTopic({ ...options, tabs: "per-tab" })
      : await joinTopic(options);
  element("node-id").textContent = room.nodeId;
  room.peers$.subscribe((peers) => {
    element("peers").textContent = String(peers.size);
  });
  room.messages$.subscribe((m) => show("messages", m.text()));
  for (const entry of await room.log.history()) show("log", entry.text());
  room.log.operations$.subscribe((entry) => show("log", entry.text()));

  const input = element<HTMLInputElement>("input");
  element("send").addEventListener("submit", (event) => {
    event.preventDefault();
    room.publish(input.value).catch((error: unknown) => console.warn(error));
  });
  element("append").addEventListener("click", () => {
    room.log.append(input.value).catch((error: unknown) => console.warn(error));
  });
  window.room = room;
  document.body.dataset.state = "running";
}

main().catch((error: unknown) => {
  document.body.dataset.state = "failed";
  console.error(error);
});

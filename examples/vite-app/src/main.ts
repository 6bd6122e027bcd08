// A plain Vite app on the published packages: it gossips ephemeral lines and appends to a
// synced log on one topic, with everyone else who opens it with the same `?topic=`.
// `?bootstrap=<multiaddr>` (repeatable) names the bootstrap nodes to enter the network through.
import { joinTopic } from "@p2panda-web/presets";

const params = new URLSearchParams(location.search);

const gossipLines = byTestId("gossip-lines");
const logEntries = byTestId("log-entries");
const text = byTestId<HTMLInputElement>("text");

function byTestId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.querySelector<T>(`[data-testid="${id}"]`);
  if (element === null) throw new Error(`index.html has no ${id}`);
  return element;
}

function line(list: HTMLElement, testId: string, content: string): void {
  const item = document.createElement("li");
  item.dataset.testid = testId;
  item.textContent = content;
  list.append(item);
}

const room = await joinTopic({
  topic: params.get("topic") ?? "p2panda-web vite example",
  bootstrap: params.getAll("bootstrap"),
  // Each load is a new peer with nothing kept, so every test run starts clean.
  identity: "ephemeral",
  // A page served from this machine is in development: its bootstrap is on loopback or the LAN.
  endpoint: { allowPrivateAddresses: ["localhost", "127.0.0.1"].includes(location.hostname) },
});
byTestId("node-id").textContent = room.nodeId;

room.messages$.subscribe((message) => line(gossipLines, "gossip-received", message.text()));
room.log.operations$.subscribe((entry) => line(logEntries, "log-entry", entry.text()));
for (const entry of await room.log.history()) line(logEntries, "log-entry", entry.text());
room.peers$.subscribe((peers) => {
  // A peer is connected: a gossip line now reaches someone.
  if (peers.size > 0) document.body.dataset.gossip = "joined";
});

byTestId("send").addEventListener("submit", (event) => {
  event.preventDefault();
  const content = text.value;
  room
    .publish(content)
    .then(() => line(gossipLines, "gossip-sent", content))
    .catch(console.error);
});
byTestId("log-append").addEventListener("click", () => {
  room.log.append(text.value).catch(console.error);
});

byTestId("status").textContent = "running";
document.body.dataset.state = "running";

// A plain Vite app on the published packages: it gossips ephemeral lines and appends to a
// synced log on one topic, with everyone else who opens it with the same `?topic=`.
// `?bootstrap=<multiaddr>` (repeatable) names the bootstrap nodes to enter the network through.
import { Topic } from "@p2panda-web/core";
import { createBrowserNode } from "@p2panda-web/presets";

const params = new URLSearchParams(location.search);
const bootstrap = params.getAll("bootstrap");
const topic = Topic.fromName(params.get("topic") ?? "p2panda-web vite example");

const status = byTestId("status");
const gossipLines = byTestId("gossip-lines");
const logEntries = byTestId("log-entries");
const text = byTestId<HTMLInputElement>("text");
const encoder = new TextEncoder();
const decoder = new TextDecoder();

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

// Nothing is stored between reloads ("memory"): each load is a new node with a new identity, so
// persisted logs would belong to an identity nobody holds any more.
const node = await createBrowserNode({
  storage: "memory",
  // A page served from this machine is in development: its bootstrap is on loopback or the LAN.
  endpoint: {
    bootstrap,
    allowPrivateAddresses: ["localhost", "127.0.0.1"].includes(location.hostname),
  },
});
byTestId("node-id").textContent = node.identity.nodeId;
await node.addressBook.addTopic(node.identity.nodeId, topic);

const gossip = await node.gossip.stream(topic);
gossip.messages$.subscribe(({ content }) => {
  line(gossipLines, "gossip-received", decoder.decode(content));
});

const log = await node.sync.stream(topic, { liveMode: true });
const showLog = async (): Promise<void> => {
  const operations = await log.operations();
  logEntries.replaceChildren();
  for (const operation of operations) {
    line(logEntries, "log-entry", decoder.decode(operation.body ?? new Uint8Array()));
  }
};
log.events$.subscribe((event) => {
  if (event.type === "sync:operation-received") showLog().catch(console.error);
});

byTestId("send").addEventListener("submit", (event) => {
  event.preventDefault();
  const content = text.value;
  // A message published before the overlay has a neighbour reaches nobody: wait for one.
  gossip
    .joined()
    .then(() => gossip.publish(encoder.encode(content)))
    .then(() => line(gossipLines, "gossip-sent", content))
    .catch(console.error);
});
byTestId("log-append").addEventListener("click", () => {
  log.publish(encoder.encode(text.value)).then(showLog).catch(console.error);
});

status.textContent = "running";
document.body.dataset.state = "running";
// The overlay has a neighbour: a gossip line now reaches someone.
gossip
  .joined()
  .then(() => {
    document.body.dataset.gossip = "joined";
  })
  .catch(console.error);

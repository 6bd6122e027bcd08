// The "Connections" panel: one row per open connection of the endpoint, redrawn on every
// connection event. Rows carry data attributes the e2e tests read.
import { NodeId } from "@p2panda-web/core";
import type { ConnectionSummary, Endpoint } from "@p2panda-web/core/endpoint";
import type { Subscription } from "rxjs";

function row(connection: ConnectionSummary, bootstrap: ReadonlySet<string>): HTMLLIElement {
  const li = document.createElement("li");
  li.className = "connection";
  li.dataset.testid = "connection";
  li.dataset.nodeId = connection.remote;
  li.dataset.transport = connection.transport;
  li.dataset.direction = connection.direction;
  li.dataset.limited = String(connection.limited);
  li.title = connection.remoteAddress;

  const id = document.createElement("code");
  id.className = "node";
  id.textContent = NodeId.short(connection.remote);
  const transport = document.createElement("span");
  transport.className = `badge transport-${connection.transport}`;
  transport.textContent = connection.transport;
  const meta = document.createElement("span");
  meta.className = "meta";
  const notes: string[] = [connection.direction];
  if (bootstrap.has(connection.remote)) notes.unshift("bootstrap");
  if (connection.limited) notes.push("limited");
  meta.textContent = notes.join(" · ");
  li.append(transport, id, meta);
  return li;
}

/** Keeps `list` in sync with `endpoint.connections()`; unsubscribe to stop. */
export function renderConnections(
  endpoint: Endpoint,
  list: HTMLElement,
  count: HTMLElement,
  bootstrap: ReadonlySet<string>,
): Subscription {
  const draw = (): void => {
    const connections = endpoint
      .connections()
      .sort((a, b) => Number(bootstrap.has(b.remote)) - Number(bootstrap.has(a.remote)));
    list.replaceChildren(...connections.map((c) => row(c, bootstrap)));
    count.textContent = String(connections.length);
  };
  draw();
  return endpoint.events$.subscribe((event) => {
    if (
      event.type === "endpoint:connection-opened" ||
      event.type === "endpoint:connection-closed"
    ) {
      // libp2p fires `connection:close` before dropping the connection from its list.
      queueMicrotask(draw);
    }
  });
}

// The "Events" panel: the latest endpoint events, newest first.
import { NodeId } from "@p2panda-web/core";
import type { Endpoint, EndpointEvent } from "@p2panda-web/core/endpoint";
import type { Subscription } from "rxjs";

const MAX_ROWS = 50;

function summary(event: EndpointEvent): string {
  switch (event.type) {
    case "endpoint:connection-opened":
    case "endpoint:connection-closed":
      return `${NodeId.short(event.remote)} over ${event.transport} (${event.direction}${event.limited ? ", limited" : ""})`;
    case "endpoint:addresses-changed":
      return `${event.addresses.length} address(es)`;
    case "endpoint:relay-reservation":
      return `${event.state} on ${NodeId.short(event.relay)}`;
    case "endpoint:dial-failed":
      return `${NodeId.short(event.remote)}: ${event.code} ${event.message}`;
    case "endpoint:connection-refused":
      return `${event.reason}${event.remote === undefined ? "" : ` ${NodeId.short(event.remote)}`}`;
    case "endpoint:stream-refused":
    case "endpoint:session-failed":
      return `${NodeId.short(event.remote)} ${event.protocol}: ${event.code}`;
  }
}

/** Prepends a row per endpoint event to `list`, keeping the last {@link MAX_ROWS}. */
export function renderEvents(endpoint: Endpoint, list: HTMLElement): Subscription {
  return endpoint.events$.subscribe((event) => {
    const li = document.createElement("li");
    li.dataset.type = event.type;
    const time = document.createElement("time");
    time.textContent = new Date(event.at).toLocaleTimeString();
    const type = document.createElement("span");
    type.className = "type";
    type.textContent = event.type.replace("endpoint:", "");
    const text = document.createElement("span");
    text.textContent = summary(event);
    li.append(time, type, text);
    list.prepend(li);
    while (list.children.length > MAX_ROWS) list.lastElementChild?.remove();
  });
}

// Where the page finds its bootstrap node: `?bootstrap=<multiaddr>` (repeatable) wins; otherwise
// `/bootstrap.json`, which the dev server started by `npm start` answers.

/** Bootstrap multiaddrs for this page, possibly none. */
export async function bootstrapAddresses(location: Location = window.location): Promise<string[]> {
  const fromQuery = new URLSearchParams(location.search)
    .getAll("bootstrap")
    .filter((a) => a !== "");
  if (fromQuery.length > 0) return fromQuery;
  try {
    const response = await fetch("/bootstrap.json", { cache: "no-store" });
    if (!response.ok) return [];
    const body: unknown = await response.json();
    const list = (body as { bootstrap?: unknown }).bootstrap;
    return Array.isArray(list) ? list.filter((a): a is string => typeof a === "string") : [];
  } catch {
    return [];
  }
}

/**
 * WebRTC options from the query: `?turn=<turn: URL>` (with `turnUser` and `turnCredential`)
 * adds a TURN server, and `?relayOnly` makes the node connect to peers only through it (its IP
 * address stays hidden from them). `?relayedFallback` lets sessions run over the bootstrap's
 * relay where no direct connection can be made (a bootstrap started with `--relay-data-limit`).
 */
export function webRtcOptions(location: Location = window.location): {
  iceServers: RTCIceServer[];
  relayOnly: boolean;
  relayedFallback: boolean;
} {
  const query = new URLSearchParams(location.search);
  const iceServers = query.getAll("turn").map((urls) => ({
    urls,
    username: query.get("turnUser") ?? "",
    credential: query.get("turnCredential") ?? "",
  }));
  return {
    iceServers,
    relayOnly: query.has("relayOnly"),
    relayedFallback: query.has("relayedFallback"),
  };
}

/** `?overlay`: the tab relays WebRTC signalling for its neighbours and has them relay for it. */
export function overlayRequested(location: Location = window.location): boolean {
  return new URLSearchParams(location.search).has("overlay");
}

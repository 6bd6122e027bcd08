/**
 * The inspector's own styles, inside its shadow root (an app's CSS neither reaches in nor is
 * touched). Colours are custom properties, switched by `prefers-color-scheme`.
 */
export const INSPECTOR_CSS = `
:host {
  --bg: #ffffff; --fg: #1d2330; --muted: #6b7385; --line: #e3e6ee; --card: #f6f7fb;
  --accent: #3b6ef5; --ok: #1d9a5b; --warn: #b7791f; --bad: #d64545;
  display: block; font: 12px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
  color: var(--fg); background: var(--bg); border: 1px solid var(--line); border-radius: 8px;
  overflow: auto; max-height: 100%;
}
@media (prefers-color-scheme: dark) {
  :host {
    --bg: #14171f; --fg: #e4e7ef; --muted: #8d95a8; --line: #2a2f3c; --card: #1b1f29;
    --accent: #7aa2ff; --ok: #4cc38a; --warn: #e0a84a; --bad: #ff6b6b;
  }
}
header { display: flex; align-items: center; gap: 8px; padding: 8px 12px;
  border-bottom: 1px solid var(--line); position: sticky; top: 0; background: var(--bg); }
header h1 { font-size: 13px; margin: 0; flex: 1; }
button { font: inherit; color: var(--fg); background: var(--card); border: 1px solid var(--line);
  border-radius: 6px; padding: 3px 10px; cursor: pointer; }
button:hover { border-color: var(--accent); }
.sections { display: grid; grid-template-columns: repeat(auto-fill, minmax(320px, 1fr));
  gap: 8px; padding: 8px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 6px;
  padding: 8px 10px; min-width: 0; }
h2 { font-size: 11px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted);
  margin: 0 0 6px; display: flex; justify-content: space-between; }
h3 { font-size: 12px; margin: 8px 0 4px; }
ul { list-style: none; margin: 0; padding: 0; max-height: 220px; overflow: auto; }
li { padding: 2px 0; border-bottom: 1px dashed var(--line); display: flex; gap: 6px;
  align-items: baseline; min-width: 0; }
li:last-child { border-bottom: 0; }
code { font: 11px ui-monospace, SFMono-Regular, Menlo, monospace; overflow-wrap: anywhere; }
.muted { color: var(--muted); }
.grow { flex: 1; min-width: 0; }
.badge { font-size: 10px; padding: 0 6px; border-radius: 9px; border: 1px solid var(--line);
  white-space: nowrap; }
.ok { color: var(--ok); } .warn { color: var(--warn); } .bad { color: var(--bad); }
progress { width: 80px; height: 8px; }
.path { display: inline-flex; align-items: center; gap: 4px; }
.arrow { color: var(--muted); }
.empty { color: var(--muted); font-style: italic; }
.map { display: block; width: 100%; max-width: 300px; aspect-ratio: 1; margin: 0 auto; }
.map .node { fill: var(--muted); stroke: var(--card); stroke-width: 1.5; }
.map .node.co-topic, .dot.co-topic { fill: var(--accent); background: var(--accent); }
.map .node.bootstrap { stroke: var(--fg); }
.map .node.stale { opacity: .35; }
.map .node.me { fill: var(--fg); }
.map .trail { fill: none; stroke-width: 1.5; opacity: .6; }
.map .walker { stroke: var(--card); stroke-width: 1; }
.map .link { stroke: var(--line); stroke-width: 2; }
.map .transport-webrtc, .map .transport-webrtc-direct { stroke: var(--ok); }
.map .transport-websockets { stroke: var(--accent); }
.map .transport-relayed { stroke: var(--warn); stroke-dasharray: 4 3; }
.map .transport-webtransport { stroke: #9c36b5; }
.legend { font-size: 11px; text-align: center; }
.dot { display: inline-block; width: 8px; height: 8px; border-radius: 50%; margin: 0 3px 0 8px;
  background: var(--muted); }
.dot.bootstrap { border: 1.5px solid var(--fg); width: 6px; height: 6px; }
.dot.stale { opacity: .35; }
`;

import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { BUNDLE_PIECES, costByPiece } from "./bundle-pieces.ts";

const at = (path: string): string => `../node_modules/@p2panda-web/${path}`;
const gzip = (text: string): number => gzipSync(text, { level: 9 }).length;

describe("costByPiece prices each piece of our layer from the bundle's source segments", () => {
  const pieces = [
    { name: "errors", paths: /errors\.js$/ },
    { name: "sync", paths: /core\/dist\/sync\// },
    { name: "empty", paths: /nothing-matches/ },
  ];
  const syncText = "class SyncSession{run(){return this.step()}}".repeat(20);
  const errorText = 'class E extends Error{static name="SyncError"}';
  const libp2pText = "function dial(){return connect()}".repeat(20);
  const file = [
    { source: "../node_modules/libp2p/dist/src/index.js", text: libp2pText },
    { source: at("core/dist/sync/session.js"), text: syncText },
    { source: at("core/dist/sync/errors.js"), text: errorText },
  ];
  const costs = costByPiece([file], pieces);
  const byName = new Map(costs.map((c) => [c.name, c]));

  it("gives a file to the first piece that matches it (sync's errors.js is an error file)", () => {
    expect(byName.get("errors")?.raw).toBe(errorText.length);
    expect(byName.get("sync")?.raw).toBe(syncText.length);
  });

  it("prices a piece alone and by what the bundle's gzip loses without it", () => {
    const sync = byName.get("sync");
    expect(sync?.gzipAlone).toBe(gzip(syncText));
    expect(sync?.gzipInBundle).toBe(
      gzip(libp2pText + syncText + errorText) - gzip(libp2pText + errorText),
    );
  });

  it("gives a piece with no code in the bundle nothing", () => {
    expect(byName.get("empty")).toMatchObject({ raw: 0, gzipAlone: 0, gzipInBundle: 0 });
  });

  it("leaves everything outside the pieces out of the last row", () => {
    const all = costs.at(-1);
    expect(all?.name).toBe("all of the above");
    expect(all?.raw).toBe(syncText.length + errorText.length);
    expect(all?.gzipInBundle).toBe(gzip(libp2pText + syncText + errorText) - gzip(libp2pText));
  });
});

describe("BUNDLE_PIECES sorts our files as the cost table names them", () => {
  const pieceOf = (source: string): string | undefined =>
    BUNDLE_PIECES.find((p) => p.paths.test(source))?.name;

  it.each([
    [at("presets/dist/tabs/tab-errors.js"), "typed error classes"],
    [at("core/dist/endpoint/errors.js"), "typed error classes"],
    [at("presets/dist/tabs/shared-room.js"), "shared tabs"],
    [at("log-store/dist/indexeddb.js"), "IndexedDB stores"],
    [at("core/dist/composition/page-lifecycle.js"), "lifecycle recovery"],
    [at("core/dist/endpoint/webrtc-stall-guard.js"), "endpoint policy"],
    [at("core/dist/endpoint/libp2p-endpoint.js"), "endpoint (the rest)"],
    [at("core/dist/composition/create-node.js"), "createNode"],
    ["../node_modules/rxjs/dist/esm5/internal/Subject.js", "rxjs"],
  ])("%s → %s", (source, name) => {
    expect(pieceOf(source)?.startsWith(name)).toBe(true);
  });

  it("leaves libp2p's files to no piece", () => {
    expect(pieceOf("../node_modules/libp2p/dist/src/errors.js")).toBeUndefined();
  });
});

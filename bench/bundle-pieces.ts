// What each default piece of our own layer costs the example app, read from its source map: the
// bundle's generated text is attributed to source files, the files are grouped into pieces by
// path (first match wins), and each piece is priced twice: gzip -9 of its text alone, and what
// the whole bundle's gzip loses when its text is left out (the piece's cost in the one gzip
// stream, where it shares a dictionary with everything around it; the sum over pieces is then
// close to what all of ours costs together). Neither counts what leaving a piece out would
// also drop elsewhere (the code that wires it in, libp2p code only it reaches): a scratch build
// with the piece stubbed out says that (docs/benchmarks.md has such figures for the big ones).
import { gzipSync } from "node:zlib";
import type { SourceSegment } from "./sourcemap-breakdown.ts";

/** A default piece of our layer and the source paths that are its code. */
export interface BundlePiece {
  readonly name: string;
  readonly paths: RegExp;
}

const ours = (path: string): RegExp => new RegExp(`node_modules/@p2panda-web/${path}`);

/**
 * The pieces, in match order: a file goes to the first piece whose pattern it matches, so the
 * error classes are one row wherever they live, and "the rest" rows take what is left.
 */
export const BUNDLE_PIECES: readonly BundlePiece[] = [
  {
    name: "typed error classes (every `errors.js`)",
    paths: ours("[^/]+/dist/(.*/)?[a-z-]*errors\\.js$"),
  },
  {
    name: "shared tabs (leader election, BroadcastChannel calls)",
    paths: ours("presets/dist/tabs/"),
  },
  { name: "stored identity", paths: ours("presets/dist/identity-store\\.js$") },
  {
    name: "IndexedDB stores (log store, address book's, store names)",
    paths: ours(
      "(log-store/dist/|address-book/dist/indexeddb-store\\.js$|core/dist/storage/|presets/dist/store-names\\.js$)",
    ),
  },
  {
    name: "lifecycle recovery (page signals, recovery, service lifecycle)",
    paths: ours(
      "core/dist/(composition/(lifecycle-recovery|page-lifecycle|page-signals)|runtime/lifecycle)\\.js$",
    ),
  },
  { name: "warm start", paths: ours("core/dist/endpoint/warm-start\\.js$") },
  {
    name: "endpoint policy (stall guard, phantoms, relayed fallback, signalling limits, gater, idle sweep)",
    paths: ours(
      "core/dist/endpoint/(webrtc-stall-guard|webrtc-phantom|relayed-fallback|relayed-channel|signalling-limits|connection-policy|idle-connections|observed-address-guard)\\.js$",
    ),
  },
  { name: "endpoint (the rest)", paths: ours("core/dist/endpoint/") },
  { name: "discovery", paths: ours("core/dist/discovery/") },
  { name: "gossip", paths: ours("core/dist/gossip/") },
  { name: "sync", paths: ours("core/dist/sync/") },
  { name: "address book (the rest)", paths: ours("address-book/dist/") },
  { name: "room, joinTopic, browser preset", paths: ours("presets/dist/") },
  { name: "createNode, supervisor", paths: ours("core/dist/composition/") },
  {
    name: "codec, records, identity, crypto, ids, runtime",
    paths: ours("core/dist/"),
  },
  { name: "events", paths: ours("events/dist/") },
  { name: "rxjs (and its tslib)", paths: /node_modules\/(rxjs|tslib)\// },
];

/** One piece's cost. */
export interface PieceCost {
  readonly name: string;
  /** Bytes of its minified text. */
  readonly raw: number;
  /** Gzip -9 of its text alone. */
  readonly gzipAlone: number;
  /** What the bundle's gzip (every file gzipped on its own, summed) loses without its text. */
  readonly gzipInBundle: number;
}

const gzipLength = (text: string): number => gzipSync(text, { level: 9 }).length;

/**
 * Prices each piece in `files` (each a bundle file as its source segments, in order). The last
 * row, "all of the above", leaves every piece out at once.
 */
export function costByPiece(
  files: readonly (readonly SourceSegment[])[],
  pieces: readonly BundlePiece[] = BUNDLE_PIECES,
): PieceCost[] {
  const pieceOf = (source: string): number => pieces.findIndex((p) => p.paths.test(source));
  const tagged = files.map((segments) =>
    segments.map((segment) => ({ ...segment, piece: pieceOf(segment.source) })),
  );
  const gzipWithout = (left: (piece: number) => boolean): number =>
    tagged.reduce(
      (sum, segments) =>
        sum +
        gzipLength(
          segments
            .filter((s) => !left(s.piece))
            .map((s) => s.text)
            .join(""),
        ),
      0,
    );
  const full = gzipWithout(() => false);
  const priced = (name: string, test: (piece: number) => boolean): PieceCost => {
    const text = tagged
      .flat()
      .filter((s) => test(s.piece))
      .map((s) => s.text)
      .join("");
    return {
      name,
      raw: Buffer.byteLength(text),
      gzipAlone: text.length === 0 ? 0 : gzipLength(text),
      gzipInBundle: full - gzipWithout(test),
    };
  };
  return [
    ...pieces.map((piece, index) => priced(piece.name, (p) => p === index)),
    priced("all of the above", (p) => p >= 0),
  ];
}

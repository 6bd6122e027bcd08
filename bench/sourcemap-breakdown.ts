// Which source file each byte of a minified bundle came from, read from its source map (the
// bytes from one mapping segment to the next belong to that segment's source). Rollup's own
// module sizes are measured before minification; this counts what ships.

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const BASE64_VALUES = new Map([...BASE64].map((c, i) => [c, i]));

/** The fields of a version-3 source map this reads. */
export interface SourceMapV3 {
  readonly sources: readonly (string | null)[];
  readonly mappings: string;
}

/** Decodes one segment's base64 VLQ fields. */
function decodeSegment(segment: string): number[] {
  const fields: number[] = [];
  let value = 0;
  let shift = 0;
  for (const char of segment) {
    const digit = BASE64_VALUES.get(char);
    if (digit === undefined) throw new Error(`source map: bad VLQ character ${char}`);
    value += (digit & 31) * 2 ** shift;
    if (digit & 32) {
      shift += 5;
    } else {
      fields.push(value % 2 === 1 ? -Math.floor(value / 2) : value / 2);
      value = 0;
      shift = 0;
    }
  }
  return fields;
}

/** A run of generated text and the source it came from (`""` when unattributed). */
export interface SourceSegment {
  readonly source: string;
  readonly text: string;
}

/**
 * Splits `code` (the generated file) into runs by source, in order: joined they give `code`
 * back. Text before a line's first mapping, or in a segment without a source, goes to `""`.
 * In order, so that a part of the bundle can be left out and the rest gzipped again (what the
 * part costs in the one gzip stream, not alone).
 */
export function segmentsBySource(code: string, map: SourceMapV3): SourceSegment[] {
  const segments: SourceSegment[] = [];
  const add = (source: string, text: string): void => {
    if (text.length === 0) return;
    const last = segments.at(-1);
    if (last?.source === source) segments[segments.length - 1] = { source, text: last.text + text };
    else segments.push({ source, text });
  };
  const lines = code.split("\n");
  const mappingLines = map.mappings.split(";");
  let sourceIndex = 0;
  lines.forEach((line, lineNumber) => {
    let column = 0;
    let current = "";
    let start = 0;
    for (const segment of (mappingLines[lineNumber] ?? "").split(",")) {
      if (segment === "") continue;
      const fields = decodeSegment(segment);
      column += fields[0] ?? 0;
      add(current, line.slice(start, column));
      start = column;
      if (fields.length >= 4) {
        sourceIndex += fields[1] ?? 0;
        current = map.sources[sourceIndex] ?? "";
      } else {
        current = "";
      }
    }
    add(current, lineNumber < lines.length - 1 ? `${line.slice(start)}\n` : line.slice(start));
  });
  return segments;
}

/**
 * Splits `code` (the generated file) by source: source path → the generated text attributed to
 * it. Text before a line's first mapping, or in a segment without a source, goes to `""`.
 */
export function codeBySource(code: string, map: SourceMapV3): Map<string, string> {
  const parts = new Map<string, string[]>();
  for (const { source, text } of segmentsBySource(code, map)) {
    const list = parts.get(source);
    if (list === undefined) parts.set(source, [text]);
    else list.push(text);
  }
  return new Map([...parts].map(([source, list]) => [source, list.join("")]));
}

/**
 * The npm package a source path of the bundle belongs to (`@scope/name` or `name` after the
 * last `node_modules/`), or `undefined` for the app's own files.
 */
export function packageOf(source: string): string | undefined {
  const at = source.lastIndexOf("node_modules/");
  if (at < 0) return undefined;
  const [first, second] = source.slice(at + "node_modules/".length).split("/");
  return first?.startsWith("@") ? `${first}/${second}` : first;
}

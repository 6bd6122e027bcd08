// The fuzz loop: seeded, reproducible, one outcome per input. Input `i` of a run is a pure
// function of (seed, i), so a crash replays from those two numbers alone, without running the
// inputs before it.
import { toHex } from "../../src/bytes.ts";
import { DecodeError, decodeCbor } from "../../src/codec/cbor.ts";
import { P2pandaError } from "../../src/errors.ts";
import { seededRng } from "../../src/random.ts";
import { type FuzzInput, mutate } from "./mutators.ts";
import type { FuzzTarget } from "./targets.ts";

/** What one input did. */
export type Outcome =
  | { readonly kind: "accepted" }
  | { readonly kind: "refused"; readonly code: string }
  | { readonly kind: "crash"; readonly error: unknown; readonly stage: "decode" | "re-encode" };

/** Everything needed to replay a crash, and what it threw. */
export interface Crash {
  readonly target: string;
  readonly seed: number;
  readonly index: number;
  readonly mutators: readonly string[];
  /** `bytes`: the hex is what a remote sends; `value`: the hex encodes a value given directly. */
  readonly inputKind: FuzzInput["kind"];
  readonly hex: string;
  readonly stage: "decode" | "re-encode";
  readonly error: string;
}

/** Totals of one target's run. */
export interface FuzzStats {
  readonly target: string;
  readonly inputs: number;
  readonly seconds: number;
  readonly accepted: number;
  /** Refusals per error code (`code/reason` where the error has a reason). */
  readonly refused: ReadonlyMap<string, number>;
  readonly crashCount: number;
  /** The first few crashes, with reproducers. */
  readonly crashes: readonly Crash[];
}

/** Options of {@link fuzz}. */
export interface FuzzOptions {
  readonly seed: number;
  readonly count: number;
  /** First input index (to replay one input: `start: i, count: 1`). Default 0. */
  readonly start?: number;
  /** Crashes kept with their reproducer. Default 10. */
  readonly keepCrashes?: number;
}

/** The rng of input `index` of a run with `seed`: independent of every other input. */
function inputRng(seed: number, index: number) {
  return seededRng((Math.imul(seed ^ 0x5bd1e995, 0x01000193) + Math.imul(index, 0x9e3779b1)) | 0);
}

/**
 * Input `index` of a run: the first `corpus.length` inputs are the corpus itself (each must be
 * accepted), every later one a corpus entry put through 1–3 mutators. Odd inputs arrive in a
 * Node `Buffer`, as bytes from Node APIs do (its `slice` is a view, which decoders must not take
 * for a copy); even ones in a plain `Uint8Array`.
 */
export function fuzzInput(
  target: FuzzTarget,
  seed: number,
  index: number,
): { input: FuzzInput; mutators: string[] } {
  const { corpus } = target;
  const received = (bytes: Uint8Array) =>
    index % 2 === 1 ? Buffer.from(bytes) : new Uint8Array(bytes);
  if (index < corpus.length) {
    return {
      input: { kind: "bytes", bytes: received(corpus[index] as Uint8Array) },
      mutators: [],
    };
  }
  const rng = inputRng(seed, index);
  const base = corpus[rng.int(corpus.length)] as Uint8Array;
  const { input, applied } = mutate(base, {
    rng,
    corpus,
    acceptsValues: target.decodeValue !== undefined,
  });
  if (input.kind === "value") return { input, mutators: applied };
  return { input: { kind: "bytes", bytes: received(input.bytes) }, mutators: applied };
}

async function settle(result: unknown): Promise<unknown> {
  return result instanceof Promise ? await result : result;
}

/**
 * Runs one input through `target`: decoded, and when accepted re-encoded and decoded again.
 * Anything thrown that is not a {@link P2pandaError} is a crash.
 */
export async function runInput(target: FuzzTarget, input: FuzzInput): Promise<Outcome> {
  let accepted: unknown;
  try {
    accepted = await settle(
      input.kind === "value" && target.decodeValue !== undefined
        ? target.decodeValue(input.value)
        : target.decode(input.bytes),
    );
  } catch (error) {
    if (error instanceof P2pandaError) return { kind: "refused", code: codeOf(error) };
    return { kind: "crash", error, stage: "decode" };
  }
  let reencoded: Uint8Array;
  try {
    reencoded = target.reencode(accepted);
  } catch (error) {
    return { kind: "crash", error, stage: "re-encode" };
  }
  // A value input may carry what only the CBOR layer refuses (a `constructor` key in a part the
  // message decoder leaves opaque): the CBOR layer refusing its re-encoding is that guard working.
  if (input.kind === "value" && !decodesAsCbor(reencoded)) return { kind: "accepted" };
  try {
    await settle(target.decode(reencoded));
  } catch (error) {
    return { kind: "crash", error, stage: "re-encode" };
  }
  return { kind: "accepted" };
}

function decodesAsCbor(bytes: Uint8Array): boolean {
  try {
    decodeCbor(bytes);
    return true;
  } catch (error) {
    if (error instanceof DecodeError) return false;
    throw error;
  }
}

function codeOf(error: P2pandaError): string {
  const reason = (error as { reason?: unknown }).reason;
  return typeof reason === "string" ? `${error.code}/${reason}` : error.code;
}

/** Fuzzes `target` with `count` inputs from `seed`. */
export async function fuzz(target: FuzzTarget, options: FuzzOptions): Promise<FuzzStats> {
  const start = options.start ?? 0;
  const keep = options.keepCrashes ?? 10;
  const refused = new Map<string, number>();
  const crashes: Crash[] = [];
  let accepted = 0;
  let crashCount = 0;
  const began = performance.now();
  for (let index = start; index < start + options.count; index++) {
    const { input, mutators } = fuzzInput(target, options.seed, index);
    const outcome = await runInput(target, input);
    if (outcome.kind === "accepted") {
      accepted++;
    } else if (outcome.kind === "refused") {
      refused.set(outcome.code, (refused.get(outcome.code) ?? 0) + 1);
    } else {
      crashCount++;
      if (crashes.length < keep) {
        crashes.push({
          target: target.name,
          seed: options.seed,
          index,
          mutators,
          inputKind: input.kind,
          hex: toHex(input.bytes),
          stage: outcome.stage,
          error: errorLine(outcome.error),
        });
      }
    }
  }
  return {
    target: target.name,
    inputs: options.count,
    seconds: (performance.now() - began) / 1000,
    accepted,
    refused,
    crashCount,
    crashes,
  };
}

function errorLine(error: unknown): string {
  if (error instanceof Error) {
    const frame = error.stack?.split("\n").find((line) => line.includes("/src/"));
    return `${error.name}: ${error.message}${frame ? ` (${frame.trim()})` : ""}`;
  }
  return String(error);
}

/** One line per crash: what threw, and how to replay it. */
export function formatCrash(crash: Crash): string {
  const hex =
    crash.hex.length > 512
      ? `${crash.hex.slice(0, 512)}… (${crash.hex.length / 2} bytes)`
      : crash.hex;
  return (
    `${crash.target}: ${crash.error} at ${crash.stage}; seed ${crash.seed}, input ${crash.index} ` +
    `(${crash.mutators.join(" → ") || "corpus"}, ${crash.inputKind}` +
    `${crash.index % 2 === 1 ? " in a Buffer" : ""}); hex ${hex}`
  );
}

/** The results as a Markdown table. */
export function formatTable(stats: readonly FuzzStats[]): string {
  const rows = [
    "| decoder | inputs | inputs/s | accepted | refused (by code) | crashes |",
    "| --- | ---: | ---: | ---: | --- | ---: |",
  ];
  const n = (x: number) => x.toLocaleString("en-US");
  for (const s of stats) {
    const refused = [...s.refused]
      .sort((a, b) => b[1] - a[1])
      .map(([code, count]) => `${code} ${n(count)}`)
      .join(", ");
    rows.push(
      `| ${s.target} | ${n(s.inputs)} | ${n(Math.round(s.inputs / s.seconds))} | ${n(s.accepted)} | ${refused} | ${n(s.crashCount)} |`,
    );
  }
  return rows.join("\n");
}

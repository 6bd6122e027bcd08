// `npm run fuzz`: the mutation fuzzer over every decoder a remote reaches
// (packages/core/test/fuzz/). Prints a table per decoder and writes it to docs/fuzzing.md; exits
// non-zero on any crash, printing how to replay it.
//   npm run fuzz                              100,000 inputs per decoder, seed 1
//   npm run fuzz -- --count 5000 --seed 42    (or FUZZ_COUNT / FUZZ_SEED)
//   npm run fuzz -- --only gossip,sync        decoders whose name contains one of these
//   npm run fuzz -- --only sync --replay 1234 input 1234 of the seed alone, with its stack
//   npm run fuzz -- --no-write                print only
import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { buildCorpus } from "../packages/core/test/fuzz/corpus.ts";
import {
  type FuzzStats,
  formatCrash,
  formatTable,
  fuzz,
  fuzzInput,
  runInput,
} from "../packages/core/test/fuzz/fuzzer.ts";
import { fuzzTargets } from "../packages/core/test/fuzz/targets.ts";

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : undefined;
};
const count = Number(option("count") ?? process.env.FUZZ_COUNT ?? 100_000);
const seed = Number(option("seed") ?? process.env.FUZZ_SEED ?? 1);
const only = option("only")?.split(",") ?? [];
const replay = option("replay");
const write = !args.includes("--no-write") && replay === undefined && only.length === 0;
if (!Number.isSafeInteger(count) || count < 1 || !Number.isSafeInteger(seed)) {
  console.error("--count must be a positive integer and --seed an integer");
  process.exit(2);
}

const corpus = await buildCorpus();
const targets = fuzzTargets(corpus).filter(
  (t) => only.length === 0 || only.some((name) => t.name.toLowerCase().includes(name)),
);

if (replay !== undefined) {
  for (const target of targets) {
    const { input, mutators } = fuzzInput(target, seed, Number(replay));
    const outcome = await runInput(target, input);
    console.log(`${target.name}, seed ${seed}, input ${replay} (${mutators.join(" → ")}):`);
    console.log(outcome.kind === "crash" ? outcome.error : outcome);
  }
  process.exit(0);
}

console.log(
  `Fuzzing ${targets.length} decoders, ${count.toLocaleString("en-US")} inputs each, seed ${seed}`,
);
const stats: FuzzStats[] = [];
for (const target of targets) {
  const s = await fuzz(target, { seed, count });
  stats.push(s);
  console.log(
    `  ${target.name}: ${Math.round(s.inputs / s.seconds).toLocaleString("en-US")} inputs/s, ` +
      `${s.accepted} accepted, ${s.crashCount} crashes`,
  );
}
const table = formatTable(stats);
const crashes = stats.flatMap((s) => s.crashes);
console.log(`\n${table}\n`);
for (const crash of crashes) console.log(`CRASH ${formatCrash(crash)}`);

if (write) {
  const path = fileURLToPath(new URL("../docs/fuzzing.md", import.meta.url));
  writeFileSync(path, fuzzingPage(table, crashes.map(formatCrash)));
  console.log(`wrote ${path}`);
}
process.exit(crashes.length > 0 ? 1 : 0);

function fuzzingPage(table: string, crashLines: string[]): string {
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  return `# Fuzzing the decoders

\`npm run fuzz\` runs our own seeded mutation fuzzer (\`packages/core/test/fuzz/\`) over every
decoder a remote's bytes reach, and writes this page. A short run of the same fuzzer (5,000 inputs
per decoder, fixed seed) is part of \`npm test\` (\`packages/core/test/fuzz/decoders.test.ts\`).

## What is fuzzed

Each decoder starts from a corpus of valid encodings made by the real encoders: every message
type of discovery, gossip and sync (topic handshake, log sync, live), signed operation headers
with and without payload, backlink and extensions, signed transport infos, node infos, and
frames (single, several in one chunk, empty). The first inputs of a run are the corpus itself
(each must be accepted); every other input is a corpus entry put through one to three mutators:
bit flips, byte insert / delete / overwrite, truncation, splice with another entry, random CBOR
of the entry's outer shape (fields replaced, added or dropped with values of every CBOR kind),
deep nesting (wrapped fields, or up to 10,000 raw array or map headers), huge declared lengths (up to
2^64 − 1 for byte strings, text, arrays, maps) and prototype keys (\`__proto__\`, \`constructor\`,
\`toString\`, … at any level; for message decoders also as a value built by plain assignment,
handed to the decoder directly, as a CBOR layer without our guards would build it). Every other
input arrives in a Node \`Buffer\`, as bytes from Node APIs do (its \`slice\` is a view, not a copy;
over libp2p's memory and WebSockets transports received bytes are plain \`Uint8Array\`s).

Outcomes: **accepted**; **refused** with a \`P2pandaError\` (counted per \`code\`, with the
protocol's \`reason\` where it has one); or **crash**: anything else thrown (a \`TypeError\`, a
stack overflow, …), or an accepted value whose re-encoding throws or is refused. Signed inputs
are also validated as the protocol does before trusting them (operation checks and signature,
transport-info node ids and signature), so validation is fuzzed too.

## Results

Seed ${seed}, ${count.toLocaleString("en-US")} inputs per decoder, on ${cpu} (${cpus().length} cores,
shared with other work). inputs/s counts generating, decoding and re-encoding each input.

${table}

${crashLines.length === 0 ? "No crashes." : `Crashes:\n\n${crashLines.map((l) => `- ${l}`).join("\n")}`}

## Defects it found

With the same seed and count on the decoders as they were before the fixes (after the CBOR layer
already refused prototype keys and deep nesting), 951 of 800,000 inputs crashed:

| decoder | crashes before | what | fixed in |
| --- | ---: | --- | --- |
| discovery messages | 360 | a map whose prototype a \`__proto__\` key replaced, or an object posing as a byte string, was accepted; reading its \`length\` or re-encoding it threw \`TypeError\` | \`expectMap\` / \`isBytes\` (codec/message-shape.ts); transport infos in \`nodes\` must be maps |
| gossip messages | 490 | the same | the same |
| sync messages | 100 | the same for topics, headers, bodies and log ids (\`TypeError\`); valid operations in a Node \`Buffer\` refused when read again (\`SignatureMismatchError\`, see below) | sync/messages.ts, sync/log-id.ts; the \`Buffer\` case as for operation headers |
| transport infos | 1 | a valid info in a \`Buffer\` refused when read again; a fake byte string as signature threw \`TypeError\` (in an earlier run, seed 1 with the first version of the mutators) | records/transport-info.ts |
| operation headers | 0 | 10 valid operations refused (counted as \`SIGNATURE_MISMATCH\`, not as crashes) | identity/ed25519.ts; \`decodeCbor\` now decodes a plain view of a \`Buffer\` (codec/cbor.ts, from main) |

The \`Buffer\` defect: a decoded header's fields were \`slice()\`s of the received bytes, which on a
Node \`Buffer\` are views, and the strict Ed25519 pre-check cleared the sign bit of R (or of the
key) in a \`slice()\` of its own: a valid operation or transport info whose R had its top bit set
was refused, and the bytes were changed in place. Over libp2p's memory and WebSockets transports
received bytes are plain \`Uint8Array\`s, so it took a \`Buffer\` from elsewhere (a Node API) to hit.
Once fixed, transport infos accepted went from 551 to 830 (\`INVALID_SIGNATURE\` from 1,578 to
1,300) and operation headers accepted from 32 to 42.
Only value inputs reached the \`TypeError\`s: through the CBOR layer the same inputs were refused
(\`decodeCbor\` refuses prototype keys since the fix before this fuzzer).

## Reproducing a crash

Every input is a pure function of the seed and its index, so a crash line above (or in the
output of \`npm run fuzz\` or the test) names all it takes:

\`\`\`sh
npm run fuzz -- --only <decoder> --seed <seed> --replay <index>   # prints the full error and stack
npm run fuzz -- --count 1000000 --seed 7                            # a longer run with another seed
\`\`\`

The hex in a crash line is the input itself: for \`bytes\` inputs exactly what a remote would send
(feed it to the decoder in a unit test); for \`value\` inputs the CBOR encoding of the value that
was handed to the message decoder directly.
`;
}

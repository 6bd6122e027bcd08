// Ed25519 sign/verify per second (noble vs WebCrypto) and BLAKE3 throughput, in Node and in
// headless Chromium. The measuring code is crypto.browser.ts, run unchanged in both.
import { runInChromium } from "./browser.ts";
import { type CryptoResult, run as measure } from "./crypto.browser.ts";

function format(value: number | undefined, mbps: boolean): string {
  if (value === undefined) return "n/a";
  if (mbps) return value.toFixed(1);
  return Math.round(value).toLocaleString("en-US");
}

export async function run(options: {
  quick: boolean;
}): Promise<{ title: string; markdown: string }> {
  const node = await measure({ quick: options.quick });
  let chromium: CryptoResult | undefined;
  let chromiumError = "";
  try {
    chromium = await runInChromium<CryptoResult>("bench/crypto.browser.ts", {
      quick: options.quick,
    });
  } catch (error) {
    chromiumError = (error as Error).message.split("\n")[0] ?? "failed";
  }

  const rows = Object.keys(node.rates).map((name) => {
    const mbps = name.includes("MB/s");
    const unit = mbps ? "" : " /s";
    return `| ${name}${unit} | ${format(node.rates[name], mbps)} | ${format(chromium?.rates[name], mbps)} |`;
  });
  const markdown = [
    "| Operation | Node | Chromium |",
    "|---|--:|--:|",
    ...rows,
    "",
    'Ed25519 over a 256-byte message with one key (its WebCrypto import is cached); "new key',
    `each time": ${options.quick ? 50 : 500} distinct keys verified once each, no warm-up`,
    "(WebCrypto pays a key import per verification). Every verification, on either backend,",
    "first runs the strict pre-checks (lengths, S < L, canonical A and R, no small-order A or R;",
    "byte comparisons only), measured alone in their own row. `ed25519()` picks WebCrypto when",
    "it is available, so the WebCrypto rows are what p2panda-web gets in Node 22 and Chromium;",
    "noble is the fallback (older Firefox and Safari, insecure contexts). BLAKE3 is core's",
    "own (crypto/blake3.ts, pure JavaScript), in MB/s (10^6 bytes). Each rate is measured for",
    `${options.quick ? "0.25" : "2"} s after a warm-up on a shared 2-core machine: treat`,
    "differences below ~20% as noise.",
    chromium === undefined ? `\nChromium column unavailable: ${chromiumError}` : "",
  ].join("\n");
  return { title: "Crypto: Ed25519 and BLAKE3", markdown };
}

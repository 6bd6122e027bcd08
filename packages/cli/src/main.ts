#!/usr/bin/env node
/**
 * The `p2panda-web` command, started by `bin/p2panda-web.js` once it has checked the Node
 * version. From a checkout, `npx p2panda-web …` runs the built copy (`npm install` builds it);
 * `npx node --conditions=source packages/cli/src/main.ts …` runs the sources without a build.
 */
import { createInterface } from "node:readline";
import { runCli } from "./cli.ts";

const controller = new AbortController();
let signals = 0;
const onSignal = (): void => {
  signals++;
  // A second signal while stopping means "now": give up on a clean stop.
  if (signals > 1) process.exit(1);
  controller.abort();
};
process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);

const code = await runCli(process.argv.slice(2), {
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
  signal: controller.signal,
  // Read stdin only once a command iterates it: a readline interface made up front would emit
  // (and lose) the lines piped in before the command starts reading.
  stdin: {
    [Symbol.asyncIterator]: () =>
      createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY })[
        Symbol.asyncIterator
      ](),
  },
});
// libp2p's transports can leave native handles (WebRTC) that would keep the process alive.
process.exit(code);

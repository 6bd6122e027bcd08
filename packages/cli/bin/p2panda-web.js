#!/usr/bin/env node
// The `p2panda-web` executable as npm installs it. Plain JavaScript on purpose: Node does not
// strip TypeScript types under node_modules, and on an older Node this file must still load to
// say which version is needed (the CLI itself needs Node 22.18's node:sqlite and libp2p 3's
// Promise.withResolvers, and dies with an unrelated error without them).
import { existsSync } from "node:fs";

const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `p2panda-web needs Node.js 22.18 or newer; this is Node.js ${process.versions.node}.\n`,
  );
  process.exit(1);
}

const main = new URL("../dist/main.js", import.meta.url);
if (!existsSync(main)) {
  // A checkout where `npm install` ran without its `prepare` step (--ignore-scripts).
  process.stderr.write("p2panda-web is not built: run `npm run build` in the checkout.\n");
  process.exit(1);
}
import(main.href).catch((error) => {
  process.stderr.write(`${error?.stack ?? error}\n`);
  process.exit(1);
});

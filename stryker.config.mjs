// @ts-check
// Mutation testing (`npm run mutate`, optionally `npm run mutate -- sync`): not part of CI, it
// takes long. Each folder of the protocol core is mutated against the tests that exercise it
// (not the whole suite, so a run finishes); results per folder go to docs/mutation.md.

/**
 * Folder under packages/core/src → the files mutated (default: all of the folder) and the test
 * files that pin their behaviour. Sync, discovery and gossip are limited to their sans-IO
 * protocol files: with the session, service, manager and simulator files the sync folder alone
 * has about 2,000 mutants, some 3 hours on one core here.
 */
const folders = {
  codec: {
    tests: [
      "packages/core/test/codec.test.ts",
      "packages/core/test/cbor-guards-accept-valid.test.ts",
      "packages/core/test/message-shape.test.ts",
      "packages/core/test/message-channel-lifecycle.test.ts",
    ],
  },
  discovery: {
    mutate: [
      "psi-handshake.ts",
      "messages.ts",
      "random-walker.ts",
      "backoff.ts",
      "walker-step.ts",
      "session-runner.ts",
    ],
    tests: [
      "packages/core/test/discovery/psi-handshake.test.ts",
      "packages/core/test/discovery/psi-hash-order.test.ts",
      "packages/core/test/discovery/psi-shared-infos.test.ts",
      "packages/core/test/discovery/random-walker.test.ts",
      "packages/core/test/discovery/backoff.test.ts",
      "packages/core/test/discovery/discovery-manager.test.ts",
    ],
  },
  gossip: {
    mutate: [
      "plumtree.ts",
      "hyparview.ts",
      "topic-gossip.ts",
      "gossip-state.ts",
      "messages.ts",
      "token-bucket.ts",
    ],
    tests: [
      "packages/core/test/gossip/plumtree.test.ts",
      "packages/core/test/gossip/plumtree-tree-optimisation.test.ts",
      "packages/core/test/gossip/plumtree-survivors.test.ts",
      "packages/core/test/gossip/hyparview.test.ts",
      "packages/core/test/gossip/hyparview-refill-priority.test.ts",
      "packages/core/test/gossip/gossip.test.ts",
      "packages/core/test/gossip/bad-input.test.ts",
    ],
  },
  sync: {
    mutate: ["log-sync.ts", "log-heights.ts", "topic-handshake.ts", "dedup.ts"],
    tests: [
      "packages/core/test/sync/state-machines.test.ts",
      "packages/core/test/sync/log-heights.test.ts",
      "packages/core/test/sync/log-sync-range-bounds.test.ts",
      "packages/core/test/sync/log-sync-phases.test.ts",
      "packages/core/test/sync/dedup.test.ts",
      "packages/core/test/sync/session.test.ts",
      "packages/core/test/sync/bad-input.test.ts",
    ],
  },
};

// `npm run mutate -- <folder>…` passes the folders in MUTATE_FOLDERS; none: all of them.
const asked = (process.env.MUTATE_FOLDERS ?? "").split(/[\s,]+/).filter((f) => f !== "");
for (const folder of asked) {
  if (!Object.hasOwn(folders, folder)) {
    throw new Error(`unknown folder "${folder}"; one of ${Object.keys(folders).join(", ")}`);
  }
}
const chosen = asked.length > 0 ? asked : Object.keys(folders);
const name = chosen.join("+");

/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
export default {
  testRunner: "vitest",
  plugins: ["@stryker-mutator/vitest-runner"],
  vitest: { configFile: "stryker.vitest.config.ts", related: false },
  mutate: chosen.flatMap((folder) =>
    (folders[folder].mutate ?? ["**/*.ts"]).map((file) => `packages/core/src/${folder}/${file}`),
  ),
  testFiles: chosen.flatMap((folder) => folders[folder].tests),
  coverageAnalysis: "perTest",
  // The machine's two cores are shared.
  concurrency: 1,
  // A static mutant (evaluated when a module loads) makes every test run for it; left out.
  ignoreStatic: true,
  tempDirName: ".stryker-tmp",
  ignorePatterns: ["docs", "demo", "e2e", "bench", "reports", ".data", "test-results"],
  reporters: ["progress", "clear-text", "json", "html"],
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  htmlReporter: { fileName: `reports/mutation/${name}.html` },
  incremental: true,
  incrementalFile: `reports/stryker-incremental-${name}.json`,
  cleanTempDir: "always",
};

export * from "./create-node.ts";
export * from "./errors.ts";
export type * from "./events.ts";
export * from "./lifecycle-recovery.ts";
export type * from "./node-options.ts";
export * from "./p2panda-node.ts";
export * from "./page-lifecycle.ts";
export * from "./page-signals.ts";
export * from "./service-supervisor.ts";

export * from "./lifecycle.ts";
export * from "./runtime.ts";
export * from "./timers.ts";

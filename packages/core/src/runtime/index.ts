export * from "./runtime.ts";
export * from "./timers.ts";

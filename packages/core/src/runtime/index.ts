export * from "./lifecycle.ts";
export * from "./runtime.ts";
export * from "./startup-marks.ts";
export * from "./timers.ts";

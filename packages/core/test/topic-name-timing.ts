import { Topic } from "../src/ids/topic.ts";

/** Times `count` derivations of fresh names (never cached): wall time, and CPU time where known. */
export function kdfTimes(count: number): { wallMs: number[]; cpuMs: number[] } {
  const wallMs: number[] = [];
  const cpuMs: number[] = [];
  const cpu = typeof process !== "undefined" ? process.cpuUsage : undefined;
  for (let i = 0; i < count; i++) {
    const name = `timing ${i} ${Math.random()}`;
    const c0 = cpu?.();
    const t0 = performance.now();
    Topic.fromName(name);
    wallMs.push(Math.round(performance.now() - t0));
    if (cpu !== undefined && c0 !== undefined) {
      const used = cpu(c0);
      cpuMs.push(Math.round((used.user + used.system) / 1000));
    }
  }
  return { wallMs, cpuMs };
}

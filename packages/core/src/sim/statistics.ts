/** Distribution summary of a per-node figure. */
export interface Summary {
  median: number;
  p95: number;
  max: number;
  mean: number;
}

/**
 * Median, 95th percentile, max and mean of `values` (zeros when empty). Percentiles are the
 * value at that rank (no interpolation), so they are always a value some node had.
 */
export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) return { median: 0, p95: 0, max: 0, mean: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
  return {
    median: at(0.5),
    p95: at(0.95),
    max: sorted[sorted.length - 1] as number,
    mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
  };
}

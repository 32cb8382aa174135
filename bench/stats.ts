/** Summary of repeated measurements of one metric. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  count: number;
}

/** Returns the median, minimum and maximum of `values`, or undefined when there are none. */
export function summarize(values: readonly number[]): Summary | undefined {
  if (values.length === 0) {
    return undefined;
  }
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number, count: sorted.length };
}

/** Returns the median of `values` (NaN when empty). */
export function median(values: readonly number[]): number {
  return summarize(values)?.median ?? Number.NaN;
}

/** Returns the `fraction` quantile (0..1) of `values` by the nearest-rank method (NaN when empty). */
export function quantile(values: readonly number[], fraction: number): number {
  if (values.length === 0) {
    return Number.NaN;
  }
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(fraction * sorted.length)));
  return sorted[rank - 1] as number;
}

/** Bytes in one mebibyte. */
export const MIB = 1024 * 1024;

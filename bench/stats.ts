import { readFileSync } from "node:fs";

/** Small statistics helpers for the bench: every figure is reported as median, min and max over its runs. */

export interface Summary {
  median: number;
  min: number;
  max: number;
  /** Every run's value, in run order. */
  runs: number[];
}

/** Median / min / max of `values` (NaN for an empty list). */
export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const median = n === 0 ? NaN : n % 2 === 1 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  return { median, min: n ? sorted[0] : NaN, max: n ? sorted[n - 1] : NaN, runs: [...values] };
}

/** Nearest-rank percentile (p in 0–100) of `values`; NaN for an empty list. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

/** `median (min–max)` with `digits` decimals. */
export function fmt(s: Summary, digits = 2, unit = ""): string {
  const f = (v: number) => (Number.isFinite(v) ? v.toFixed(digits) : "n/a");
  return `${f(s.median)}${unit} (${f(s.min)}–${f(s.max)})`;
}

/** Decode rate from token arrival times: (tokens − 1) / (last − first) in tokens per second. */
export function decodeRate(tokenTimesMs: readonly number[]): number {
  if (tokenTimesMs.length < 2) return NaN;
  const span = tokenTimesMs[tokenTimesMs.length - 1] - tokenTimesMs[0];
  return span > 0 ? (tokenTimesMs.length - 1) / (span / 1000) : NaN;
}

/**
 * Decode rate from the median interval between consecutive tokens (1 / median), tokens per second: a
 * variant that ignores the few intervals in which another process had the CPU.
 */
export function medianIntervalRate(tokenTimesMs: readonly number[]): number {
  if (tokenTimesMs.length < 2) return NaN;
  const intervals = tokenTimesMs.slice(1).map((t, i) => t - tokenTimesMs[i]);
  const m = summarize(intervals).median;
  return m > 0 ? 1000 / m : NaN;
}

/**
 * Aggregate decode rate of streams running at the same time: Σ(tokens − 1) over the streams ÷ the time from
 * the first token of any stream to the last token of any stream, tokens per second.
 */
export function aggregateRate(streams: readonly (readonly number[])[]): number {
  const first = Math.min(...streams.map((t) => t[0]));
  const last = Math.max(...streams.map((t) => t[t.length - 1]));
  const tokens = streams.reduce((sum, t) => sum + t.length - 1, 0);
  return last > first ? tokens / ((last - first) / 1000) : NaN;
}

/** CPU time this process's main (JavaScript) thread has used so far, ns (Linux /proc). */
export function ownMainThreadCpuNs(): number {
  return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, "utf8").split(" ")[0]);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

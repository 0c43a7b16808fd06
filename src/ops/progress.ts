/**
 * A download progress display for `glmbot pull`.
 * - On a terminal: one line redrawn in place (`\r`), at most ~10 times a second:
 *   `[########------------]  41%  1.70/4.14 GB  12.3 MB/s  ETA 3m18s`
 * - Otherwise (logs, CI, tests): one plain line per 10 % step: `progress 40% 1.66/4.14 GB`.
 * Sizes are decimal (1 GB = 10^9 bytes), as model hosts list them.
 */

/** Bytes as decimal GB/MB/kB with 2 decimals for GB (`4.14 GB`), like model file listings. */
export function formatSize(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(0)} kB`;
  return `${bytes} B`;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

export interface ProgressBar {
  /** Report `done` of `total` bytes (total 0 = unknown). */
  update(done: number, total: number): void;
  /** Ends the display (the terminal line is finished with a newline). */
  finish(): void;
}

export interface ProgressBarOptions {
  /** Draw in place (a terminal) or print 10 % steps. */
  tty: boolean;
  /** Bar width in characters (default 24). */
  width?: number;
  /** Clock in ms, for speed/ETA (default Date.now). */
  now?: () => number;
}

/** A progress display writing to `out` (normally `process.stderr`). */
export function createProgressBar(out: { write(text: string): unknown }, options: ProgressBarOptions): ProgressBar {
  const width = options.width ?? 24;
  const now = options.now ?? Date.now;
  const startedAt = now();
  let firstBytes: number | undefined;
  let lastDraw = 0;
  let lastStep = -1;
  let drawn = false;

  const line = (done: number, total: number): string => {
    const fraction = total > 0 ? Math.min(1, done / total) : 0;
    const filled = Math.round(fraction * width);
    const elapsed = (now() - startedAt) / 1000;
    const speed = elapsed > 0 ? (done - (firstBytes ?? 0)) / elapsed : 0;
    const eta = speed > 0 && total > 0 ? (total - done) / speed : Number.NaN;
    const sizes = total > 0 ? `${formatSize(done)}/${formatSize(total)}` : formatSize(done);
    return `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%  ${sizes}  ${formatSize(speed)}/s  ETA ${formatDuration(eta)}`;
  };

  return {
    update(done, total) {
      firstBytes ??= done; // bytes already there when resuming do not count towards the speed
      if (options.tty) {
        const t = now();
        if (t - lastDraw < 100 && done < total) return;
        lastDraw = t;
        out.write(`\r${line(done, total)}\x1b[K`);
        drawn = true;
        return;
      }
      const step = total > 0 ? Math.floor((done / total) * 10) : -1;
      if (step <= lastStep) return;
      // Every 10 % step crossed gets its line, even when parallel chunks jump several at once; a resumed
      // download starts at the step it already had.
      const from = lastStep < 0 ? step : lastStep + 1;
      lastStep = step;
      for (let s = from; s <= step; s++) out.write(`progress ${s * 10}% ${formatSize(s === step ? done : (total * s) / 10)}/${formatSize(total)}\n`);
    },
    finish() {
      if (options.tty && drawn) out.write("\n");
      drawn = false;
    },
  };
}

/**
 * Memory bandwidth of this machine, measured the simple way: copy a large buffer (`Buffer.copy`, i.e.
 * memcpy) several times and count the bytes read plus the bytes written per second (the STREAM "Copy"
 * convention). With `threads` > 1, that many worker threads copy their own buffers at the same time and
 * the rates add up. Buffers are touched before timing so page faults are not measured.
 *
 * Decoding mostly reads, so {@link readBandwidth} also measures a read-only pass (a tiny C loop compiled
 * with `cc -O3 -march=native` when a C compiler is installed; skipped otherwise) as a cross-check.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Worker } from "node:worker_threads";
import { summarize, type Summary } from "./stats.js";

const run = promisify(execFile);

export interface BandwidthResult {
  /** Bytes per second (read + written), one value per repetition. */
  bytesPerSecond: Summary;
  bufferBytes: number;
  repeats: number;
  threads: number;
}

/** The copy loop, run in each worker (plain JS, so it needs no TypeScript loader). */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { bytes, repeats } = workerData;
const src = Buffer.allocUnsafeSlow(bytes).fill(7);
const dst = Buffer.allocUnsafeSlow(bytes).fill(0);
src.copy(dst);
parentPort.postMessage({ ready: true });
parentPort.once("message", () => {
  const seconds = [];
  for (let i = 0; i < repeats; i++) {
    const t = process.hrtime.bigint();
    src.copy(dst);
    seconds.push(Number(process.hrtime.bigint() - t) / 1e9);
  }
  parentPort.postMessage({ seconds });
});
`;

export async function copyBandwidth(threads: number, totalBytes = 512 * 2 ** 20, repeats = 10): Promise<BandwidthResult> {
  const per = Math.floor(totalBytes / threads / 4096) * 4096;
  const workers = Array.from({ length: threads }, () => new Worker(WORKER_SOURCE, { eval: true, workerData: { bytes: per, repeats } }));
  try {
    const message = (w: Worker) => new Promise<Record<string, unknown>>((resolve, reject) => {
      w.once("message", resolve);
      w.once("error", reject);
    });
    await Promise.all(workers.map(message));
    const results = workers.map(message);
    for (const w of workers) w.postMessage("go");
    const seconds = (await Promise.all(results)).map((r) => r.seconds as number[]);
    // repetition i: all workers copied `per` bytes; the slowest one bounds the aggregate rate
    const rates = Array.from({ length: repeats }, (_, i) => (2 * per * threads) / Math.max(...seconds.map((s) => s[i])));
    return { bytesPerSecond: summarize(rates), bufferBytes: per * threads, repeats, threads };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** Sums a buffer of 64-bit words (four accumulators, vectorised by the compiler) and prints GB/s per pass. */
const READ_SOURCE = `
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
int main(int argc, char **argv) {
  size_t bytes = (size_t)atol(argv[1]);
  int repeats = atoi(argv[2]);
  size_t n = bytes / sizeof(uint64_t) / 4 * 4;
  uint64_t *a = malloc(n * sizeof(uint64_t));
  if (!a) return 1;
  memset(a, 1, n * sizeof(uint64_t));
  uint64_t sink = 0;
  for (int r = 0; r < repeats; r++) {
    double t = now();
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (size_t i = 0; i < n; i += 4) { s0 += a[i]; s1 += a[i + 1]; s2 += a[i + 2]; s3 += a[i + 3]; }
    double dt = now() - t;
    sink += s0 + s1 + s2 + s3;
    printf("%.6f\\n", n * sizeof(uint64_t) / dt);
  }
  fprintf(stderr, "%llu\\n", (unsigned long long)sink);
  free(a);
  return 0;
}
`;

export interface ReadBandwidthResult {
  /** Bytes read per second, one value per repetition (processes' rates added up). */
  bytesPerSecond: Summary;
  bufferBytes: number;
  repeats: number;
  threads: number;
}

/**
 * Read-only bandwidth: `threads` processes each sum their own share of `totalBytes`, `repeats` times.
 * Resolves undefined when no C compiler (`cc`) is available.
 */
export async function readBandwidth(threads: number, totalBytes = 512 * 2 ** 20, repeats = 10): Promise<ReadBandwidthResult | undefined> {
  const dir = await mkdtemp(join(tmpdir(), "glmbot-bench-read-"));
  try {
    await writeFile(join(dir, "read.c"), READ_SOURCE);
    try {
      await run("cc", ["-O3", "-march=native", "-o", join(dir, "read"), join(dir, "read.c")], { timeout: 60_000 });
    } catch {
      return undefined;
    }
    const per = Math.floor(totalBytes / threads);
    const outputs = await Promise.all(
      Array.from({ length: threads }, () => run(join(dir, "read"), [String(per), String(repeats)], { timeout: 120_000 })),
    );
    const rates = outputs.map((o) => o.stdout.trim().split("\n").map(Number));
    const sums = Array.from({ length: repeats }, (_, i) => rates.reduce((sum, r) => sum + r[i], 0));
    return { bytesPerSecond: summarize(sums), bufferBytes: per * threads, repeats, threads };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The service under test: the real `glmbot serve` (bin/glmbot.js) as a child process, started with
 * test/e2e/serviceProcess.ts (port 0, URL from the "ready" log line), a temporary data directory and a
 * bench config file. Memory figures come from the child's /proc/<pid>/status.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startService, type ServiceProcess } from "../test/e2e/serviceProcess.js";
import { sleep } from "./stats.js";

export interface BenchServiceOptions {
  modelPath: string;
  threads: number;
  contextSize: number;
  sequences: number;
  maxPending: number;
  maxPendingPerUser: number;
  /** Default reply length (requests set max_tokens themselves). */
  maxTokens: number;
  /**
   * Preload bench/probe.mjs, which logs the prompt tokens each generation evaluates (one stderr line per
   * generation; see that file). Used only for the prefix-reuse figures.
   */
  probe?: boolean;
}

/** Memory of a process, bytes (from /proc/<pid>/status). */
export interface ProcMemory {
  rss: number;
  rssAnon: number;
  rssFile: number;
  hwm: number;
}

export function procMemory(pid: number): ProcMemory {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
    return m ? Number(m[1]) * 1024 : NaN;
  };
  return { rss: kb("VmRSS"), rssAnon: kb("RssAnon"), rssFile: kb("RssFile"), hwm: kb("VmHWM") };
}

export interface BenchService {
  url: string;
  pid: number;
  memory(): ProcMemory;
  /** What the probe logged so far, one record per generation, in order. */
  probeRecords(): ProbeRecord[];
  /** The service's combined stdout+stderr so far. */
  output(): string;
  /** Samples memory every `everyMs` until the returned function is called; it resolves with the peak RSS sample. */
  sampleMemory(everyMs?: number): () => ProcMemory;
  /** CPU time the service's main (JavaScript) thread has used so far, ns (/proc/<pid>/task/<pid>/schedstat). */
  mainThreadCpuNs(): number;
  /** Prometheus gauge `glmbot_queue_depth`. */
  queueDepth(): Promise<number>;
  stop(): Promise<void>;
}

export const PROBE_MARK = "GLMBOT_BENCH_PROBE ";

/** One generation as bench/probe.mjs saw it. Times are epoch ms (performance.timeOrigin + performance.now()). */
export interface ProbeRecord {
  /** Prompt tokens evaluated (not taken from the KV cache). */
  evaluate: number;
  /** Tokens the sequence held before (the kept prefix). */
  cached: number;
  calledAt: number;
  firstTokenAt: number;
}
const PROBE = fileURLToPath(new URL("./probe.mjs", import.meta.url));

export async function startBenchService(o: BenchServiceOptions): Promise<BenchService> {
  const dir = await mkdtemp(join(tmpdir(), "glmbot-bench-"));
  const config = join(dir, "bench.yaml");
  await writeFile(
    config,
    [
      "model:",
      `  contextSize: ${o.contextSize}`,
      `  sequences: ${o.sequences}`,
      "generation:",
      `  maxTokens: ${o.maxTokens}`,
      "  temperature: 0",
      "  seed: 1",
      "queue:",
      `  maxPending: ${o.maxPending}`,
      `  maxPendingPerUser: ${o.maxPendingPerUser}`,
      "  deadlineMs: 600000",
      "log:",
      "  level: info",
      "",
    ].join("\n"),
  );
  const env: Record<string, string> = {
    GLMBOT_MODEL: o.modelPath,
    GLMBOT_THREADS: String(o.threads),
    GLMBOT_GPU: "false",
    GLMBOT_DATA_DIR: join(dir, "data"),
  };
  if (o.probe) env.NODE_OPTIONS = `--import=${PROBE}`;
  let service: ServiceProcess;
  try {
    service = await startService(env, ["--config", config]);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const pid = service.child.pid!;
  const memory = () => procMemory(pid);
  return {
    url: service.url,
    pid,
    memory,
    output: service.output,
    probeRecords: () =>
      service
        .output()
        .split("\n")
        .filter((l) => l.startsWith(PROBE_MARK))
        .map((l) => JSON.parse(l.slice(PROBE_MARK.length)) as ProbeRecord),
    mainThreadCpuNs: () => Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, "utf8").split(" ")[0]),
    sampleMemory(everyMs = 50) {
      let peak = memory();
      const timer = setInterval(() => {
        const m = memory();
        if (m.rss > peak.rss) peak = m;
      }, everyMs);
      return () => {
        clearInterval(timer);
        const m = memory();
        return m.rss > peak.rss ? m : peak;
      };
    },
    async queueDepth() {
      const text = await (await fetch(`${service.url}/metrics`)).text();
      const m = /^glmbot_queue_depth (\S+)$/m.exec(text);
      return m ? Number(m[1]) : NaN;
    },
    async stop() {
      try {
        const code = await service.stop();
        if (code !== 0) process.stderr.write(`bench: glmbot exited with ${code}\n`);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

/** Polls until `check` is true or `timeoutMs` passes (then throws). */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const until = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

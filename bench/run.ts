/**
 * `npm run bench -- [--size small|6b] [--threads N] [--runs N] …`: glmbot's speed, measured as ratios in one
 * run (README, "Performance"). Prints a Markdown table on stdout (progress on stderr) and writes the JSON
 * result to bench/results/<size>.json (`<size>-partial.json` with --only).
 *
 * Order: model (cached) → memory bandwidth → baseline model in this process → service A (plain
 * `glmbot serve`): warm-up, overhead, concurrency (+ footprint under load), overload, with idle footprint
 * samples in between → service B (same, with bench/probe.mjs preloaded): prefix reuse → report.
 */
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { getModuleVersion, readGgufFileInfo } from "node-llama-cpp";
import { copyBandwidth, readBandwidth, type BandwidthResult, type ReadBandwidthResult } from "./bandwidth.js";
import { Baseline } from "./baseline.js";
import { streamMessage } from "./client.js";
import { BENCH_SIZES, benchModel, type BenchModel, type BenchSize, type MatrixTypeName } from "./models.js";
import {
  measureConcurrency,
  measureOverhead,
  measureOverload,
  measurePrefixReuse,
  OVERHEAD_TEXT,
  type ConcurrencyResult,
  type OverheadResult,
  type OverloadResult,
  type PrefixResult,
} from "./scenarios.js";
import { startBenchService, type BenchService, type BenchServiceOptions, type ProcMemory } from "./service.js";
import { fmt, summarize, type Summary } from "./stats.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** Reply length of the concurrency runs. */
const CONCURRENCY_TOKENS = 40;
const FIGURES = ["overhead", "prefix", "concurrency", "overload", "bandwidth", "footprint"] as const;
type Figure = (typeof FIGURES)[number];

const HELP = `Usage: npm run bench -- [options]

Measures glmbot's speed as ratios within one run (median, min and max over --runs runs) on a generated
ChatGLM3-shaped random-weight model, and prints a Markdown table; the JSON goes to bench/results/<size>.json.

Options:
  --size <small|6b>        bench model (default small: ≈0.53 GB Q8_0; 6b: ChatGLM3-6B dimensions, ≈3.5 GB Q4_0)
  --type <q8_0|q4_0|f16>   matrix type of the model (default q8_0 for small, q4_0 for 6b)
  --threads <n>            CPU threads for llama.cpp, service and baseline alike (default 1)
  --runs <n>               runs per figure (default 3)
  --overhead-runs <n>      runs of the overhead figure (default 3 × --runs: it compares three short measurements)
  --max-tokens <n>         reply length of the overhead runs (default 96)
  --context-size <n>       tokens per sequence (default 2048)
  --sequences <n>          parallel sequences of the service and the baseline context (default 8)
  --only <list>            comma-separated subset of: ${FIGURES.join(",")}
  --out <file>             JSON result path (default bench/results/<size>.json; <size>-partial.json with --only)
  --timeout-min <n>        abort the whole run after n minutes (default 30; 180 for 6b)
  -h, --help               show this help
`;

interface Options {
  size: BenchSize;
  type?: MatrixTypeName;
  threads: number;
  runs: number;
  overheadRuns: number;
  maxTokens: number;
  contextSize: number;
  sequences: number;
  only: Set<Figure>;
  out: string;
  timeoutMin: number;
}

function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      size: { type: "string", default: "small" },
      type: { type: "string" },
      threads: { type: "string", default: "1" },
      runs: { type: "string", default: "3" },
      "overhead-runs": { type: "string" },
      "max-tokens": { type: "string", default: "96" },
      "context-size": { type: "string", default: "2048" },
      sequences: { type: "string", default: "8" },
      only: { type: "string" },
      out: { type: "string" },
      "timeout-min": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return undefined;
  }
  const int = (flag: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min) throw new Error(`--${flag} must be an integer ≥ ${min}`);
    return n;
  };
  const size = values.size as BenchSize;
  if (!(size in BENCH_SIZES)) throw new Error("--size must be small or 6b");
  if (values.type !== undefined && !["q8_0", "q4_0", "f16"].includes(values.type)) throw new Error("--type must be q8_0, q4_0 or f16");
  const only = new Set<Figure>((values.only?.split(",").map((s) => s.trim()).filter(Boolean) ?? FIGURES) as Figure[]);
  for (const f of only) if (!FIGURES.includes(f)) throw new Error(`--only: unknown figure ${f} (${FIGURES.join(", ")})`);
  const options: Options = {
    size,
    type: values.type as MatrixTypeName | undefined,
    threads: int("threads", values.threads, 1),
    runs: int("runs", values.runs, 1),
    overheadRuns: int("overhead-runs", values["overhead-runs"] ?? String(3 * Number(values.runs)), 1),
    maxTokens: int("max-tokens", values["max-tokens"], 8),
    contextSize: int("context-size", values["context-size"], 512),
    sequences: int("sequences", values.sequences, 1),
    only,
    out: resolve(values.out ?? join(ROOT, "bench", "results", values.only ? `${size}-partial.json` : `${size}.json`)),
    timeoutMin: int("timeout-min", values["timeout-min"] ?? (size === "6b" ? "180" : "30"), 1),
  };
  if (options.maxTokens + 200 >= options.contextSize) throw new Error("--max-tokens must leave room for the prompt in --context-size");
  return options;
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const MB = 1e6;
const mb = (bytes: number) => `${(bytes / MB).toFixed(0)} MB`;
const gb = (bytes: number) => `${(bytes / 1e9).toFixed(2)} GB`;

/** Bytes llama.cpp reads per generated token: every tensor once, except the embedding table (one row). */
async function weightBytesPerToken(model: BenchModel): Promise<{ weights: number; embeddingTable: number; kvBytesPerCell: number }> {
  const info = await readGgufFileInfo(model.path, { logWarnings: false });
  const tensors = [...(info.fullTensorInfo ?? info.tensorInfo ?? [])].sort((a, b) => Number(a.fileOffset) - Number(b.fileOffset));
  let weights = 0;
  let embeddingTable = 0;
  tensors.forEach((t, i) => {
    const end = i + 1 < tensors.length ? Number(tensors[i + 1].fileOffset) : model.fileBytes;
    const bytes = end - Number(t.fileOffset);
    if (t.name === "token_embd.weight") {
      embeddingTable = bytes;
      weights += bytes / Number(t.dimensions[1]);
    } else weights += bytes;
  });
  const d = model.dims;
  // K and V, F16 (node-llama-cpp's default KV cache type), every layer
  const kvBytesPerCell = d.nLayer * 2 * d.nHeadKv * (d.nEmbd / d.nHead) * 2;
  return { weights, embeddingTable, kvBytesPerCell };
}

interface BandwidthBound {
  copy: BandwidthResult;
  weightBytesPerToken: number;
  kvBytesPerToken: number;
  /** Tokens/s if every token only had to stream its bytes at the copy bandwidth (its best repetition). */
  ceilingTps: number;
  /** Service decode tokens/s ÷ ceiling, per overhead run. */
  ratio: Summary;
  /** Baseline raw-evaluate decode ÷ ceiling. */
  ratioRaw: Summary;
  /** Cross-check with the read-only bandwidth (C loop), when a C compiler was available. */
  read?: ReadBandwidthResult & { ceilingTps: number; ratio: Summary };
}

interface Footprint {
  modelFileBytes: number;
  /** Idle samples: after the warm-up, after the overhead runs, after the concurrency runs. */
  idle: ProcMemory[];
  /** Peak of each concurrency run. */
  load: ProcMemory[];
  /** RSS − model file size, bytes. */
  idleOverFile: Summary;
  loadOverFile?: Summary;
}

interface Results {
  overhead?: OverheadResult;
  prefix?: PrefixResult;
  concurrency?: ConcurrencyResult;
  overload?: OverloadResult;
  bandwidth?: BandwidthBound;
  footprint?: Footprint;
}

function table(o: Options, model: BenchModel, machine: Record<string, unknown>, r: Results): string {
  const rows: string[][] = [];
  const details: string[] = [];
  const met = (ok: boolean) => (ok ? "met" : "**not met**");
  const x = (s: Summary, d = 2) => `×${fmt(s, d)}`;
  const mbs = (s: Summary) => fmt(summarize(s.runs.map((b) => b / MB)), 1, " MB");
  if (r.overhead) {
    const v = r.overhead;
    rows.push(["1", "Overhead: decode tok/s through the service ÷ plain `LlamaChatSession`", x(v.ratio, 3), "≥ 0.97", met(v.ratio.median >= 0.97)]);
    details.push(
      `Overhead (${v.runs.length} runs × ${v.maxTokens} tokens, SSE \`token\` events timed on arrival): service ${fmt(v.serviceTps, 1)} tok/s, ` +
        `\`LlamaChatSession\` ${fmt(v.chatSessionTps, 1)}, raw \`sequence.evaluate\` ${fmt(v.rawTps, 1)}; service ÷ raw ${x(v.ratioRaw, 3)}; ` +
        `service ÷ \`LlamaChatSession\` from median token intervals ${x(v.ratioMedianInterval, 3)}; JavaScript main-thread CPU per token: ` +
        `service ${fmt(v.mainThreadCpuMsPerToken.service, 2, " ms")}, \`LlamaChatSession\` ${fmt(v.mainThreadCpuMsPerToken.chatSession, 2, " ms")}, ` +
        `raw ${fmt(v.mainThreadCpuMsPerToken.rawEvaluate, 2, " ms")}.`,
    );
  }
  if (r.prefix) {
    const v = r.prefix;
    const last = v.perTurn[v.perTurn.length - 1];
    const split = (t: PrefixResult["perTurn"][number]) =>
      `${t.beforeEvaluateMs.median.toFixed(0)} + ${t.evaluateMs.median.toFixed(0)} + ${t.deliveryMs.median.toFixed(0)} ms`;
    rows.push(["2", `Prefix reuse: time to first token, turn ${last.turn} ÷ turn 1`, x(v.ratio), "≤ 1.5", met(v.ratio.median <= 1.5)]);
    details.push(
      `Prefix reuse (${v.runs.length} conversations × ${v.perTurn.length} turns × ${v.maxTokens} tokens): TTFT turn 1 ${fmt(v.ttftFirst, 0, " ms")}, ` +
        `turn ${last.turn} ${fmt(v.ttftLast, 0, " ms")}; split (glmbot before llama.cpp + llama.cpp prompt evaluation + SSE delivery, medians): ` +
        `turn 1 ${split(v.perTurn[0])}, turn ${last.turn} ${split(last)}; llama.cpp part alone turn ${last.turn} ÷ turn 1 ${x(v.evaluateRatio)}; ` +
        `evaluated / prompt tokens per turn: ${v.perTurn.map((t) => `${t.evaluatedTokens}/${t.promptTokens}`).join(", ")}.`,
    );
  }
  if (r.concurrency) {
    const v = r.concurrency;
    const levels = v.levels.filter((l) => l.conversations > 1);
    rows.push([
      "3",
      `Concurrency: aggregate decode tok/s with ${levels.map((l) => l.conversations).join(" / ")} conversations ÷ 1`,
      levels.map((l) => `${l.conversations}: ${x(l.ratio)}`).join("; "),
      "—",
      "",
    ]);
    details.push(
      `Concurrency (${o.sequences} sequences, ${v.maxTokens} tokens per reply, no system prompt): aggregate ` +
        v.levels.map((l) => `${l.conversations}: ${fmt(l.aggregateTps, 1)}`).join("; ") +
        " tok/s" +
        (v.levels[0].baselineRatio
          ? `; plain node-llama-cpp, N sequences of one context: ${v.levels.map((l) => `${l.conversations}: ${fmt(l.baselineTps!, 1)} tok/s (${x(l.baselineRatio!)})`).join("; ")}.`
          : "."),
    );
  }
  if (r.overload) {
    const v = r.overload;
    const refused = v.runs.map((run) => run.refused);
    rows.push(["4", `Overload: refusal latency p50 / p99 (${v.requests} requests at once, max pending ${v.maxPending})`, `${fmt(v.p50Ms, 1, " ms")} / ${fmt(v.p99Ms, 1, " ms")}`, "p99 < 50 ms", met(v.p99Ms.median < 50)]);
    const growth = Math.max(v.rssGrowth.max, v.rssGrowthTotal);
    rows.push(["4", "Overload: service RSS growth per burst (after all bursts)", `${mbs(v.rssGrowth)} (${(v.rssGrowthTotal / MB).toFixed(1)} MB)`, "< 50 MB", met(growth < 50 * MB)]);
    details.push(
      `Overload: ${Math.min(...refused)}–${Math.max(...refused)} of ${v.requests} refused with 429 \`queue_full\` per burst while one reply was decoding; ` +
        `first refusal after ${fmt(summarize(v.runs.map((run) => run.minMs)), 1, " ms")}, last after ${fmt(summarize(v.runs.map((run) => run.maxMs)), 1, " ms")}; ` +
        (v.serverP99Ms ? `inside Fastify (its \`responseTime\`) p50 ${fmt(v.serverP50Ms!, 1, " ms")}, p99 ${fmt(v.serverP99Ms, 1, " ms")}; ` : "") +
        `service main thread ${fmt(v.mainThreadCpuMsPerRequest, 2, " ms")} CPU per request; ` +
        `RSS ${v.runs.map((run) => `${mb(run.rssBefore)} → ${mb(run.rssAfter)}`).join(", ")}.`,
    );
  }
  if (r.bandwidth) {
    const v = r.bandwidth;
    rows.push(["5", "Bandwidth bound: service decode ÷ ceiling", x(v.ratio), "—", ""]);
    details.push(
      `Bandwidth bound: ceiling ${v.ceilingTps.toFixed(1)} tok/s = best memory copy ${(v.copy.bytesPerSecond.max / 1e9).toFixed(1)} GB/s ` +
        `(read + written, ${v.copy.threads} thread${v.copy.threads > 1 ? "s" : ""}; ${fmt(summarize(v.copy.bytesPerSecond.runs.map((b) => b / 1e9)), 1, " GB/s")} over ${v.copy.repeats} copies of ${mb(v.copy.bufferBytes)}) ` +
        `÷ ${mb(v.weightBytesPerToken + v.kvBytesPerToken)} read per token (${mb(v.weightBytesPerToken)} weights + ${mb(v.kvBytesPerToken)} KV cache); raw \`sequence.evaluate\` ÷ ceiling ${x(v.ratioRaw)}` +
        (v.read
          ? `; cross-check with read-only bandwidth (C loop, best ${(v.read.bytesPerSecond.max / 1e9).toFixed(1)} GB/s): ceiling ${v.read.ceilingTps.toFixed(1)} tok/s, service decode ÷ ceiling ${x(v.read.ratio)}.`
          : "."),
    );
  }
  if (r.footprint) {
    const v = r.footprint;
    rows.push(["6", "Footprint: service RSS − model file size, idle / under load", `${mbs(v.idleOverFile)}${v.loadOverFile ? ` / ${mbs(v.loadOverFile)}` : ""}`, "—", ""]);
    const parts = (ms: ProcMemory[]) =>
      `RSS ${mbs(summarize(ms.map((m) => m.rss)))} (anonymous ${mbs(summarize(ms.map((m) => m.rssAnon)))}, file-backed ${mbs(summarize(ms.map((m) => m.rssFile)))})`;
    details.push(
      `Footprint: model file ${mb(v.modelFileBytes)}; idle ${parts(v.idle)}${v.load.length ? `; peak under load (up to 8 conversations) ${parts(v.load)}` : ""}.`,
    );
  }
  const header =
    `Model \`${o.size}\` (${model.type.toUpperCase()}, ${gb(model.fileBytes)}, hidden ${model.dims.nEmbd}, ${model.dims.nLayer} layers); ` +
    `${machine.cpuModel}, ${machine.cores} cores, ${o.threads} thread${o.threads > 1 ? "s" : ""}; context ${o.contextSize} × ${o.sequences} sequences; ` +
    `node-llama-cpp ${machine.nodeLlamaCpp} (llama.cpp ${machine.llamaCpp}); 1-minute load average ` +
    `${(machine.loadAverageStart as number[])[0].toFixed(1)} → ${(machine.loadAverageEnd as number[])[0].toFixed(1)}; median (min–max) over ${o.runs} runs.`;
  return [
    header,
    "",
    "| # | figure | median (min–max) | target | |",
    "|---|---|---|---|---|",
    ...rows.map((row) => `| ${row.join(" | ")} |`),
    "",
    ...details.map((d) => `- ${d}`),
  ].join("\n");
}

async function main(argv: string[]): Promise<number> {
  const o = parseOptions(argv);
  if (!o) return 0;
  const started = performance.now();
  const loadAverageStart = os.loadavg();
  const services: BenchService[] = [];
  let baseline: Baseline | undefined;
  const cleanup = async () => {
    await Promise.allSettled(services.splice(0).map((s) => s.stop()));
    const b = baseline;
    baseline = undefined;
    await b?.dispose().catch(() => undefined);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    log(`bench: ${signal}, stopping`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const watchdog = setTimeout(() => {
    log(`bench: still running after ${o.timeoutMin} minutes, giving up`);
    void cleanup().finally(() => process.exit(124));
  }, o.timeoutMin * 60_000);

  try {
    if (o.runs < 3) log(`bench: --runs ${o.runs} is below the 3 runs the figures are meant to be read over`);
    const model = await benchModel(o.size, o.type, 1, log);
    log(`model: ${relative(ROOT, model.path)} (${gb(model.fileBytes)}${model.generated ? `, generated in ${model.generateSeconds.toFixed(1)} s` : ", cached"})`);
    const want = (f: Figure) => o.only.has(f);
    const r: Results = {};

    let copy: BandwidthResult | undefined;
    let read: ReadBandwidthResult | undefined;
    if (want("bandwidth")) {
      log(`memory bandwidth: copying ${mb(512 * 2 ** 20)} buffers with ${o.threads} thread(s) …`);
      copy = await copyBandwidth(o.threads);
      log(`  copy (read + written) ${fmt(summarize(copy.bytesPerSecond.runs.map((b) => b / 1e9)), 1, " GB/s")}`);
      read = await readBandwidth(o.threads);
      log(read ? `  read only (C loop) ${fmt(summarize(read.bytesPerSecond.runs.map((b) => b / 1e9)), 1, " GB/s")}` : "  read only: skipped (no C compiler)");
    }

    const needA = want("overhead") || want("concurrency") || want("overload") || want("footprint") || want("bandwidth");
    const serviceOptions: BenchServiceOptions = {
      modelPath: model.path,
      threads: o.threads,
      contextSize: o.contextSize,
      sequences: o.sequences,
      maxPending: 32,
      maxPendingPerUser: 1000,
      maxTokens: o.maxTokens,
    };
    let llamaCpp = "unknown";
    let llamaSystemInfo = "unknown";
    if (want("overhead") || want("bandwidth") || want("concurrency")) {
      log("baseline: loading the model in this process (plain node-llama-cpp) …");
      baseline = await Baseline.open({ modelPath: model.path, threads: o.threads, contextSize: o.contextSize, sequences: o.sequences });
      llamaCpp = baseline.llamaCppRelease;
      llamaSystemInfo = baseline.llama.systemInfo.trim();
      await baseline.rawEvaluate([{ role: "user", content: "warm-up" }], 8);
    }

    if (needA) {
      log("service A: starting glmbot serve …");
      const a = await startBenchService(serviceOptions);
      services.push(a);
      log(`  ${a.url} (pid ${a.pid})`);
      const warm = await streamMessage(a.url, { conversation_id: "warm-up", user: "bench", text: OVERHEAD_TEXT, max_tokens: 8, temperature: 0 });
      if (!warm.done) throw new Error(`service warm-up failed: ${JSON.stringify(warm.error)}`);
      const idle: ProcMemory[] = [];
      const idleSample = () => {
        const m = a.memory();
        idle.push(m);
        log(`  idle RSS ${mb(m.rss)} (anonymous ${mb(m.rssAnon)}, file-backed ${mb(m.rssFile)})`);
      };
      idleSample();

      if (want("overhead") || want("bandwidth")) {
        log(`overhead: ${o.overheadRuns} runs × ${o.maxTokens} tokens (service, LlamaChatSession, raw evaluate) …`);
        r.overhead = await measureOverhead(a, baseline!, o.overheadRuns, o.maxTokens, log);
        idleSample();
      }
      if (want("concurrency") || want("footprint")) {
        const levels = [1, 2, 4, 8].filter((n) => n <= o.sequences);
        log(`concurrency: ${levels.join(", ")} conversations × ${o.runs} runs × ${CONCURRENCY_TOKENS} tokens (service, then plain node-llama-cpp) …`);
        r.concurrency = await measureConcurrency(a, baseline, levels, o.runs, CONCURRENCY_TOKENS, log);
        idleSample();
      }
      if (want("footprint")) {
        const load = r.concurrency?.peaks ?? [];
        r.footprint = {
          modelFileBytes: model.fileBytes,
          idle,
          load,
          idleOverFile: summarize(idle.map((m) => m.rss - model.fileBytes)),
          ...(load.length ? { loadOverFile: summarize(load.map((m) => m.rss - model.fileBytes)) } : {}),
        };
      }
      if (baseline) {
        await baseline.dispose();
        baseline = undefined;
      }
      if (want("overload")) {
        log(`overload: 200 concurrent requests, max pending 32, × ${o.runs} runs …`);
        r.overload = await measureOverload(a, 200, 32, o.runs, log);
      }
      await a.stop();
      services.splice(services.indexOf(a), 1);
    }

    if (want("bandwidth") && copy && r.overhead) {
      const bytes = await weightBytesPerToken(model);
      const run0 = r.overhead.runs[0].service;
      const kvBytesPerToken = bytes.kvBytesPerCell * (run0.promptTokens + o.maxTokens / 2);
      // the best repetition: interference from other processes only ever slows a copy down
      const ceilingTps = copy.bytesPerSecond.max / (bytes.weights + kvBytesPerToken);
      r.bandwidth = {
        copy,
        weightBytesPerToken: bytes.weights,
        kvBytesPerToken,
        ceilingTps,
        ratio: summarize(r.overhead.runs.map((run) => run.service.decodeTps / ceilingTps)),
        ratioRaw: summarize(r.overhead.runs.map((run) => run.rawEvaluate.decodeTps / ceilingTps)),
      };
      if (read) {
        const readCeiling = read.bytesPerSecond.max / (bytes.weights + kvBytesPerToken);
        r.bandwidth.read = { ...read, ceilingTps: readCeiling, ratio: summarize(r.overhead.runs.map((run) => run.service.decodeTps / readCeiling)) };
      }
      log(`bandwidth bound: ${mb(bytes.weights)} weights + ${mb(kvBytesPerToken)} KV per token → ceiling ${ceilingTps.toFixed(1)} tok/s`);
    }

    if (want("prefix")) {
      log("service B: starting glmbot serve with bench/probe.mjs (evaluated-token counts) …");
      const b = await startBenchService({ ...serviceOptions, probe: true });
      services.push(b);
      const warm = await streamMessage(b.url, { conversation_id: "warm-up", user: "bench", text: OVERHEAD_TEXT, max_tokens: 8, temperature: 0 });
      if (!warm.done) throw new Error(`service warm-up failed: ${JSON.stringify(warm.error)}`);
      log(`prefix reuse: ${o.runs} conversations × 10 turns × 32 tokens …`);
      r.prefix = await measurePrefixReuse(b, o.runs, 32, log);
      await b.stop();
      services.splice(services.indexOf(b), 1);
    }

    const machine = {
      cpuModel: os.cpus()[0]?.model.trim() ?? "unknown",
      cores: os.availableParallelism(),
      threadsUsed: o.threads,
      totalMemoryBytes: os.totalmem(),
      platform: `${os.platform()} ${os.release()} ${os.arch()}`,
      node: process.version,
      nodeLlamaCpp: await getModuleVersion(),
      llamaCpp,
      llamaSystemInfo,
      loadAverageStart,
      loadAverageEnd: os.loadavg(),
    };
    const text = table(o, model, machine, r);
    process.stdout.write(`${text}\n`);
    const totalSeconds = (performance.now() - started) / 1000;
    log(`bench: done in ${(totalSeconds / 60).toFixed(1)} minutes`);
    await mkdir(dirname(o.out), { recursive: true });
    const json = {
      date: new Date().toISOString(),
      command: `npm run bench -- ${argv.join(" ")}`.trim(),
      machine,
      options: { ...o, only: [...o.only], out: relative(ROOT, o.out) },
      model: { ...model, path: relative(ROOT, model.path) },
      results: r,
      table: text,
      totalSeconds,
    };
    await writeFile(o.out, `${JSON.stringify(json, null, 2)}\n`);
    log(`results: ${relative(ROOT, o.out)}`);
    return 0;
  } catch (err) {
    log(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return 1;
  } finally {
    clearTimeout(watchdog);
    await cleanup();
  }
}

process.exitCode = await main(process.argv.slice(2));

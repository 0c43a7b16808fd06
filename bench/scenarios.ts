/**
 * The measurements of `npm run bench`. Each runs its workload `runs` times and keeps every run's value;
 * ratios are formed per run (numerator and denominator measured back to back) before the median is taken,
 * so slow phases of a shared machine hit both sides of a ratio alike.
 */
import type { ChatTurn } from "../src/core/ports.js";
import type { Baseline, DecodeRun } from "./baseline.js";
import { assertFullLength, streamMessage, ttftMs } from "./client.js";
import { burst } from "./burst.js";
import { waitFor, type BenchService, type ProcMemory } from "./service.js";
import { aggregateRate, decodeRate, medianIntervalRate, ownMainThreadCpuNs, percentile, sleep, summarize, type Summary } from "./stats.js";

export type Log = (line: string) => void;

/** The user message of the overhead runs (service and baseline alike). */
export const OVERHEAD_TEXT = "Please summarise what a KV cache is and why it matters for chat latency.";

/** Ten user messages of one conversation (prefix reuse), of similar length. */
export const TURN_TEXTS = [
  "Our deploy failed with exit code 137. What does that usually mean?",
  "How can I check whether the container ran out of memory last night?",
  "Which kubectl command shows the previous pod's termination reason?",
  "Suggest sensible memory requests and limits for a small Node service.",
  "What is the difference between a liveness and a readiness probe?",
  "Write a short checklist for our on-call engineer for this incident.",
  "How do we tell the team without blaming anybody? Draft two lines.",
  "Summarise the root cause in one sentence for the weekly report.",
  "What monitoring alert would have caught this before the customers?",
  "Thanks. Please list the three follow-up tasks with their owners.",
];

/** The user message of the concurrency and overload requests (no system prompt: short prompts). */
export const SHORT_TEXT = "Write a short poem about GPUs.";

// ---------------------------------------------------------------- 1. overhead

export interface OverheadRun {
  service: { decodeTps: number; medianIntervalTps: number; ttftMs: number; promptTokens: number; completionTokens: number; tokenEvents: number };
  chatSession: DecodeRun;
  rawEvaluate: DecodeRun;
  /**
   * CPU time of the JavaScript main thread per generated token, ms: the service's (HTTP, glmbot, SSE) and
   * this process's for the baselines (node-llama-cpp alone). llama.cpp's own threads are not included.
   */
  mainThreadCpuMsPerToken: { service: number; chatSession: number; rawEvaluate: number };
  /** service ÷ chatSession decode tokens/s. */
  ratio: number;
  /** service ÷ rawEvaluate decode tokens/s. */
  ratioRaw: number;
  /** service ÷ chatSession, from the median token intervals. */
  ratioMedianInterval: number;
}

export interface OverheadResult {
  runs: OverheadRun[];
  ratio: Summary;
  ratioRaw: Summary;
  ratioMedianInterval: Summary;
  mainThreadCpuMsPerToken: { service: Summary; chatSession: Summary; rawEvaluate: Summary };
  serviceTps: Summary;
  chatSessionTps: Summary;
  rawTps: Summary;
  maxTokens: number;
}

/**
 * Decode tokens/s through the service (`POST /v1/messages`, `stream: true`; one SSE `token` event per token,
 * timed on arrival) and of the plain node-llama-cpp baselines on the same prompt (no system prompt: the
 * prompt only sets where decoding starts), each run on a new conversation / empty sequence. The three are
 * run back to back in rotating order.
 */
export async function measureOverhead(service: BenchService, baseline: Baseline, runs: number, maxTokens: number, log: Log): Promise<OverheadResult> {
  const turns: ChatTurn[] = [{ role: "user", content: OVERHEAD_TEXT }];
  const out: OverheadRun[] = [];
  for (let r = 0; r < runs; r++) {
    let svc: OverheadRun["service"] | undefined;
    let chat: DecodeRun | undefined;
    let raw: DecodeRun | undefined;
    const cpu = { service: NaN, chatSession: NaN, rawEvaluate: NaN };
    const timed = async <T>(read: () => number, key: keyof typeof cpu, work: () => Promise<T>): Promise<T> => {
      const before = read();
      const result = await work();
      cpu[key] = (read() - before) / 1e6 / maxTokens;
      return result;
    };
    const steps = [
      () => timed(() => service.mainThreadCpuNs(), "service", async () => {
        const s = await streamMessage(service.url, { conversation_id: `overhead-${r}`, user: "bench", system: "", text: OVERHEAD_TEXT, max_tokens: maxTokens, temperature: 0 });
        assertFullLength(s, maxTokens, "overhead (service)");
        svc = {
          decodeTps: decodeRate(s.tokenTimes),
          medianIntervalTps: medianIntervalRate(s.tokenTimes),
          ttftMs: ttftMs(s),
          promptTokens: s.done!.usage.prompt_tokens,
          completionTokens: s.done!.usage.completion_tokens,
          tokenEvents: s.tokenTimes.length,
        };
      }),
      () => timed(ownMainThreadCpuNs, "chatSession", async () => {
        chat = await baseline.chatSession("", OVERHEAD_TEXT, maxTokens);
      }),
      () => timed(ownMainThreadCpuNs, "rawEvaluate", async () => {
        raw = await baseline.rawEvaluate(turns, maxTokens);
      }),
    ];
    for (let i = 0; i < steps.length; i++) await steps[(i + r) % steps.length]();
    if (chat!.completionTokens !== maxTokens || raw!.completionTokens !== maxTokens)
      throw new Error(`overhead baseline: ${chat!.completionTokens} / ${raw!.completionTokens} tokens, expected ${maxTokens}`);
    const run: OverheadRun = {
      service: svc!,
      chatSession: chat!,
      rawEvaluate: raw!,
      ratio: svc!.decodeTps / chat!.decodeTps,
      ratioRaw: svc!.decodeTps / raw!.decodeTps,
      ratioMedianInterval: svc!.medianIntervalTps / chat!.medianIntervalTps,
      mainThreadCpuMsPerToken: cpu,
    };
    out.push(run);
    log(
      `  overhead run ${r + 1}/${runs}: service ${run.service.decodeTps.toFixed(2)} tok/s (${run.service.tokenEvents} events / ${run.service.completionTokens} tokens), ` +
        `LlamaChatSession ${chat!.decodeTps.toFixed(2)}, raw evaluate ${raw!.decodeTps.toFixed(2)} → ×${run.ratio.toFixed(3)} / ×${run.ratioRaw.toFixed(3)}; ` +
        `main-thread CPU per token ${cpu.service.toFixed(2)} / ${cpu.chatSession.toFixed(2)} / ${cpu.rawEvaluate.toFixed(2)} ms`,
    );
  }
  return {
    runs: out,
    ratio: summarize(out.map((r) => r.ratio)),
    ratioRaw: summarize(out.map((r) => r.ratioRaw)),
    ratioMedianInterval: summarize(out.map((r) => r.ratioMedianInterval)),
    mainThreadCpuMsPerToken: {
      service: summarize(out.map((r) => r.mainThreadCpuMsPerToken.service)),
      chatSession: summarize(out.map((r) => r.mainThreadCpuMsPerToken.chatSession)),
      rawEvaluate: summarize(out.map((r) => r.mainThreadCpuMsPerToken.rawEvaluate)),
    },
    serviceTps: summarize(out.map((r) => r.service.decodeTps)),
    chatSessionTps: summarize(out.map((r) => r.chatSession.decodeTps)),
    rawTps: summarize(out.map((r) => r.rawEvaluate.decodeTps)),
    maxTokens,
  };
}

// ---------------------------------------------------------------- 2. prefix reuse

export interface PrefixTurn {
  turn: number;
  ttftMs: number;
  promptTokens: number;
  /** Prompt tokens llama.cpp evaluated (the rest came from the KV cache), from bench/probe.mjs. */
  evaluatedTokens: number;
  completionTokens: number;
  /** TTFT split (ms): request sent → glmbot calls llama.cpp (HTTP, admission, memory, window fit, tokenizing) … */
  beforeEvaluateMs: number;
  /** … → first token out of llama.cpp (prompt evaluation + first sample) … */
  evaluateMs: number;
  /** … → its SSE event received by the client. */
  deliveryMs: number;
}

export interface PrefixResult {
  runs: PrefixTurn[][];
  /** TTFT of turn 10 ÷ turn 1, per run. */
  ratio: Summary;
  /** The same for the llama.cpp part alone (evaluate() called → first token), per run. */
  evaluateRatio: Summary;
  ttftFirst: Summary;
  ttftLast: Summary;
  /** Per turn: median TTFT (and its split) over runs, and the prompt / evaluated tokens of the first run. */
  perTurn: Array<{ turn: number; ttftMs: Summary; beforeEvaluateMs: Summary; evaluateMs: Summary; deliveryMs: Summary; promptTokens: number; evaluatedTokens: number }>;
  maxTokens: number;
}

/** One conversation of `TURN_TEXTS.length` turns per run (a new conversation each run), through the probed service. */
export async function measurePrefixReuse(service: BenchService, runs: number, maxTokens: number, log: Log): Promise<PrefixResult> {
  const all: PrefixTurn[][] = [];
  for (let r = 0; r < runs; r++) {
    const turns: PrefixTurn[] = [];
    for (let t = 0; t < TURN_TEXTS.length; t++) {
      const before = service.probeRecords().length;
      const s = await streamMessage(service.url, { conversation_id: `prefix-${r}`, user: "bench", text: TURN_TEXTS[t], max_tokens: maxTokens, temperature: 0 });
      assertFullLength(s, maxTokens, `prefix reuse turn ${t + 1}`);
      await waitFor(() => service.probeRecords().length > before, 5_000, "the probe's line");
      const records = service.probeRecords();
      if (records.length !== before + 1) throw new Error(`prefix reuse: expected one generation, the probe saw ${records.length - before}`);
      const probe = records[before];
      const epoch = (t: number) => performance.timeOrigin + t;
      turns.push({
        turn: t + 1,
        ttftMs: ttftMs(s),
        promptTokens: s.done!.usage.prompt_tokens,
        evaluatedTokens: probe.evaluate,
        completionTokens: s.done!.usage.completion_tokens,
        beforeEvaluateMs: probe.calledAt - epoch(s.sentAt),
        evaluateMs: probe.firstTokenAt - probe.calledAt,
        deliveryMs: epoch(s.tokenTimes[0]) - probe.firstTokenAt,
      });
    }
    all.push(turns);
    const first = turns[0];
    const last = turns[turns.length - 1];
    const split = (t: PrefixTurn) => `${t.beforeEvaluateMs.toFixed(0)} + ${t.evaluateMs.toFixed(0)} + ${t.deliveryMs.toFixed(0)}`;
    log(
      `  prefix run ${r + 1}/${runs}: TTFT turn 1 ${first.ttftMs.toFixed(0)} ms (${split(first)}; ${first.evaluatedTokens}/${first.promptTokens} tokens evaluated), ` +
        `turn ${last.turn} ${last.ttftMs.toFixed(0)} ms (${split(last)}; ${last.evaluatedTokens}/${last.promptTokens}) → ×${(last.ttftMs / first.ttftMs).toFixed(3)}`,
    );
  }
  return {
    runs: all,
    ratio: summarize(all.map((t) => t[t.length - 1].ttftMs / t[0].ttftMs)),
    evaluateRatio: summarize(all.map((t) => t[t.length - 1].evaluateMs / t[0].evaluateMs)),
    ttftFirst: summarize(all.map((t) => t[0].ttftMs)),
    ttftLast: summarize(all.map((t) => t[t.length - 1].ttftMs)),
    perTurn: all[0].map((t, i) => ({
      turn: t.turn,
      ttftMs: summarize(all.map((run) => run[i].ttftMs)),
      beforeEvaluateMs: summarize(all.map((run) => run[i].beforeEvaluateMs)),
      evaluateMs: summarize(all.map((run) => run[i].evaluateMs)),
      deliveryMs: summarize(all.map((run) => run[i].deliveryMs)),
      promptTokens: t.promptTokens,
      evaluatedTokens: t.evaluatedTokens,
    })),
    maxTokens,
  };
}

// ---------------------------------------------------------------- 3. concurrency

export interface ConcurrencyLevel {
  conversations: number;
  /** Through the service: Σ(completion tokens − 1) ÷ (last token of any stream − first token of any stream), per run. */
  aggregateTps: Summary;
  /** aggregate ÷ the same run's single-conversation figure. */
  ratio: Summary;
  /** The same for plain node-llama-cpp (N sequences of one context evaluating at once), when measured. */
  baselineTps?: Summary;
  baselineRatio?: Summary;
}

export interface ConcurrencyResult {
  levels: ConcurrencyLevel[];
  maxTokens: number;
  /** Peak service memory while the levels ran, per run. */
  peaks: ProcMemory[];
}

/**
 * `levels` concurrent conversations through the service (new ones each run, distinct users, no system
 * prompt), all sent at once; each level is followed by the same generations on plain node-llama-cpp
 * (`baseline`, optional) so the engine's own batching gain on this machine is measured alongside.
 */
export async function measureConcurrency(
  service: BenchService,
  baseline: Baseline | undefined,
  levels: readonly number[],
  runs: number,
  maxTokens: number,
  log: Log,
): Promise<ConcurrencyResult> {
  const rates = levels.map(() => [] as number[]);
  const ratios = levels.map(() => [] as number[]);
  const baseRates = levels.map(() => [] as number[]);
  const baseRatios = levels.map(() => [] as number[]);
  const text = (i: number) => `${SHORT_TEXT} (${i + 1})`;
  const peaks: ProcMemory[] = [];
  for (let r = 0; r < runs; r++) {
    const stopSampling = service.sampleMemory();
    try {
      const line: string[] = [];
      for (let l = 0; l < levels.length; l++) {
        const n = levels[l];
        const streams = await Promise.all(
          Array.from({ length: n }, (_, i) =>
            streamMessage(service.url, { conversation_id: `conc-${r}-${n}-${i}`, user: `user-${i}`, system: "", text: text(i), max_tokens: maxTokens, temperature: 0 }),
          ),
        );
        streams.forEach((s, i) => assertFullLength(s, maxTokens, `concurrency ${n} stream ${i + 1}`));
        rates[l].push(aggregateRate(streams.map((s) => s.tokenTimes)));
        ratios[l].push(rates[l][r] / rates[0][r]);
        let base = "";
        if (baseline) {
          const times = await baseline.parallelRawEvaluate(Array.from({ length: n }, (_, i) => [{ role: "user" as const, content: text(i) }]), maxTokens);
          baseRates[l].push(aggregateRate(times));
          baseRatios[l].push(baseRates[l][r] / baseRates[0][r]);
          base = ` (plain ${baseRates[l][r].toFixed(1)})`;
        }
        line.push(`${n}: ${rates[l][r].toFixed(1)}${base}`);
      }
      log(`  concurrency run ${r + 1}/${runs}: aggregate tok/s ${line.join(", ")}`);
    } finally {
      peaks.push(stopSampling());
    }
  }
  return {
    levels: levels.map((n, l) => ({
      conversations: n,
      aggregateTps: summarize(rates[l]),
      ratio: summarize(ratios[l]),
      ...(baseline ? { baselineTps: summarize(baseRates[l]), baselineRatio: summarize(baseRatios[l]) } : {}),
    })),
    maxTokens,
    peaks,
  };
}

// ---------------------------------------------------------------- 4. overload

export interface OverloadRun {
  refused: number;
  accepted: number;
  /** Other answers by status (0 = no answer). */
  other: Record<string, number>;
  /** Refusal latency seen by the client (request written → 429 body received), ms. */
  p50Ms: number;
  p99Ms: number;
  /** The first and the last refusal to arrive, ms. */
  minMs: number;
  maxMs: number;
  /** Fastify's own `responseTime` of the 429 answers (from the service's request log), ms, when logged. */
  serverP50Ms?: number;
  serverP99Ms?: number;
  /** CPU time of the service's main thread from the burst's first write to its last answer, ÷ requests, ms. */
  mainThreadCpuMsPerRequest: number;
  /** Wall time from the first request written to the last answer received, ms. */
  burstMs: number;
  rssBefore: number;
  rssAfter: number;
}

export interface OverloadResult {
  runs: OverloadRun[];
  requests: number;
  maxPending: number;
  p50Ms: Summary;
  p99Ms: Summary;
  serverP50Ms?: Summary;
  serverP99Ms?: Summary;
  mainThreadCpuMsPerRequest: Summary;
  /** rssAfter − rssBefore per run, bytes. */
  rssGrowth: Summary;
  /** RSS after the last run − before the first, bytes. */
  rssGrowthTotal: number;
}

/** `responseTime` of the 429 answers in Fastify's "request completed" log lines. */
function loggedRefusalTimes(output: string): number[] {
  const times: number[] = [];
  for (const line of output.split("\n")) {
    if (!line.includes('"statusCode":429')) continue;
    const m = /"responseTime":([0-9.]+)/.exec(line);
    if (m) times.push(Number(m[1]));
  }
  return times;
}

/**
 * While one long reply is decoding, `requests` requests arrive at once (distinct conversations and users,
 * streaming, sent by {@link burst} over connections opened beforehand); the service queues up to
 * `maxPending` unfinished jobs and must refuse the rest with 429 `queue_full` at once. Then every
 * connection is closed (the service cancels the accepted jobs), the service settles, and RSS is read again.
 */
export async function measureOverload(service: BenchService, requests: number, maxPending: number, runs: number, log: Log): Promise<OverloadResult> {
  const out: OverloadRun[] = [];
  for (let r = 0; r < runs; r++) {
    const rssBefore = service.memory().rss;
    const aborter = new AbortController();
    let busyStarted!: () => void;
    const busyDecoding = new Promise<void>((resolve) => (busyStarted = resolve));
    const busy = streamMessage(
      service.url,
      { conversation_id: `busy-${r}`, user: "busy", system: "", text: SHORT_TEXT, max_tokens: 1000, temperature: 0 },
      { signal: aborter.signal, onToken: () => busyStarted() },
    );
    await Promise.race([busyDecoding, busy.then((s) => Promise.reject(new Error(`overload: the busy reply ended early (${JSON.stringify(s.error)})`)))]);

    const logFrom = service.output().length;
    const bodies = Array.from({ length: requests }, (_, i) =>
      JSON.stringify({ conversation_id: `burst-${r}-${i}`, user: `burst-${i}`, system: "", text: SHORT_TEXT, max_tokens: 16, temperature: 0, stream: true }),
    );
    const b = await burst(service.url, "/v1/messages", bodies);
    const cpuBefore = service.mainThreadCpuNs();
    const burstStart = performance.now();
    let responses;
    try {
      responses = await b.responses;
    } finally {
      b.close();
      aborter.abort();
    }
    const burstMs = performance.now() - burstStart;
    const mainThreadCpuMsPerRequest = (service.mainThreadCpuNs() - cpuBefore) / 1e6 / requests;
    await busy;
    const latencies: number[] = [];
    const other: Record<string, number> = {};
    let refused = 0;
    let accepted = 0;
    for (const res of responses) {
      const code = res.status === 429 ? (JSON.parse(res.body ?? "{}") as { error?: { code?: string } }).error?.code : undefined;
      if (res.status === 429 && code === "queue_full") {
        refused++;
        latencies.push(res.latencyMs);
      } else if (res.status === 200) accepted++;
      else other[`${res.status}${code ? ` ${code}` : ""}`] = (other[`${res.status}${code ? ` ${code}` : ""}`] ?? 0) + 1;
    }
    await waitFor(async () => (await service.queueDepth()) === 0, 60_000, "the queue to drain after the burst");
    // a fresh request completes once the cancelled jobs have freed their sequences
    const check = await streamMessage(service.url, { conversation_id: `after-burst-${r}`, user: "check", system: "", text: "ok", max_tokens: 1, temperature: 0 }, { timeoutMs: 120_000 });
    if (!check.done) throw new Error(`overload: the service did not answer after the burst (${JSON.stringify(check.error)})`);
    await sleep(500);
    const rssAfter = service.memory().rss;
    const server = loggedRefusalTimes(service.output().slice(logFrom));

    const run: OverloadRun = {
      refused,
      accepted,
      other,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      minMs: Math.min(...latencies),
      maxMs: Math.max(...latencies),
      ...(server.length > 0 ? { serverP50Ms: percentile(server, 50), serverP99Ms: percentile(server, 99) } : {}),
      mainThreadCpuMsPerRequest,
      burstMs,
      rssBefore,
      rssAfter,
    };
    out.push(run);
    log(
      `  overload run ${r + 1}/${runs}: ${run.refused} refused (429 queue_full), ${run.accepted} accepted${Object.keys(other).length ? `, other ${JSON.stringify(other)}` : ""}; ` +
        `refusal min ${run.minMs.toFixed(1)} ms, p50 ${run.p50Ms.toFixed(1)} ms, p99 ${run.p99Ms.toFixed(1)} ms, max ${run.maxMs.toFixed(1)} ms` +
        `${run.serverP50Ms !== undefined ? ` (in Fastify: p50 ${run.serverP50Ms.toFixed(1)} ms, p99 ${run.serverP99Ms!.toFixed(1)} ms)` : ""}; ` +
        `burst ${burstMs.toFixed(0)} ms, service main thread ${mainThreadCpuMsPerRequest.toFixed(2)} ms CPU per request; ` +
        `RSS ${(rssBefore / 1e6).toFixed(0)} → ${(rssAfter / 1e6).toFixed(0)} MB`,
    );
  }
  const serverRuns = out.filter((r) => r.serverP50Ms !== undefined);
  return {
    runs: out,
    requests,
    maxPending,
    p50Ms: summarize(out.map((r) => r.p50Ms)),
    p99Ms: summarize(out.map((r) => r.p99Ms)),
    ...(serverRuns.length === out.length
      ? { serverP50Ms: summarize(out.map((r) => r.serverP50Ms!)), serverP99Ms: summarize(out.map((r) => r.serverP99Ms!)) }
      : {}),
    mainThreadCpuMsPerRequest: summarize(out.map((r) => r.mainThreadCpuMsPerRequest)),
    rssGrowth: summarize(out.map((r) => r.rssAfter - r.rssBefore)),
    rssGrowthTotal: out[out.length - 1].rssAfter - out[0].rssBefore,
  };
}

/**
 * Get the llama.cpp binding (a node-llama-cpp `Llama`) for the configured compute backend, and the thread count.
 *
 * - `gpu: "auto"` (default): node-llama-cpp tries CUDA, then Vulkan, then the CPU (Metal on macOS). Ending on
 *   the CPU is allowed and logged as a warning.
 * - `gpu: "cuda" | "vulkan" | "metal"`: that backend or an error (GlmbotError `model_load_failed`,
 *   `details.reason = "gpu_unavailable"`). node-llama-cpp would quietly turn `metal` off macOS into `auto`;
 *   glmbot never falls back silently. With `allowCpuFallback: true` it loads the CPU binary instead and warns.
 * - `gpu: false`: CPU only.
 * - An injected `llama` (tests share one per process) is used as is; a requested GPU it does not have is
 *   treated like an unavailable backend.
 * - Threads: default `min(os.availableParallelism(), llama.cpuMathCores)`; a configured value is capped at
 *   `os.availableParallelism()` (node-llama-cpp's own CPU default is at least 4, which oversubscribes small hosts).
 *
 * Only prebuilt binaries are used (`build: "never"`): compiling llama.cpp at bot start-up is never wanted.
 */
import os from "node:os";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";
import type { Llama, LlamaGpuType } from "node-llama-cpp";
import { GlmbotError } from "../core/errors.js";

/** Configured compute backend. */
export type GpuOption = "auto" | "cuda" | "vulkan" | "metal" | false;

/** A pino-compatible logger (only these methods are used). */
export interface EngineLogger {
  debug?(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface ResolvedLlama {
  llama: Llama;
  /** True when this module created the instance (the engine disposes it). */
  owned: boolean;
  /** The backend actually in use (`false` = CPU). */
  gpu: LlamaGpuType;
  /** Threads for the context (1 ≤ threads ≤ os.availableParallelism()). */
  threads: number;
}

/** Cap a thread count to the machine; default when unset. */
export function resolveThreads(configured: number | undefined, cpuMathCores: number): number {
  const cores = Math.max(1, os.availableParallelism());
  const wanted = configured ?? Math.max(1, Math.min(cores, cpuMathCores || cores));
  return Math.max(1, Math.min(Math.floor(wanted), cores));
}

/** Forward llama.cpp log lines to a pino-style logger (errors/warnings as such, the rest at debug). */
export function llamaLogForwarder(logger: EngineLogger): (level: LlamaLogLevel, message: string) => void {
  return (level, message) => {
    const text = message.trimEnd();
    if (text === "") return;
    if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) logger.error({ source: "llama.cpp" }, text);
    else if (level === LlamaLogLevel.warn) logger.warn({ source: "llama.cpp" }, text);
    else logger.debug?.({ source: "llama.cpp" }, text);
  };
}

function unavailable(gpu: string, why: string, cause?: unknown): GlmbotError {
  return new GlmbotError(
    "model_load_failed",
    `GPU backend '${gpu}' was requested but cannot be used: ${why}. glmbot does not fall back to the CPU on its own; ` +
      "set allowCpuFallback: true to run on the CPU anyway, or gpu: \"auto\"",
    { reason: "gpu_unavailable", requestedGpu: gpu },
    { cause },
  );
}

export async function resolveLlama(options: {
  gpu: GpuOption;
  allowCpuFallback: boolean;
  threads?: number;
  llama?: Llama;
  logger: EngineLogger;
}): Promise<ResolvedLlama> {
  const { gpu, allowCpuFallback, logger } = options;
  if (options.threads !== undefined && options.threads > os.availableParallelism())
    logger.warn({ threads: options.threads, cores: os.availableParallelism() }, `threads capped at ${os.availableParallelism()} (the machine's cores)`);
  const explicitGpu = gpu === "cuda" || gpu === "vulkan" || gpu === "metal";

  if (options.llama) {
    const llama = options.llama;
    if (explicitGpu && llama.gpu !== gpu) {
      const why = `the provided llama.cpp instance uses ${llama.gpu === false ? "the CPU" : llama.gpu}`;
      if (!allowCpuFallback) throw unavailable(gpu, why);
      logger.warn({ requestedGpu: gpu, gpu: llama.gpu }, `GPU backend '${gpu}' unavailable (${why}); continuing because allowCpuFallback is set`);
    }
    return { llama, owned: false, gpu: llama.gpu, threads: resolveThreads(options.threads, llama.cpuMathCores) };
  }

  const maxThreads = resolveThreads(options.threads, os.availableParallelism());
  const load = (which: "auto" | LlamaGpuType) =>
    getLlama({ gpu: which, build: "never", skipDownload: true, logLevel: LlamaLogLevel.warn, logger: llamaLogForwarder(logger), maxThreads });

  let llama: Llama;
  try {
    if (gpu === "metal" && process.platform !== "darwin") throw unavailable(gpu, "Metal exists only on macOS");
    llama = await load(gpu);
    if (explicitGpu && llama.gpu !== gpu) {
      const got = llama.gpu;
      await llama.dispose();
      throw unavailable(gpu, `node-llama-cpp selected ${got === false ? "the CPU" : got}`);
    }
  } catch (err) {
    if (!explicitGpu)
      throw new GlmbotError("model_load_failed", `no usable llama.cpp binary for gpu ${String(gpu)}: ${(err as Error)?.message ?? err}`, { reason: "no_binary" }, { cause: err });
    const failure = err instanceof GlmbotError ? err : unavailable(gpu, `no working ${gpu} build of llama.cpp on this machine (${(err as Error)?.message ?? err})`, err);
    if (!allowCpuFallback) throw failure;
    logger.warn({ requestedGpu: gpu, reason: failure.message }, `GPU backend '${gpu}' unavailable; falling back to the CPU because allowCpuFallback is set`);
    llama = await load(false);
  }
  if (gpu === "auto" && llama.gpu === false) logger.warn({ gpu: false }, "no usable GPU backend found (CUDA, Vulkan, Metal); running on the CPU");
  return { llama, owned: true, gpu: llama.gpu, threads: resolveThreads(options.threads, llama.cpuMathCores) };
}

/**
 * Factory of the local {@link LlamaEngine}: validate options, detect the prompt family from the GGUF header,
 * get the llama.cpp binding for the configured GPU, load the model and create one context with `sequences`
 * parallel sequences of `contextSize` tokens each.
 *
 * Errors (all GlmbotError):
 * - `config_invalid`: an option out of range;
 * - `model_load_failed` with `details.reason`: `not_found`, `invalid_gguf`, `unsupported_architecture`
 *   (incl. ChatGLM-6B v1 / ChatGLM2-6B), `unknown_family`, `gpu_unavailable`, `no_gpu_layers`,
 *   `missing_special_token`, and the llama.cpp causes of loadErrors.ts (`missing_metadata`, `missing_tensor`,
 *   `wrong_shape`, `insufficient_vram`, …).
 */
import path from "node:path";
import { GgufInsights, readGgufFileInfo } from "node-llama-cpp";
import type { Llama, LlamaModel, Token } from "node-llama-cpp";
import { GlmbotError } from "../core/errors.js";
import { ChatGlm3ChatWrapper } from "./ChatGlm3ChatWrapper.js";
import { detectFamilyFromFile, type ChatFormatOption } from "./detectFamily.js";
import { Glm4ChatWrapper } from "./Glm4ChatWrapper.js";
import { STOP_TOKEN_TEXTS, type GlmChatWrapper } from "./GlmChatWrapper.js";
import { LlamaEngine, type FormatTokenIds } from "./LlamaEngine.js";
import { captureLlamaLogs, explainLoadFailure, formatBytes, type CapturedLogLine, type VramFacts } from "./loadErrors.js";
import { resolveLlama, type EngineLogger, type GpuOption } from "./resolveLlama.js";
import { DEFAULT_SAMPLING, validateSampling, type SamplingDefaults } from "./sampling.js";

export interface LlamaEngineOptions {
  /** Path of the GGUF file. */
  modelPath: string;
  /** Prompt format; `auto` (default) reads the GGUF metadata (detectFamily.ts). */
  chatFormat?: ChatFormatOption;
  /** Compute backend, default `auto` (CUDA, then Vulkan, then CPU). See resolveLlama.ts. */
  gpu?: GpuOption;
  /** Allow running on the CPU when the requested GPU is unavailable (with a warning). Default false. */
  allowCpuFallback?: boolean;
  /** Layers to offload: `auto` (default: as many as fit) or a number (an error when they do not fit). */
  gpuLayers?: "auto" | number;
  /** Context window per sequence, in tokens. Default 2048. */
  contextSize?: number;
  /** Parallel sequences (concurrent conversations batched together). Default 4. */
  sequences?: number;
  /** CPU threads; default min(cores, llama.cpp's math cores), always capped at os.availableParallelism(). */
  threads?: number;
  /** Sampling defaults; see sampling.ts for the values and their sources. */
  defaults?: Partial<SamplingDefaults>;
  /** pino-compatible logger. Default: warnings and errors to the console. */
  logger?: EngineLogger;
  /** An existing Llama instance to use (tests share one per process); it is not disposed with the engine. */
  llama?: Llama;
}

const consoleLogger: EngineLogger = {
  info: () => undefined,
  warn: (obj, msg) => console.warn(`[glmbot inference] ${msg ?? ""}`, obj),
  error: (obj, msg) => console.error(`[glmbot inference] ${msg ?? ""}`, obj),
};

function checkInt(value: number | undefined, field: string, min: number): void {
  if (value !== undefined && (!Number.isInteger(value) || value < min))
    throw new GlmbotError("config_invalid", `${field} must be an integer ≥ ${min}`, { field });
}

/** Token ids of the format's control tokens; each must be a single token of the vocabulary. */
export function resolveFormatTokenIds(model: LlamaModel, wrapper: GlmChatWrapper): FormatTokenIds {
  const idOf = new Map<string, Token>();
  for (const text of wrapper.controlTokenTexts) {
    const tokens = model.tokenize(text, true);
    if (tokens.length !== 1 || model.detokenize(tokens, true) !== text)
      throw new GlmbotError(
        "model_load_failed",
        `the vocabulary has no '${text}' control token, so this is not a ${wrapper.wrapperName} chat model ` +
          "(ChatGLM-6B v1 and ChatGLM2-6B vocabularies lack the role tokens; check chatFormat)",
        { reason: "missing_special_token", token: text },
      );
    idOf.set(text, tokens[0]!);
  }
  const stop = new Set<number>(STOP_TOKEN_TEXTS.map((t) => idOf.get(t)!));
  for (const t of [model.tokens.eos, model.tokens.eot]) if (t != null) stop.add(t);
  return { stop, hidden: new Set<number>([...idOf.values(), ...stop]) };
}

export async function createLlamaEngine(options: LlamaEngineOptions): Promise<LlamaEngine> {
  const logger = options.logger ?? consoleLogger;
  const { modelPath, gpu = "auto", allowCpuFallback = false, gpuLayers = "auto", contextSize = 2048, sequences = 4 } = options;
  checkInt(contextSize, "contextSize", 16);
  checkInt(sequences, "sequences", 1);
  checkInt(options.threads, "threads", 1);
  if (gpuLayers !== "auto") checkInt(gpuLayers, "gpuLayers", 0);
  validateSampling(options.defaults ?? {}, "config");
  const defaults: SamplingDefaults = { ...DEFAULT_SAMPLING, ...options.defaults };

  const detected = await detectFamilyFromFile(modelPath, options.chatFormat ?? "auto");
  const wrapper: GlmChatWrapper = detected.family === "chatglm3" ? new ChatGlm3ChatWrapper() : new Glm4ChatWrapper();
  const resolved = await resolveLlama({ gpu, allowCpuFallback, threads: options.threads, llama: options.llama, logger });
  const { llama } = resolved;
  const releaseLlama = async () => {
    if (resolved.owned) await llama.dispose();
  };

  let model: LlamaModel | undefined;
  try {
    let lines: CapturedLogLine[] = [];
    try {
      model = await captureLlamaLogs(llama, () => llama.loadModel({ modelPath, gpuLayers: gpu === false ? 0 : gpuLayers }), (l) => (lines = l));
    } catch (err) {
      throw explainLoadFailure(err, lines, { modelPath, vram: await vramFacts(llama, modelPath, gpuLayers) });
    }
    const totalLayers = model.fileInsights.totalLayers;
    const explicitGpu = gpu === "cuda" || gpu === "vulkan" || gpu === "metal";
    if (llama.gpu !== false && gpu !== false && gpuLayers === "auto" && model.gpuLayers < totalLayers) {
      if (model.gpuLayers === 0) {
        const vram = await vramFacts(llama, modelPath, totalLayers);
        const amounts = [vram.neededVramBytes != null && `needs ${formatBytes(vram.neededVramBytes)}`, vram.freeVramBytes != null && `${formatBytes(vram.freeVramBytes)} free`];
        const why = `no layer of the model fits in VRAM (${amounts.filter(Boolean).join(", ") || "amounts unknown"})`;
        if (explicitGpu && !allowCpuFallback)
          throw new GlmbotError("model_load_failed", `GPU backend '${gpu}' was requested but ${why}; set allowCpuFallback: true to run on the CPU`, {
            reason: "no_gpu_layers",
            ...vram,
          });
        logger.warn({ gpu: llama.gpu, ...vram }, `${why}; running on the CPU`);
      } else logger.warn({ gpuLayers: model.gpuLayers, totalLayers }, `only ${model.gpuLayers} of ${totalLayers} layers fit in VRAM; the rest run on the CPU`);
    }

    const tokenIds = resolveFormatTokenIds(model, wrapper);
    const loadedModel = model;
    let contextLines: CapturedLogLine[] = [];
    const context = await captureLlamaLogs(
      llama,
      () => loadedModel.createContext({ contextSize, sequences, threads: resolved.threads, failedCreationRemedy: false }),
      (l) => (contextLines = l),
    ).catch(async (err) => {
      const vram = await contextVramFacts(llama, loadedModel, contextSize, sequences);
      throw explainLoadFailure(err, contextLines, { modelPath, stage: "context", vram });
    });

    const metadataName = model.fileInfo.metadata?.general?.name;
    const modelName = typeof metadataName === "string" && metadataName.trim() !== "" ? metadataName : path.basename(modelPath);
    const runtime = { gpu: llama.gpu, gpuLayers: model.gpuLayers, totalLayers, threads: context.idealThreads, familyReason: detected.reason };
    logger.info({ modelName, family: wrapper.family, contextSize: context.contextSize, sequences, ...runtime }, "model loaded");
    return new LlamaEngine(model, context, wrapper, tokenIds, defaults, runtime, logger, releaseLlama, modelName);
  } catch (err) {
    await model?.dispose().catch(() => undefined);
    await releaseLlama().catch(() => undefined);
    throw err;
  }
}

/** Needed VRAM for `gpuLayers` (estimate from the GGUF) and free VRAM now, when they can be computed. */
async function vramFacts(llama: Llama, modelPath: string, gpuLayers: "auto" | number): Promise<VramFacts> {
  const facts: VramFacts = {};
  try {
    if (llama.gpu !== false) facts.freeVramBytes = (await llama.getVramState()).free;
    const insights = await GgufInsights.from(await readGgufFileInfo(modelPath, { sourceType: "filesystem", logWarnings: false }), llama);
    const layers = gpuLayers === "auto" ? insights.totalLayers : Math.min(gpuLayers, insights.totalLayers);
    facts.neededVramBytes = insights.estimateModelResourceRequirements({ gpuLayers: layers }).gpuVram;
  } catch {
    // the amounts are a courtesy; the error is reported without them
  }
  return facts;
}

/** VRAM the context (KV cache for `sequences` × `contextSize` tokens + compute buffers) needs, and free VRAM now. */
async function contextVramFacts(llama: Llama, model: LlamaModel, contextSize: number, sequences: number): Promise<VramFacts> {
  if (llama.gpu === false) return {};
  try {
    const needed = model.fileInsights.estimateContextResourceRequirements({ contextSize, sequences, modelGpuLayers: model.gpuLayers }).gpuVram;
    return { neededVramBytes: needed, freeVramBytes: (await llama.getVramState()).free };
  } catch {
    return {};
  }
}

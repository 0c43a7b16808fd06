/**
 * Turn node-llama-cpp's opaque load failures into errors that name the real cause.
 *
 * node-llama-cpp only throws `Failed to load model` (or `Failed to create context`); llama.cpp writes the
 * reason to its log (e.g. `llama_model_load: error loading model: missing tensor 'output_norm.weight'`).
 * {@link captureLlamaLogs} records the log lines emitted while a load runs (through the Llama instance's
 * `logger`, still forwarding every line to the previous logger), and {@link explainLoadFailure} maps them
 * to a GlmbotError `model_load_failed` with `details.reason` one of:
 *
 * | reason                     | llama.cpp log text (llama.cpp 80fb11ac)                          | details            |
 * |----------------------------|------------------------------------------------------------------|--------------------|
 * | `missing_metadata`         | `key not found in model: <key>`                                  | `key`              |
 * | `missing_tensor`           | `missing tensor '<name>'`                                        | `tensor`           |
 * | `wrong_shape`              | `tensor '<name>' has wrong shape; expected <a>, got <b>`         | `tensor, expected, got` |
 * | `unsupported_architecture` | `unknown model architecture: '<arch>'`                           | `architecture`     |
 * | `insufficient_vram`        | `allocating <n> MiB on device <d>: cudaMalloc failed: out of memory`, `unable to allocate CUDA0 buffer`, `ErrorOutOfDeviceMemory`, node-llama-cpp `InsufficientMemoryError` | `neededVramBytes?, freeVramBytes?` |
 * | `llama_cpp_error`          | any other `error loading model: …` line                           | `llamaCppError`    |
 * | `unknown`                  | nothing in the log                                               | —                  |
 *
 * Every error also carries `details.log`: the last error/warning lines (at most 8), for the operator.
 */
import { InsufficientMemoryError, LlamaLogLevel } from "node-llama-cpp";
import type { Llama } from "node-llama-cpp";
import { GlmbotError, isGlmbotError } from "../core/errors.js";
import { legacyArchitectureMessage } from "./detectFamily.js";

/** One captured llama.cpp log line. */
export interface CapturedLogLine {
  level: LlamaLogLevel;
  message: string;
}

const LEVEL_ORDER: LlamaLogLevel[] = [
  LlamaLogLevel.disabled,
  LlamaLogLevel.fatal,
  LlamaLogLevel.error,
  LlamaLogLevel.warn,
  LlamaLogLevel.info,
  LlamaLogLevel.log,
  LlamaLogLevel.debug,
];

/**
 * Run `fn` while recording the llama.cpp log of `llama`. Raises the instance's log level to at least `warn`
 * for the duration (errors are what we need). Resolves with the value or rejects with `fn`'s error; in both
 * cases `lines` (the array passed to `onLines`) holds what was logged, including lines delivered just after
 * the native call returned.
 */
export async function captureLlamaLogs<T>(llama: Llama, fn: () => Promise<T>, onLines: (lines: CapturedLogLine[]) => void): Promise<T> {
  const lines: CapturedLogLine[] = [];
  const previousLogger = llama.logger;
  const previousLevel = llama.logLevel;
  let active = true;
  const capture = (level: LlamaLogLevel, message: string): void => {
    if (active) lines.push({ level, message });
    previousLogger(level, message);
  };
  llama.logger = capture;
  if (LEVEL_ORDER.indexOf(previousLevel) < LEVEL_ORDER.indexOf(LlamaLogLevel.warn)) llama.logLevel = LlamaLogLevel.warn;
  try {
    return await fn();
  } finally {
    // native log lines travel through a thread-safe callback and may land after the promise settles
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setTimeout(resolve, 10));
    active = false;
    if (llama.logger === capture) llama.logger = previousLogger;
    if (!llama.disposed && llama.logLevel !== previousLevel) llama.logLevel = previousLevel;
    onLines(lines);
  }
}

function parseDims(text: string): number[] {
  return text
    .split(",")
    .map((d) => d.trim())
    .filter((d) => d !== "")
    .map(Number);
}

/** Facts that make an insufficient-VRAM message concrete. */
export interface VramFacts {
  neededVramBytes?: number;
  freeVramBytes?: number;
}

/** Format bytes as `1.23 GiB` / `512 MiB`. */
export function formatBytes(bytes: number): string {
  const mib = bytes / 1024 / 1024;
  return mib >= 1024 ? `${(mib / 1024).toFixed(2)} GiB` : `${mib.toFixed(0)} MiB`;
}

/**
 * Build the error for a failed load. `stage` names what failed ("model" or "context").
 * `vram` is consulted only for VRAM failures (needed/free amounts when the caller could compute them).
 */
export function explainLoadFailure(
  error: unknown,
  lines: readonly CapturedLogLine[],
  { modelPath, stage = "model", vram = {} }: { modelPath: string; stage?: "model" | "context"; vram?: VramFacts },
): GlmbotError {
  if (isGlmbotError(error)) return error;
  const notable = lines.filter((l) => l.level === LlamaLogLevel.error || l.level === LlamaLogLevel.fatal || l.level === LlamaLogLevel.warn);
  const log = notable.slice(-8).map((l) => l.message.trim());
  const all = lines.map((l) => l.message).join("\n");
  const prefix = `failed to load ${stage === "model" ? "model" : "context for model"} ${modelPath}`;
  const make = (reason: string, cause: string, extra: Record<string, unknown> = {}) =>
    new GlmbotError("model_load_failed", `${prefix}: ${cause}`, { reason, modelPath, stage, ...extra, log }, { cause: error });

  let m: RegExpMatchArray | null;
  if ((m = all.match(/unknown model architecture: '([^']*)'/))) {
    const architecture = m[1] ?? "";
    const legacy = /^chatglm(2|1|-?6b)?$/i.test(architecture) && architecture !== "chatglm";
    return make("unsupported_architecture", legacy ? legacyArchitectureMessage(architecture) : `unsupported architecture '${architecture}' (llama.cpp does not know it)`, { architecture });
  }
  if ((m = all.match(/(?:array )?key not found in model: (\S+)/)))
    return make("missing_metadata", `missing metadata key '${m[1]}'`, { key: m[1] });
  if ((m = all.match(/missing tensor '([^']+)'/) ?? all.match(/tensor '([^']+)' not found/)))
    return make("missing_tensor", `missing tensor '${m[1]}'`, { tensor: m[1] });
  if ((m = all.match(/tensor '([^']+)' has wrong shape; expected ([\d,\s]+?), got ([\d,\s]+)/))) {
    const expected = parseDims(m[2]!);
    const got = parseDims(m[3]!);
    // llama.cpp prints the file's shape padded to 4 dims with 1s
    while (got.length > expected.length && got.at(-1) === 1) got.pop();
    return make("wrong_shape", `tensor '${m[1]}' has wrong shape: expected [${expected.join(", ")}], got [${got.join(", ")}]`, { tensor: m[1], expected, got });
  }
  const vramLog = all.match(/allocating ([\d.]+) MiB on device \d+: cudaMalloc failed: out of memory/) ??
    all.match(/(ErrorOutOfDeviceMemory|unable to allocate (?:CUDA|Vulkan|Metal|ROCm)\S* buffer|failed to allocate buffer for kv cache)/);
  if (error instanceof InsufficientMemoryError || vramLog) {
    const neededFromLog = vramLog?.[1] != null && /^[\d.]+$/.test(vramLog[1]) ? Math.round(Number(vramLog[1]) * 1024 * 1024) : undefined;
    const needed = vram.neededVramBytes ?? neededFromLog;
    const amounts = [needed != null ? `needs ${formatBytes(needed)}` : undefined, vram.freeVramBytes != null ? `${formatBytes(vram.freeVramBytes)} free` : undefined]
      .filter(Boolean)
      .join(", ");
    return make("insufficient_vram", `not enough VRAM${amounts ? ` (${amounts})` : ""}; lower gpuLayers, contextSize or sequences, or use a smaller quantization`, {
      neededVramBytes: needed,
      freeVramBytes: vram.freeVramBytes,
    });
  }
  if ((m = all.match(/error loading model: ([^\n]+)/))) return make("llama_cpp_error", m[1]!.trim(), { llamaCppError: m[1]!.trim() });
  const lastError = notable.filter((l) => l.level !== LlamaLogLevel.warn).at(-1)?.message.trim();
  const message = error instanceof Error ? error.message : String(error);
  return make("unknown", lastError ? `${message} (llama.cpp: ${lastError})` : message);
}

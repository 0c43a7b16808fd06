/**
 * The configured model in `glmbot doctor`: where its file is, whether llama.cpp/glmbot can run it (GGUF header,
 * prompt family), what it needs at the configured context and how many layers fit the GPU(s) here.
 * Works without the file for presets (sizes from presets.ts) and without a GPU (CPU only).
 */
import type { Llama } from "node-llama-cpp";
import type { Config } from "../../config.js";
import { detectFamilyFromFile } from "../../inference/detectFamily.js";
import { MODEL_PRESETS } from "../../inference/presets.js";
import { findLocalModel, type LocalModel } from "../../inference/resolveModel.js";
import { formatSize } from "../progress.js";
import type { Check } from "./checks.js";
import { estimateFromFile, estimateFromPreset, fitOnGpu, type ContextShape, type Fit, type ModelEstimate } from "./estimate.js";
import { availableVram, type HardwareFacts } from "./hardware.js";
import type { PresetRow } from "./report.js";

export interface ModelFindings {
  lines: string[];
  checks: Check[];
}

const contextOf = (config: Config): ContextShape => ({ contextSize: config.model.contextSize, sequences: config.model.sequences });

/** The configured model's section and checks. */
export async function inspectModel(config: Config, facts: HardwareFacts, llama: Llama): Promise<ModelFindings> {
  const ctx = contextOf(config);
  const local = findLocalModel(config.model.source, config.model.modelsDir);
  const lines = [`Model (model.source = ${config.model.source}${local.preset && local.preset.name !== config.model.source ? `, preset ${local.preset.name}` : ""})`];
  const checks: Check[] = [];
  let estimate: ModelEstimate | undefined;

  if (local.exists) {
    lines.push(`  file: ${local.path} (${formatSize(local.bytes!)})`);
    try {
      const family = await detectFamilyFromFile(local.path, config.model.chatFormat);
      checks.push({ status: "ok", name: "model file", detail: `${family.family} prompt format (${family.reason})` });
      estimate = await estimateFromFile(local.path, local.bytes!, llama, ctx);
    } catch (err) {
      checks.push({ status: "fail", name: "model file", detail: `${local.path}: ${(err as Error).message}` });
    }
  } else if (!local.remote) {
    lines.push(`  file: ${local.path} — does not exist`);
    checks.push({ status: "fail", name: "model file", detail: `${local.path} does not exist; put a GGUF there or set GLMBOT_MODEL (or use a preset, e.g. chatglm3-6b)` });
  } else {
    const size = local.preset ? ` (${formatSize(local.preset.fileBytes)})` : "";
    const pullName = local.preset?.name ?? local.uri;
    const state = local.partialPath ? "partly downloaded" : "not downloaded";
    lines.push(`  file: ${local.remote && local.path.endsWith(".gguf") ? local.path : local.uri} — ${state}${size}`);
    checks.push({
      status: "warn",
      name: "model file",
      detail: `${state}${size}: \`glmbot pull ${pullName}\`${local.partialPath ? " resumes it" : " fetches it"}; otherwise serve downloads it on first start`,
    });
    if (local.preset) estimate = await estimateFromPreset(local.preset, llama, ctx);
  }

  if (!estimate) {
    if (local.remote && !local.preset && !local.exists) lines.push("  needs: unknown until the file is downloaded (its header has the sizes)");
    return { lines, checks };
  }
  const fit = fitOnGpu(estimate, availableVram(facts));
  lines.push(`  context: ${ctx.contextSize} tokens × ${ctx.sequences} sequences (estimate from ${estimate.basis === "gguf" ? "the file's GGUF header" : "the preset's architecture and size"})`);
  lines.push(`  all ${fit.totalLayers} layers on the GPU: ${formatSize(fit.full.vramBytes)} VRAM + ${formatSize(fit.full.ramBytes)} RAM`);
  lines.push(`  CPU only: ${formatSize(fit.cpuOnly.ramBytes)} RAM`);
  lines.push(`  on this machine: ${placement(fit, facts)}`);
  checks.push(...placementChecks(config, fit, facts));
  return { lines, checks };
}

function placement(fit: Fit, facts: HardwareFacts): string {
  if (facts.backend === false) return `no GPU — runs on the CPU with ${formatSize(fit.cpuOnly.ramBytes)} RAM (${formatSize(facts.ram.freeBytes)} available)`;
  if (fit.verdict === "fits") return `fits fully on the GPU${facts.devices.length > 1 ? "s" : ""} (${formatSize(fit.full.vramBytes)} of ${formatSize(facts.vram?.freeBytes ?? 0)} free)`;
  if (fit.verdict === "partly")
    return `partly — ${fit.gpuLayers} of ${fit.totalLayers} layers fit (${formatSize(fit.chosen.vramBytes)} VRAM), the rest run on the CPU (${formatSize(fit.chosen.ramBytes)} RAM)`;
  return `no layer fits in ${formatSize(facts.vram?.freeBytes ?? 0)} free VRAM — runs on the CPU`;
}

function placementChecks(config: Config, fit: Fit, facts: HardwareFacts): Check[] {
  const checks: Check[] = [];
  const gpu = config.model.gpu;
  const explicit = gpu === "cuda" || gpu === "vulkan" || gpu === "metal";
  if (facts.backendProblem && explicit && !config.model.allowCpuFallback)
    checks.push({ status: "fail", name: "gpu", detail: `${facts.backendProblem}; serve refuses to start (set model.allowCpuFallback: true or model.gpu: auto)` });
  else if (gpu === false) checks.push({ status: "ok", name: "gpu", detail: "CPU only (model.gpu: false)" });
  else if (facts.backend === false) checks.push({ status: "warn", name: "gpu", detail: "no usable GPU: the model runs on the CPU (slow)" });
  else if (fit.verdict === "fits") checks.push({ status: "ok", name: "gpu", detail: `the model fits: ${formatSize(fit.full.vramBytes)} VRAM needed` });
  else if (fit.verdict === "partly") checks.push({ status: "warn", name: "gpu", detail: `only ${fit.gpuLayers}/${fit.totalLayers} layers fit in VRAM; lower model.contextSize / model.sequences or pick a smaller quantization` });
  else if (explicit && !config.model.allowCpuFallback) checks.push({ status: "fail", name: "gpu", detail: "no layer fits in VRAM and model.gpu is explicit: serve refuses to start" });
  else checks.push({ status: "warn", name: "gpu", detail: "no layer fits in VRAM: the model runs on the CPU" });

  const layers = config.model.gpuLayers;
  if (typeof layers === "number" && facts.backend !== false && layers > fit.gpuLayers && layers <= fit.totalLayers)
    checks.push({ status: "warn", name: "gpu layers", detail: `model.gpuLayers is ${layers} but about ${fit.gpuLayers} fit; loading may fail for lack of VRAM` });
  const ram = facts.backend === false || gpu === false ? fit.cpuOnly.ramBytes : fit.chosen.ramBytes;
  if (ram > facts.ram.totalBytes) checks.push({ status: "warn", name: "ram", detail: `needs about ${formatSize(ram)} RAM, the machine has ${formatSize(facts.ram.totalBytes)}` });
  return checks;
}

/** One row per preset: its file (estimate from the header when downloaded) and fit here. */
export async function presetRows(config: Config, facts: HardwareFacts, llama: Llama): Promise<PresetRow[]> {
  const ctx = contextOf(config);
  const rows: PresetRow[] = [];
  for (const preset of MODEL_PRESETS) {
    const local: LocalModel = findLocalModel(preset.name, config.model.modelsDir);
    const estimate = local.exists
      ? await estimateFromFile(local.path, local.bytes!, llama, ctx).catch(() => estimateFromPreset(preset, llama, ctx))
      : await estimateFromPreset(preset, llama, ctx);
    rows.push({ name: preset.name, seedPrecision: preset.seedPrecision, fileBytes: local.bytes ?? preset.fileBytes, downloaded: local.exists && estimate.basis === "gguf", fit: fitOnGpu(estimate, availableVram(facts)) });
  }
  return rows;
}

/**
 * Memory estimates for "will it fit": node-llama-cpp's GGUF insights (`GgufInsights`), for a file on disk or
 * for a preset that is not downloaded.
 *
 * - File: `readGgufFileInfo` (header only) → `GgufInsights.estimateModelResourceRequirements` (weights per
 *   device for N offloaded layers) + `estimateContextResourceRequirements` (KV cache for `sequences` ×
 *   `contextSize` tokens, compute and output buffers). The heuristic (v1) estimators are used on purpose:
 *   they depend only on the file, not on the machine, so "what it needs on a GPU" can be answered on a
 *   machine without one. Flash attention is assumed off (the larger, safe figure).
 * - Preset: the same estimators over the preset's tensor layout (llama.cpp's `chatglm` tensors: token_embd,
 *   per block attn_norm / attn_qkv (+bias) / attn_output / ffn_norm / ffn_up (gate+up fused) / ffn_down,
 *   output_norm, output), built from presets.ts' architecture numbers. Weights are then scaled to the
 *   published file size, since a Q4_K_M file mixes quantization types.
 *
 * All amounts are bytes. `at(gpuLayers)` covers weights + context; layers are counted like llama.cpp's
 * `n_gpu_layers` (blocks + the output layer).
 */
import { GgmlType, GgufInsights, readGgufFileInfo, type GgufFileInfo, type Llama } from "node-llama-cpp";
import type { ModelPreset } from "../../inference/presets.js";

/** Memory for one placement. `vramBytes` is 0 when nothing is offloaded. */
export interface Footprint {
  vramBytes: number;
  ramBytes: number;
}

export interface ModelEstimate {
  /** `gguf`: from the file's header; `preset`: from the preset's architecture and published size. */
  basis: "gguf" | "preset";
  /** Size of the weights file, bytes. */
  fileBytes: number;
  /** Offloadable layers (blocks + output). */
  totalLayers: number;
  /** Needs with `gpuLayers` layers on the GPU(s), at the configured context. */
  at(gpuLayers: number): Footprint;
}

/** Context shape the estimate is for. */
export interface ContextShape {
  /** Tokens per sequence. */
  contextSize: number;
  /** Parallel sequences (each has its own KV cache). */
  sequences: number;
}

function fromInsights(insights: GgufInsights, basis: ModelEstimate["basis"], fileBytes: number, ctx: ContextShape, weightScale = 1): ModelEstimate {
  const cache = new Map<number, Footprint>();
  return {
    basis,
    fileBytes,
    totalLayers: insights.totalLayers,
    at(gpuLayers) {
      const layers = Math.max(0, Math.min(insights.totalLayers, Math.floor(gpuLayers)));
      let hit = cache.get(layers);
      if (!hit) {
        const model = insights.estimateModelResourceRequirements({ gpuLayers: layers, useMmap: false });
        const context = insights.estimateContextResourceRequirements({ ...ctx, modelGpuLayers: layers, flashAttention: false });
        hit = {
          vramBytes: Math.round(model.gpuVram * weightScale) + context.gpuVram,
          ramBytes: Math.round(model.cpuRam * weightScale) + context.cpuRam,
        };
        cache.set(layers, hit);
      }
      return hit;
    },
  };
}

/** Estimate for a GGUF file on disk (reads its header only). Rejects when it is not a readable GGUF. */
export async function estimateFromFile(file: string, fileBytes: number, llama: Llama, ctx: ContextShape): Promise<ModelEstimate> {
  const info = await readGgufFileInfo(file, { sourceType: "filesystem", logWarnings: false });
  return fromInsights(await GgufInsights.from(info, llama), "gguf", fileBytes, ctx);
}

/** The tensor table and metadata a `chatglm` GGUF of this architecture has, typed `type` (norms and biases F32). */
export function presetFileInfo(preset: ModelPreset, type: GgmlType): GgufFileInfo {
  const a = preset.arch;
  const E = a.embedding;
  const qkv = E + 2 * a.kvHeads * (E / a.heads);
  const tensors: Array<{ name: string; dimensions: number[]; ggmlType: GgmlType; offset: number; fileOffset: number; filePart: number }> = [];
  const add = (name: string, dimensions: number[], ggmlType = type) => tensors.push({ name, dimensions, ggmlType, offset: 0, fileOffset: 0, filePart: 1 });
  add("token_embd.weight", [E, a.vocab]);
  for (let i = 0; i < a.blocks; i++) {
    add(`blk.${i}.attn_norm.weight`, [E], GgmlType.F32);
    add(`blk.${i}.attn_qkv.weight`, [E, qkv]);
    add(`blk.${i}.attn_qkv.bias`, [qkv], GgmlType.F32);
    add(`blk.${i}.attn_output.weight`, [E, E]);
    add(`blk.${i}.ffn_norm.weight`, [E], GgmlType.F32);
    add(`blk.${i}.ffn_up.weight`, [E, 2 * a.feedForward]);
    add(`blk.${i}.ffn_down.weight`, [a.feedForward, E]);
  }
  add("output_norm.weight", [E], GgmlType.F32);
  add("output.weight", [E, a.vocab]);
  const arch = {
    context_length: a.trainContext,
    embedding_length: E,
    feed_forward_length: a.feedForward,
    block_count: a.blocks,
    vocab_size: a.vocab,
    attention: { head_count: a.heads, head_count_kv: a.kvHeads, layer_norm_rms_epsilon: 1e-5 },
    rope: { dimension_count: E / a.heads / 2 },
  };
  const info = {
    version: 3,
    tensorCount: tensors.length,
    metadata: { general: { architecture: "chatglm", name: preset.name }, chatglm: arch },
    metadataSize: 0,
    architectureMetadata: arch,
    tensorInfo: tensors,
    fullTensorInfo: tensors,
    tensorInfoSize: 0,
    splicedParts: 1,
    totalTensorCount: tensors.length,
    totalMetadataSize: 0,
    sourceData: [],
  };
  return info as unknown as GgufFileInfo;
}

const NOMINAL_TYPE: Record<ModelPreset["quant"], GgmlType> = { Q4_K_M: GgmlType.Q4_K, Q8_0: GgmlType.Q8_0, F16: GgmlType.F16 };

/** Estimate for a preset without its file: tensor layout from the architecture, weights scaled to `fileBytes`. */
export async function estimateFromPreset(preset: ModelPreset, llama: Llama, ctx: ContextShape): Promise<ModelEstimate> {
  const insights = await GgufInsights.from(presetFileInfo(preset, NOMINAL_TYPE[preset.quant]), llama);
  return fromInsights(insights, "preset", preset.fileBytes, ctx, preset.fileBytes / insights.modelSize);
}

/** Where a model lands on this machine. */
export interface Fit {
  /** `fits`: every layer on the GPU(s); `partly`: `gpuLayers` of `totalLayers`; `no`: none (or no GPU). */
  verdict: "fits" | "partly" | "no";
  gpuLayers: number;
  totalLayers: number;
  /** Needs with every layer offloaded. */
  full: Footprint;
  /** Needs on the CPU only. */
  cpuOnly: Footprint;
  /** Needs at `gpuLayers`. */
  chosen: Footprint;
}

/**
 * The most layers whose estimate fits `availableVramBytes` (free VRAM over all visible GPUs minus
 * llama.cpp's padding); `undefined` means no usable GPU. Needs grow with the layer count, so a binary search suffices.
 */
export function fitOnGpu(estimate: ModelEstimate, availableVramBytes: number | undefined): Fit {
  const total = estimate.totalLayers;
  const full = estimate.at(total);
  const cpuOnly = estimate.at(0);
  const result = (gpuLayers: number): Fit => ({
    verdict: gpuLayers === total ? "fits" : gpuLayers > 0 ? "partly" : "no",
    gpuLayers,
    totalLayers: total,
    full,
    cpuOnly,
    chosen: estimate.at(gpuLayers),
  });
  if (availableVramBytes === undefined || availableVramBytes <= 0) return result(0);
  if (full.vramBytes <= availableVramBytes) return result(total);
  let lo = 0;
  let hi = total;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (estimate.at(mid).vramBytes <= availableVramBytes) lo = mid;
    else hi = mid;
  }
  return result(estimate.at(lo).vramBytes <= availableVramBytes ? lo : 0);
}

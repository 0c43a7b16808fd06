/**
 * Text rendering of `glmbot doctor`'s findings: GPU section, configured model, the seed's hardware table
 * computed for this machine, and the checks. Pure functions of their inputs (no I/O), so tests can render a
 * simulated rig (e.g. the seed's 2 × 8 GB cards). Sizes are decimal GB (1 GB = 10^9 bytes).
 */
import { formatSize } from "../progress.js";
import type { Check } from "./checks.js";
import type { Fit } from "./estimate.js";
import type { HardwareFacts } from "./hardware.js";

const BACKEND_NAMES = { cuda: "CUDA", vulkan: "Vulkan", metal: "Metal" } as const;

/** Left-aligned columns separated by two spaces. */
export function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ").trimEnd());
}

/** "fits", "partly (17/29 layers)", "no", or "no GPU" when there is none. */
export function verdictText(fit: Fit, hasGpu: boolean): string {
  if (!hasGpu) return "no GPU (CPU only)";
  if (fit.verdict === "partly") return `partly (${fit.gpuLayers}/${fit.totalLayers} layers)`;
  return fit.verdict;
}

/** The GPU section: backends, devices with VRAM, and how several GPUs are used. */
export function formatHardware(facts: HardwareFacts, configuredGpu: string): string[] {
  const lines = ["GPU"];
  const found = facts.backendsFound.map((b) => BACKEND_NAMES[b]);
  lines.push(`  backends found: ${found.length > 0 ? found.join(", ") : "none (CPU only)"}`);
  lines.push(`  in use (model.gpu = ${configuredGpu}): ${facts.backend === false ? "CPU" : BACKEND_NAMES[facts.backend]}`);
  if (facts.backendProblem) lines.push(`  problem: ${facts.backendProblem}`);
  if (facts.backend === false) lines.push("  GPUs: none — the model runs on the CPU (works, but replies are slow)");
  else {
    facts.devices.forEach((d, i) => {
      const mem = d.totalBytes !== undefined ? `${formatSize(d.totalBytes)} total, ${formatSize(d.freeBytes ?? 0)} free` : "VRAM reported for all GPUs together";
      lines.push(`  GPU ${i}: ${d.name} — ${mem}`);
    });
    if (facts.vram) lines.push(`  all visible GPUs: ${formatSize(facts.vram.totalBytes)} total, ${formatSize(facts.vram.freeBytes)} free (llama.cpp keeps ${formatSize(facts.vramPaddingBytes)} spare)`);
    if (facts.devices.length > 1) {
      lines.push(`  ${facts.devices.length} GPUs: llama.cpp splits the model's layers across all visible GPUs (in proportion to their memory);`);
      lines.push("    that adds capacity (a bigger quantization, more context, more sequences), not single-reply speed.");
    }
  }
  if (facts.backend === "cuda" || facts.backendsFound.includes("cuda")) {
    const now = facts.cudaVisibleDevices === undefined ? "unset = all GPUs" : `"${facts.cudaVisibleDevices}"`;
    lines.push(`  CUDA_VISIBLE_DEVICES selects the GPUs glmbot sees, e.g. CUDA_VISIBLE_DEVICES=0,1 (now: ${now})`);
  }
  if (facts.backend === "vulkan") lines.push("  GGML_VK_VISIBLE_DEVICES selects the Vulkan devices glmbot sees, e.g. GGML_VK_VISIBLE_DEVICES=0,1");
  lines.push(`  RAM: ${formatSize(facts.ram.totalBytes)} total, ${formatSize(facts.ram.freeBytes)} available`);
  return lines;
}

/** One row of the preset table. */
export interface PresetRow {
  name: string;
  seedPrecision: string;
  fileBytes: number;
  /** `here`: the file is in models/ (then the estimate is from its header). */
  downloaded: boolean;
  fit: Fit;
}

/** The seed's hardware table for this machine. */
export function formatPresetTable(rows: readonly PresetRow[], hasGpu: boolean, ctx: { contextSize: number; sequences: number }): string[] {
  const head = ["preset", "seed", "file", "VRAM, all layers", "RAM, CPU only", "on this machine"];
  const body = rows.map((r) => [
    r.name,
    r.seedPrecision,
    `${formatSize(r.fileBytes)}${r.downloaded ? " *" : ""}`,
    formatSize(r.fit.full.vramBytes),
    formatSize(r.fit.cpuOnly.ramBytes),
    verdictText(r.fit, hasGpu),
  ]);
  return [
    `Presets at ${ctx.contextSize} tokens × ${ctx.sequences} sequences (weights + KV cache + buffers; estimates)`,
    ...table([head, ...body]).map((l) => `  ${l}`),
    "  * downloaded (estimate from the file); others from the preset's architecture and published size",
  ];
}

/** Aligned status lines. */
export function formatChecks(checks: readonly Check[]): string[] {
  const width = Math.max(...checks.map((c) => c.name.length));
  return ["Checks", ...checks.map((c) => `  ${c.status.padEnd(4)}  ${c.name.padEnd(width)}  ${c.detail}`)];
}

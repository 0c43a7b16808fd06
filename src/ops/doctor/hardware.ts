/**
 * What this machine offers llama.cpp: GPU backends whose libraries are installed, the backend the configured
 * `model.gpu` resolves to, each visible GPU with total/free VRAM, and RAM.
 *
 * Sources: node-llama-cpp's `getLlamaGpuTypes("supported")` (driver/runtime libraries found), `getLlama`
 * (prebuilt binaries only, never a build or download), `llama.getGpuDeviceNames()`, `llama.getVramState()`
 * (sum over visible devices), `llama.getRamState()`; per-device VRAM from `nvidia-smi` when CUDA is in use
 * (filtered by `CUDA_VISIBLE_DEVICES` when that lists indices). Amounts in bytes.
 */
import { execFile } from "node:child_process";
import { getLlama, getLlamaGpuTypes, LlamaLogLevel, type Llama, type LlamaGpuType } from "node-llama-cpp";
import type { GpuOption } from "../../inference/resolveLlama.js";

export type Backend = "cuda" | "vulkan" | "metal";

export interface GpuDevice {
  name: string;
  /** Bytes, when the device can be queried on its own (nvidia-smi). */
  totalBytes?: number;
  freeBytes?: number;
}

export interface HardwareFacts {
  /** Backends whose drivers/runtimes were found (empty = CPU only). */
  backendsFound: Backend[];
  /** What `model.gpu` resolves to: a backend, or false (CPU). */
  backend: Backend | false;
  /** Why a requested backend cannot be used (then `backend` is false). */
  backendProblem?: string;
  devices: GpuDevice[];
  /** Sum over visible GPUs, bytes (undefined without a GPU). */
  vram?: { totalBytes: number; freeBytes: number };
  /** Bytes llama.cpp keeps free on the GPUs (node-llama-cpp's `vramPadding`). */
  vramPaddingBytes: number;
  ram: { totalBytes: number; freeBytes: number };
  /** The value of CUDA_VISIBLE_DEVICES, if set. */
  cudaVisibleDevices?: string;
}

/** Per-GPU rows from nvidia-smi (`index, name, memory.total, memory.free` in MiB), or [] when unavailable. */
export function nvidiaSmiDevices(visible: string | undefined, timeoutMs = 5_000): Promise<GpuDevice[]> {
  return new Promise((resolve) => {
    execFile("nvidia-smi", ["--query-gpu=index,name,memory.total,memory.free", "--format=csv,noheader,nounits"], { timeout: timeoutMs }, (err, stdout) => {
      if (err) return resolve([]);
      const wanted = visible !== undefined && /^\s*\d+(\s*,\s*\d+)*\s*$/.test(visible) ? visible.split(",").map((s) => s.trim()) : undefined;
      const rows = stdout.trim().split("\n").map((line) => line.split(",").map((s) => s.trim()));
      const byIndex = new Map(rows.filter((r) => r.length >= 4).map((r) => [r[0]!, r] as const));
      const order = wanted ?? [...byIndex.keys()];
      resolve(
        order
          .map((i) => byIndex.get(i))
          .filter((r): r is string[] => r !== undefined)
          .map((r) => ({ name: r[1]!, totalBytes: Number(r[2]) * 1024 * 1024, freeBytes: Number(r[3]) * 1024 * 1024 })),
      );
    });
  });
}

async function loadLlama(gpu: GpuOption | "auto"): Promise<Llama> {
  const quiet = () => undefined;
  return getLlama({ gpu, build: "never", skipDownload: true, logLevel: LlamaLogLevel.disabled, logger: quiet, progressLogs: false });
}

/**
 * Probes the machine for `gpu` (config `model.gpu`). Resolves with the facts and a `Llama` for estimates (the
 * caller disposes it). A requested backend that cannot be loaded is reported, and the CPU binary is used.
 */
export async function probeHardware(gpu: GpuOption, env: NodeJS.ProcessEnv = process.env): Promise<{ facts: HardwareFacts; llama: Llama }> {
  const types: LlamaGpuType[] = await getLlamaGpuTypes("supported").catch(() => []);
  const found = types.filter((g): g is Backend => g !== false);
  let llama: Llama;
  let backendProblem: string | undefined;
  try {
    if (gpu === "metal" && process.platform !== "darwin") throw new Error("Metal exists only on macOS");
    llama = await loadLlama(gpu);
    if (gpu !== false && gpu !== "auto" && llama.gpu !== gpu) {
      backendProblem = `model.gpu is '${gpu}' but node-llama-cpp selected ${llama.gpu === false ? "the CPU" : llama.gpu}`;
      await llama.dispose();
      llama = await loadLlama(false);
    }
  } catch (err) {
    backendProblem = `model.gpu is '${String(gpu)}' but no working ${String(gpu)} build of llama.cpp loads here (${(err as Error).message.split("\n")[0]})`;
    llama = await loadLlama(false);
  }
  const backend = llama.gpu === false ? false : (llama.gpu as Backend);
  const ram = await llama.getRamState();
  const facts: HardwareFacts = {
    backendsFound: found,
    backend,
    backendProblem,
    devices: [],
    vramPaddingBytes: backend === false ? 0 : llama.vramPaddingSize,
    ram: { totalBytes: ram.total, freeBytes: ram.free },
    cudaVisibleDevices: env.CUDA_VISIBLE_DEVICES,
  };
  if (backend !== false) {
    const vram = await llama.getVramState();
    facts.vram = { totalBytes: vram.total, freeBytes: vram.free };
    const smi = backend === "cuda" ? await nvidiaSmiDevices(env.CUDA_VISIBLE_DEVICES) : [];
    const names = await llama.getGpuDeviceNames().catch(() => [] as string[]);
    facts.devices = smi.length > 0 ? smi : names.map((name) => ({ name }));
  }
  return { facts, llama };
}

/** VRAM a model may use: free over all visible GPUs minus llama.cpp's padding; undefined without a GPU. */
export function availableVram(facts: HardwareFacts): number | undefined {
  if (facts.backend === false || !facts.vram) return undefined;
  return Math.max(0, facts.vram.freeBytes - facts.vramPaddingBytes);
}

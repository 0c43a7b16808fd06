import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { resolveModelFile } from "node-llama-cpp";
import { GlmbotError } from "../core/errors.js";

/** True for a model source that names a remote file (`hf:` URI or an http(s) URL) rather than a local path. */
export function isRemoteModelSource(source: string): boolean {
  return /^(hf:|huggingface:|https?:\/\/)/i.test(source);
}

export interface ResolveModelOptions {
  /** Folder that downloads go into and remote URIs are looked up in (the project's `models/`). */
  modelsDir: string;
  /**
   * Give up a download that has made no progress for this long (ms). node-llama-cpp's resolver waits
   * indefinitely when the network is unreachable (its `signal` does not abort the resolve phase), so
   * glmbot races it against this watchdog. Default 30 000 ms.
   */
  stallTimeoutMs?: number;
  /** Show node-llama-cpp's download progress bar on the terminal (default true). */
  progress?: boolean;
}

/**
 * Turn `model.source` (a local GGUF path, or an `hf:user/repo/file.gguf` URI / https URL) into a local file
 * path, downloading a remote file into `modelsDir` with node-llama-cpp's downloader when it is not there yet.
 *
 * @returns the absolute path of the GGUF file.
 * @throws GlmbotError `model_load_failed` with one message that says where to put a GGUF and which variable
 *   to set, when a local path does not exist or a remote file is missing and cannot be downloaded.
 */
export async function resolveModel(source: string, options: ResolveModelOptions): Promise<string> {
  const modelsDir = path.resolve(options.modelsDir);
  if (!isRemoteModelSource(source)) {
    const file = path.resolve(source);
    if (existsSync(file) && statSync(file).isFile()) return file;
    throw missingModel(source, modelsDir, `${file} does not exist`);
  }

  // Already downloaded? This look-up is local only.
  try {
    return await resolveModelFile(source, { directory: modelsDir, download: false, cli: false });
  } catch {
    // not downloaded yet
  }

  const stallMs = options.stallTimeoutMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  let rejectStall: (err: Error) => void = () => {};
  const stall = new Promise<never>((_, reject) => {
    rejectStall = reject;
  });
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => rejectStall(new Error(`no download progress for ${Math.round(stallMs / 1000)} s`)), stallMs);
    timer.unref();
  };
  arm();
  try {
    return await Promise.race([
      resolveModelFile(source, { directory: modelsDir, cli: options.progress ?? true, onProgress: arm }),
      stall,
    ]);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw missingModel(source, modelsDir, `it could not be downloaded (${reason}; no network?)`);
  } finally {
    clearTimeout(timer);
  }
}

function missingModel(source: string, modelsDir: string, why: string): GlmbotError {
  return new GlmbotError(
    "model_load_failed",
    `No model file: ${source} — ${why}. Put a ChatGLM3/GLM-4 GGUF file (e.g. chatglm3-6b.Q4_K_M.gguf) into ${modelsDir}/ ` +
      `and set GLMBOT_MODEL to its path (or model.source in your config file).`,
    { source },
  );
}

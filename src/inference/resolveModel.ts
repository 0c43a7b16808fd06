/**
 * `model.source` → local GGUF file. A source is a preset name (`chatglm3-6b:Q8_0`, see presets.ts), a local
 * path, an `hf:<user>/<repo>/<file>.gguf` URI or an http(s) URL. Remote files live in `modelsDir` under the
 * name node-llama-cpp gives them (`hf_<user>_<file>` for Hugging Face, the URL's file name otherwise), so
 * `glmbot pull`, `glmbot serve` and node-llama-cpp's own resolver find the same file.
 *
 * A download in progress is `<file>.ipull` (ipull's temp file: the data, then its chunk map as JSON); the
 * final name appears only once it is complete, so "final file exists" means "complete".
 */
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { resolveModelFile } from "node-llama-cpp";
import { GlmbotError } from "../core/errors.js";
import { findPreset, presetForUri, type ModelPreset } from "./presets.js";

/** ipull's suffix for an unfinished download (node_modules/ipull …/download-engine-nodejs.js). */
export const PARTIAL_SUFFIX = ".ipull";

/** True for a model source that names a remote file (`hf:` URI or an http(s) URL) rather than a local path. */
export function isRemoteModelSource(source: string): boolean {
  return /^(hf:|huggingface:|https?:\/\/)/i.test(source);
}

/** A source with its preset expanded. */
export interface ModelSource {
  /** What was configured. */
  source: string;
  /** The path or URI to use (a preset's URI for a preset name). */
  uri: string;
  remote: boolean;
  /** The preset, when `source` names one or is a preset's URI. */
  preset?: ModelPreset;
}

/** Expands a preset name; paths and URIs pass through (with the preset they belong to, if any). */
export function parseModelSource(source: string): ModelSource {
  const preset = findPreset(source);
  if (preset) return { source, uri: preset.uri, remote: true, preset };
  return { source, uri: source, remote: isRemoteModelSource(source), preset: presetForUri(source) };
}

/**
 * File name a remote URI is stored under in `modelsDir`, or `undefined` when only node-llama-cpp's resolver
 * knows it (`hf:<user>/<model>:<quant>` forms). `hf:user/repo/dir/f.gguf` and
 * `https://huggingface.co/user/repo/resolve/main/f.gguf` → `hf_user_f.gguf`; other URLs → their last path segment.
 */
export function remoteFileName(uri: string): string | undefined {
  const hf = /^(?:hf|huggingface):([^/\s]+)\/[^/\s]+\/(.+?\.gguf)(?:#.*)?$/i.exec(uri);
  if (hf) return `hf_${hf[1]}_${path.posix.basename(hf[2]!)}`;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return undefined;
  }
  if (!/^https?:$/.test(url.protocol)) return undefined;
  const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
  if (url.hostname === "huggingface.co" && parts[2] === "resolve" && parts.length >= 5) return `hf_${parts[0]}_${parts.at(-1)}`;
  const name = parts.at(-1);
  return name && /^[^\\/:*?"<>|\u0000-\u001f]+$/.test(name) ? name : undefined;
}

/** Where a source's file is (or would be) on this machine. */
export interface LocalModel extends ModelSource {
  /** Absolute path of the GGUF file; for a remote source whose name is unknown, the models directory. */
  path: string;
  /** The complete file is there. */
  exists: boolean;
  /** Bytes of the file (when it exists). */
  bytes?: number;
  /** Absolute path of an unfinished download (`<path>.ipull`), when there is one. */
  partialPath?: string;
}

/** Looks a source up on disk only (never the network). */
export function findLocalModel(source: string, modelsDir: string): LocalModel {
  const parsed = parseModelSource(source);
  const dir = path.resolve(modelsDir);
  const file = parsed.remote ? (remoteFileName(parsed.uri) ?? "") : "";
  const full = parsed.remote ? path.join(dir, file) : path.resolve(parsed.uri);
  const exists = (parsed.remote ? file !== "" : true) && existsSync(full) && statSync(full).isFile();
  const partial = file !== "" && existsSync(full + PARTIAL_SUFFIX) ? full + PARTIAL_SUFFIX : undefined;
  return { ...parsed, path: full, exists, bytes: exists ? statSync(full).size : undefined, partialPath: partial };
}

/**
 * Runs `fn` with a `fetch` whose aborted responses always settle. undici (Node 20.x, undici 6) leaves
 * `reader.read()` pending forever when a fetch is aborted after its whole body has arrived but before `done`
 * was read. ipull aborts exactly then when two of its parallel range streams meet on a chunk (typical when a
 * download resumes, or near the end), so node-llama-cpp's downloader would hang at 100 %. Inside `fn`,
 * `globalThis.fetch` wraps response bodies of requests that carry a signal so that a read after the abort
 * rejects with the abort reason (ipull treats an `AbortError` as "this stream is done"). Nested and
 * concurrent calls share one installation; the original `fetch` is restored when the last one ends.
 */
export async function withAbortSafeFetch<T>(fn: () => Promise<T>): Promise<T> {
  if (abortSafe.users++ === 0) {
    abortSafe.original = globalThis.fetch;
    globalThis.fetch = abortSafeFetch(abortSafe.original);
  }
  try {
    return await fn();
  } finally {
    if (--abortSafe.users === 0 && abortSafe.original) {
      globalThis.fetch = abortSafe.original;
      abortSafe.original = undefined;
    }
  }
}

const abortSafe: { users: number; original?: typeof fetch } = { users: 0 };

function abortSafeFetch(realFetch: typeof fetch): typeof fetch {
  return async (input, init) => {
    const response = await realFetch(input, init);
    const signal = init?.signal;
    if (!signal || !response.body || [101, 204, 205, 304].includes(response.status)) return response;
    const source = response.body.getReader();
    const aborted = new Promise<never>((_, reject) => {
      if (signal.aborted) reject(signal.reason);
      else signal.addEventListener("abort", () => reject(signal.reason), { once: true });
    });
    aborted.catch(() => undefined);
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const next = await Promise.race([source.read(), aborted]);
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      },
      cancel: (reason) => source.cancel(reason),
    });
    const wrapped = new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
    Object.defineProperty(wrapped, "url", { value: response.url });
    Object.defineProperty(wrapped, "redirected", { value: response.redirected });
    return wrapped;
  };
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
 * Turn `model.source` (a preset name, a local GGUF path, or an `hf:user/repo/file.gguf` URI / https URL) into
 * a local file path, downloading a remote file into `modelsDir` with node-llama-cpp's downloader when it is not
 * there yet. An interrupted download keeps its `.ipull` file, so `glmbot pull` (or the next start) resumes it.
 *
 * @returns the absolute path of the GGUF file.
 * @throws GlmbotError `model_load_failed` with one message that says where to put a GGUF and which variable
 *   to set, when a local path does not exist or a remote file is missing and cannot be downloaded.
 */
export async function resolveModel(source: string, options: ResolveModelOptions): Promise<string> {
  const modelsDir = path.resolve(options.modelsDir);
  const local = findLocalModel(source, modelsDir);
  if (local.exists) return local.path;
  if (!local.remote) throw missingModel(source, modelsDir, `${local.path} does not exist`);
  const fileName = remoteFileName(local.uri);

  // Names only node-llama-cpp knows (hf:user/model:quant): its local-only look-up.
  try {
    return await resolveModelFile(local.uri, { directory: modelsDir, download: false, cli: false, fileName });
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
    return await withAbortSafeFetch(() => Promise.race([
      resolveModelFile(local.uri, {
        directory: modelsDir,
        fileName,
        cli: options.progress ?? true,
        onProgress: arm,
        deleteTempFileOnCancel: false,
      }),
      stall,
    ]));
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
      `and set GLMBOT_MODEL to its path (or model.source in your config file), or download it with \`glmbot pull\`.`,
    { source },
  );
}

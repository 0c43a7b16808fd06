/**
 * `glmbot pull <preset|uri>`: download a GGUF into `models/` with node-llama-cpp's downloader (ipull).
 *
 * - Skip: a complete file (the final name exists and no `.ipull` is next to it) is kept without any network access.
 * - Resume: ipull writes `<file>.ipull` (data, then its chunk map as JSON) and renames it when done. An
 *   interrupted pull (Ctrl-C, stall, crash, power loss) keeps that file; the next pull reloads the chunk map
 *   and fetches only the missing 5 MiB chunks with HTTP Range requests.
 * - Offline: a HEAD request with a timeout runs first, so an unreachable host fails in seconds with a clear
 *   message instead of ipull's ~12 minutes of retries; a transfer that stops making progress is cancelled by a
 *   watchdog (the `.ipull` file is kept).
 *
 * Errors: {@link PullError} with `reason` `offline` | `http` | `stalled` | `interrupted` | `not_gguf` | `unknown_source`.
 */
import { open, rm } from "node:fs/promises";
import path from "node:path";
import { createModelDownloader, type ModelDownloader } from "node-llama-cpp";
import { findLocalModel, remoteFileName, withAbortSafeFetch, type LocalModel } from "../inference/resolveModel.js";
import { formatSize } from "./progress.js";

export type PullFailure = "offline" | "http" | "stalled" | "interrupted" | "not_gguf" | "unknown_source";

export class PullError extends Error {
  constructor(readonly reason: PullFailure, message: string) {
    super(message);
    this.name = "PullError";
  }
}

export interface PullOptions {
  /** Preset name, `hf:` URI or http(s) URL (a local path is accepted and reported as such). */
  source: string;
  /** Download directory (created if missing). */
  modelsDir: string;
  /** Cancel when no bytes arrive for this long, ms (default 60 000). The partial file is kept. */
  stallTimeoutMs?: number;
  /** Timeout of the reachability check (HEAD), ms (default 15 000). */
  connectTimeoutMs?: number;
  /** Aborting (Ctrl-C) cancels the download and keeps the partial file. */
  signal?: AbortSignal;
  /** Called with `{total, already}` bytes once the download starts (`already` > 0 when resuming). */
  onStart?(info: { file: string; totalBytes: number; resumedBytes: number }): void;
  /** Called with transferred / total bytes. */
  onProgress?(downloadedBytes: number, totalBytes: number): void;
}

export interface PullResult {
  /** Absolute path of the GGUF file. */
  path: string;
  bytes: number;
  /** `local`: the source is a local path; `complete`: already downloaded; `downloaded` / `resumed`: fetched now. */
  status: "local" | "complete" | "downloaded" | "resumed";
  /** Bytes that were already there when a resumed download started. */
  resumedBytes: number;
}

/** The https URL behind a URI, for the reachability check (`hf:user/repo/f.gguf#rev` → huggingface.co …/resolve/rev/f.gguf). */
export function downloadUrl(uri: string): string | undefined {
  const hf = /^(?:hf|huggingface):([^/\s]+)\/([^/\s]+)\/([^#\s]+?\.gguf)(?:#(.+))?$/i.exec(uri);
  if (hf) return `https://huggingface.co/${hf[1]}/${hf[2]}/resolve/${hf[4] ?? "main"}/${hf[3]}`;
  if (/^https?:\/\//i.test(uri)) return uri;
  return undefined;
}

const NETWORK_CODES: Record<string, string> = {
  ENOTFOUND: "the host name does not resolve",
  EAI_AGAIN: "DNS lookup failed",
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  ENETUNREACH: "network unreachable",
  EHOSTUNREACH: "host unreachable",
  ETIMEDOUT: "connection timed out",
  UND_ERR_CONNECT_TIMEOUT: "connection timed out",
};

/** HEAD `url`; throws a PullError that says what failed and what to do instead. */
export async function checkReachable(url: string, timeoutMs: number): Promise<void> {
  const host = new URL(url).host;
  const offline = (why: string) =>
    new PullError("offline", `cannot reach ${host} (${why}) — are you offline? Download the file elsewhere and copy it into the models directory, or set GLMBOT_MODEL to a local .gguf file.`);
  let response: Response;
  try {
    response = await fetch(url, { method: "HEAD", redirect: "follow", signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    if (e.name === "TimeoutError") throw offline(`no answer in ${Math.round(timeoutMs / 1000)} s`);
    const code = e.cause?.code ?? "";
    throw offline(NETWORK_CODES[code] ? `${code}: ${NETWORK_CODES[code]}` : (e.cause as Error | undefined)?.message ?? e.message);
  }
  if (response.ok) return;
  const hint = response.status === 404 ? "check the preset name or URI" : response.status === 401 || response.status === 403 ? "the file needs access rights (set HF_TOKEN for gated Hugging Face models)" : "try again later";
  throw new PullError("http", `${url} answered HTTP ${response.status} — ${hint}.`);
}

/** True when the file starts with the GGUF magic. */
async function isGguf(file: string): Promise<boolean> {
  const handle = await open(file, "r");
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(4), 0, 4, 0);
    return bytesRead === 4 && buffer.toString("latin1") === "GGUF";
  } finally {
    await handle.close();
  }
}

/** Downloads (or resumes, or skips) one model file. See the module comment for the behaviour and errors. */
export async function pullModel(options: PullOptions): Promise<PullResult> {
  const local: LocalModel = findLocalModel(options.source, options.modelsDir);
  if (!local.remote) {
    if (!local.exists) throw new PullError("unknown_source", `${options.source} is neither a preset, a URI nor an existing file.`);
    return { path: local.path, bytes: local.bytes!, status: "local", resumedBytes: 0 };
  }
  if (local.exists && !local.partialPath) return { path: local.path, bytes: local.bytes!, status: "complete", resumedBytes: 0 };

  const url = downloadUrl(local.uri);
  if (url) await checkReachable(url, options.connectTimeoutMs ?? 15_000);
  return withAbortSafeFetch(() => download(local, options));
}

async function download(local: LocalModel, options: PullOptions): Promise<PullResult> {
  const stallMs = options.stallTimeoutMs ?? 60_000;
  let downloader: ModelDownloader | undefined;
  let timer: NodeJS.Timeout | undefined;
  let fail: (err: PullError) => void = () => {};
  const failed = new Promise<never>((_, reject) => (fail = reject));
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => fail(new PullError("stalled", `no download progress for ${Math.round(stallMs / 1000)} s (network down?)`)), stallMs);
  };
  const onAbort = () => fail(new PullError("interrupted", "interrupted"));
  options.signal?.addEventListener("abort", onAbort, { once: true });
  arm();
  try {
    downloader = await Promise.race([
      createModelDownloader({
        modelUri: local.uri,
        dirPath: path.resolve(options.modelsDir),
        fileName: remoteFileName(local.uri),
        showCliProgress: false,
        deleteTempFileOnCancel: false,
        skipExisting: true,
        onProgress: ({ downloadedSize, totalSize }) => {
          arm();
          options.onProgress?.(downloadedSize, totalSize);
        },
      }),
      failed,
    ]);
    const resumedBytes = local.partialPath ? downloader.downloadedSize : 0;
    options.onStart?.({ file: downloader.entrypointFilePath, totalBytes: downloader.totalSize, resumedBytes });
    arm();
    const file = await Promise.race([downloader.download(), failed]);
    if (!(await isGguf(file))) {
      await rm(file, { force: true });
      throw new PullError("not_gguf", `${local.uri} is not a GGUF file (the server sent something else, e.g. an HTML page); nothing was kept.`);
    }
    return { path: file, bytes: downloader.totalSize, status: resumedBytes > 0 ? "resumed" : "downloaded", resumedBytes };
  } catch (err) {
    if (!(err instanceof PullError)) throw err;
    if (downloader && (err.reason === "stalled" || err.reason === "interrupted")) {
      const kept = downloader.downloadedSize;
      await downloader.cancel({ deleteTempFile: false }).catch(() => undefined);
      throw new PullError(err.reason, `${err.message}; ${formatSize(kept)} of ${formatSize(downloader.totalSize)} kept in ${downloader.entrypointFilePath}.ipull — run glmbot pull again to resume.`);
    }
    throw err;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
  }
}

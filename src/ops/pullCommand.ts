/**
 * The `glmbot pull [<preset|uri>]` command: prints what it fetches, a progress bar on stderr, and the path.
 * Exit codes: 0 done (or already complete), 1 failed (offline, HTTP error, stalled), 130 interrupted (Ctrl-C;
 * the partial file is kept for the next pull).
 */
import path from "node:path";
import { loadConfig } from "../config.js";
import { parseModelSource } from "../inference/resolveModel.js";
import { createProgressBar, formatSize } from "./progress.js";
import { PullError, pullModel } from "./pull.js";

export interface PullCommandOptions {
  /** Preset, URI or URL; default `model.source` of the configuration. */
  source?: string;
  configFile?: string;
  /** Overrides `model.modelsDir`. */
  modelsDir?: string;
  /** Stall watchdog, seconds (default 60). */
  stallTimeoutSeconds?: number;
  env?: NodeJS.ProcessEnv;
  stdout?: NodeJS.WritableStream & { isTTY?: boolean };
  stderr?: NodeJS.WritableStream & { isTTY?: boolean };
}

/** Runs the command; resolves with the exit code. Config errors are thrown (GlmbotError `config_invalid`). */
export async function runPull(options: PullCommandOptions): Promise<number> {
  const out = options.stdout ?? process.stdout;
  const err = options.stderr ?? process.stderr;
  const config = loadConfig({ file: options.configFile, env: options.env ?? process.env });
  const source = options.source ?? config.model.source;
  const modelsDir = options.modelsDir ?? config.model.modelsDir;
  const parsed = parseModelSource(source);
  const label = parsed.preset ? `${parsed.preset.name} (${formatSize(parsed.preset.fileBytes)}) from ${parsed.uri}` : parsed.uri;

  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once("SIGINT", onSigint);
  const bar = createProgressBar(err, { tty: Boolean(err.isTTY) });
  try {
    const result = await pullModel({
      source,
      modelsDir,
      signal: abort.signal,
      stallTimeoutMs: options.stallTimeoutSeconds !== undefined ? options.stallTimeoutSeconds * 1000 : undefined,
      onStart: ({ totalBytes, resumedBytes }) => {
        out.write(`Pulling ${label} into ${path.resolve(modelsDir)}/\n`);
        if (resumedBytes > 0) out.write(`Resuming an interrupted download: ${formatSize(resumedBytes)} of ${formatSize(totalBytes)} already here\n`);
      },
      onProgress: (done, total) => bar.update(done, total),
    });
    bar.finish();
    const where = `${result.path} (${formatSize(result.bytes)})`;
    if (result.status === "local") out.write(`${source} is a local file: ${where}; nothing to download.\n`);
    else if (result.status === "complete") out.write(`Already downloaded: ${where}; nothing to do.\n`);
    else out.write(`Downloaded ${where}${result.status === "resumed" ? `, resumed after ${formatSize(result.resumedBytes)}` : ""}.\n`);
    if (parsed.remote && source !== config.model.source && parsed.uri !== config.model.source)
      out.write(`Use it with: GLMBOT_MODEL=${parsed.preset ? parsed.preset.name : result.path} glmbot serve\n`);
    return 0;
  } catch (e) {
    bar.finish();
    if (!(e instanceof PullError)) throw e;
    err.write(`glmbot pull: ${e.message}\n`);
    return e.reason === "interrupted" ? 130 : 1;
  } finally {
    process.off("SIGINT", onSigint);
  }
}

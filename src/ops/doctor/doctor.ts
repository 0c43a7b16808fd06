/**
 * `glmbot doctor`: answers "will it run, and will it fit" for this machine and this configuration, then exits
 * 0 (nothing blocks start-up) or 1 (at least one `fail` check). Prints, in order: the GPU section, the
 * configured model, the seed's hardware table per preset, and the checks (configuration, adapters'
 * credentials, port, data directory, memory store, model file, GPU placement).
 *
 * With an invalid configuration it still prints the hardware and the preset table (for the shipped
 * defaults' context size), reports the configuration error and exits 1.
 */
import os from "node:os";
import type { Llama } from "node-llama-cpp";
import { loadConfig, type Config } from "../../config.js";
import { isGlmbotError } from "../../core/errors.js";
import { checkAdapters, checkDataDir, checkMemoryStore, checkPort, type Check } from "./checks.js";
import { probeHardware, type HardwareFacts } from "./hardware.js";
import { inspectModel, presetRows } from "./model.js";
import { formatChecks, formatHardware, formatPresetTable } from "./report.js";

export interface DoctorOptions {
  /** `--config FILE`. */
  configFile?: string;
  /** GLMBOT_* overrides and adapter credentials. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  out?: { write(text: string): unknown };
  /** Hardware probe; tests inject a simulated rig. Must return a Llama (disposed by doctor unless `keepLlama`). */
  probe?: (gpu: Config["model"]["gpu"], env: NodeJS.ProcessEnv) => Promise<{ facts: HardwareFacts; llama: Llama; keepLlama?: boolean }>;
}

export interface DoctorResult {
  exitCode: 0 | 1;
  checks: Check[];
  text: string;
}

/** Runs every check and writes the report to `out` (default stdout). Never throws for a failed check. */
export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorResult> {
  const env = options.env ?? process.env;
  const lines: string[] = [`glmbot doctor — Node ${process.version}, ${process.platform} ${process.arch}, ${os.availableParallelism()} CPU cores`, ""];
  const checks: Check[] = [];

  let config: Config;
  let configOk = true;
  try {
    config = loadConfig({ file: options.configFile, env });
    checks.push({ status: "ok", name: "configuration", detail: `valid (config/default.yaml${options.configFile || env.GLMBOT_CONFIG ? ` + ${options.configFile ?? env.GLMBOT_CONFIG}` : ""}, GLMBOT_* overrides)` });
  } catch (err) {
    if (!isGlmbotError(err, "config_invalid")) throw err;
    configOk = false;
    checks.push({ status: "fail", name: "configuration", detail: err.message.split("\n").join("; ") });
    config = loadConfig({ env: {} });
    lines.push("The configuration is invalid (see Checks); the sections below use the shipped defaults.", "");
  }

  const probe: NonNullable<DoctorOptions["probe"]> = options.probe ?? ((gpu, e) => probeHardware(gpu, e));
  const { facts, llama, keepLlama } = await probe(config.model.gpu, env);
  try {
    lines.push(...formatHardware(facts, String(config.model.gpu)), "");
    const model = await inspectModel(config, facts, llama);
    lines.push(...model.lines, "");
    const rows = await presetRows(config, facts, llama);
    lines.push(...formatPresetTable(rows, facts.backend !== false, { contextSize: config.model.contextSize, sequences: config.model.sequences }), "");

    if (configOk) {
      checks.push(...checkAdapters(config, env));
      checks.push(await checkPort(config.server.host, config.server.port));
      const dataDir = await checkDataDir(config.dataDir);
      checks.push(dataDir);
      if (dataDir.status === "ok" || config.memory.url) checks.push(await checkMemoryStore(config));
    }
    checks.push(...model.checks);
  } finally {
    if (!keepLlama) await llama.dispose().catch(() => undefined);
  }

  const failed = checks.filter((c) => c.status === "fail").length;
  const warned = checks.filter((c) => c.status === "warn").length;
  lines.push(...formatChecks(checks), "");
  lines.push(
    failed === 0
      ? `Result: ready to start${warned > 0 ? ` (${warned} warning${warned > 1 ? "s" : ""})` : ""}.`
      : `Result: ${failed} problem${failed > 1 ? "s" : ""} block${failed > 1 ? "" : "s"} start-up (fix the "fail" lines above).`,
  );
  const text = lines.join("\n") + "\n";
  (options.out ?? process.stdout).write(text);
  return { exitCode: failed === 0 ? 0 : 1, checks, text };
}

/**
 * `glmbot` command line:
 * - `serve [--config FILE]` runs the service until SIGTERM/SIGINT;
 * - `pull [PRESET|URI]` downloads a model into `models/` (progress, resume, skip when complete);
 * - `doctor` checks the machine and the configuration (exit 1 when something blocks start-up);
 * - `prompt --conversation FILE.json | --id KEY` prints the exact prompt after the window fit.
 * Expected failures (bad config, no model file, llama.cpp's load error, port in use, bad arguments) print one
 * line on stderr, no stack trace, and exit non-zero: 2 for usage and configuration errors, 1 otherwise.
 */
import { writeSync } from "node:fs";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { isGlmbotError } from "./core/errors.js";
import { presetNames } from "./inference/presets.js";
import { serve } from "./main.js";
import { runDoctor } from "./ops/doctor/doctor.js";
import { runPrompt } from "./ops/prompt/promptCommand.js";
import { runPull } from "./ops/pullCommand.js";

const USAGE = `Usage: glmbot <command> [options]

Commands:
  serve [--config FILE]      Run the bot: load the model, serve the webhook (default http://127.0.0.1:8080).
  pull [PRESET|URI]          Download a model into models/ (default: the configured model.source), with a
                             progress bar; resumes an interrupted download, skips a complete file.
        [--models-dir DIR] [--stall-timeout SECONDS] [--config FILE]
  doctor [--config FILE]     Check GPUs, VRAM/RAM needs of the configured model and of every preset, the
                             configuration, credentials, port, data directory and memory store.
                             Exits 1 when something blocks start-up.
  prompt --conversation FILE.json | --id KEY
                             Print the exact prompt the model sees after the context-window fit, its token
                             count and the exchanges that were dropped ("why did it forget?").
        [--message TEXT [--user NAME]] [--system TEXT] [--kind shared|direct] [--max-tokens N] [--json] [--config FILE]
  help                       Show this help.

Presets: ${presetNames().join(", ")}.
Configuration: config/default.yaml (every key documented), merged with --config FILE, then GLMBOT_* variables.
`;

class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig["options"]>;
const CONFIG: Options = { config: { type: "string" } };

function parse(args: readonly string[], options: Options, positionals = 0): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const parsed = parseArgs({ args: [...args], options, allowPositionals: positionals > 0, strict: true });
    if (parsed.positionals.length > positionals) throw new UsageError(`unexpected argument '${parsed.positionals[positionals]}'`);
    return { values: parsed.values as Record<string, string | boolean | undefined>, positionals: parsed.positionals };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function positiveNumber(value: string | boolean | undefined, flag: string, integer = false): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(n > 0) || (integer && !Number.isInteger(n))) throw new UsageError(`${flag} expects a positive ${integer ? "integer" : "number"}, got '${String(value)}'`);
  return n;
}

const str = (v: string | boolean | undefined) => (typeof v === "string" ? v : undefined);

/** Runs the CLI with `argv` (without node and the script path); resolves with the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [command = "help", ...rest] = argv;
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    switch (command) {
      case "serve":
        return await runServe(rest);
      case "pull": {
        const { values, positionals } = parse(rest, { ...CONFIG, "models-dir": { type: "string" }, "stall-timeout": { type: "string" } }, 1);
        return await runPull({ source: positionals[0], configFile: str(values.config), modelsDir: str(values["models-dir"]), stallTimeoutSeconds: positiveNumber(values["stall-timeout"], "--stall-timeout") });
      }
      case "doctor": {
        const { values } = parse(rest, CONFIG);
        return (await runDoctor({ configFile: str(values.config) })).exitCode;
      }
      case "prompt": {
        const { values } = parse(rest, {
          ...CONFIG,
          conversation: { type: "string" },
          id: { type: "string" },
          message: { type: "string" },
          user: { type: "string" },
          system: { type: "string" },
          kind: { type: "string" },
          "max-tokens": { type: "string" },
          json: { type: "boolean" },
        });
        const kind = str(values.kind);
        if (kind !== undefined && kind !== "shared" && kind !== "direct") throw new UsageError(`--kind expects shared or direct, got '${kind}'`);
        if ((values.conversation === undefined) === (values.id === undefined)) throw new UsageError("give exactly one of --conversation FILE.json or --id KEY");
        return await runPrompt({
          conversationFile: str(values.conversation),
          id: str(values.id),
          message: str(values.message),
          user: str(values.user),
          system: str(values.system),
          kind,
          maxTokens: positiveNumber(values["max-tokens"], "--max-tokens", true),
          json: values.json === true,
          configFile: str(values.config),
        });
      }
      case "help":
      case "--help":
      case "-h":
        process.stdout.write(USAGE);
        return 0;
      default:
        process.stderr.write(`glmbot: unknown command '${command}'\n\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    process.stderr.write(`glmbot ${command}: ${describe(err)}\n`);
    if (err instanceof UsageError) process.stderr.write(`Run 'glmbot help' for the options.\n`);
    return err instanceof UsageError || isGlmbotError(err, "config_invalid") ? 2 : 1;
  }
}

async function runServe(args: readonly string[]): Promise<number> {
  const { values } = parse(args, CONFIG);
  let running: Awaited<ReturnType<typeof serve>> | undefined;
  let resolveExit: (code: number) => void = () => {};
  const exited = new Promise<number>((resolve) => (resolveExit = resolve));
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (!running) {
      // Still downloading or loading the model: nothing to drain.
      writeError(`glmbot: ${signal} during start-up, exiting`);
      process.exit(0);
    }
    if (signals > 1) {
      writeError(`glmbot: ${signal} again, exiting without waiting`);
      process.exit(1);
    }
    running.stop().then(
      () => resolveExit(0),
      (err) => {
        writeError(`glmbot: shutdown failed: ${describe(err)}`);
        resolveExit(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  try {
    running = await serve({ configFile: str(values.config) });
  } catch (err) {
    writeError(`glmbot: ${describe(err)}`);
    // Exit now: a download that never connected may still hold the event loop open.
    process.exit(isGlmbotError(err, "config_invalid") ? 2 : 1);
  }
  return exited;
}

/**
 * Writes one line straight to file descriptor 2. node-llama-cpp's download progress display hooks
 * `process.stderr.write` and would swallow a line written just before `process.exit`; on a terminal the
 * cursor it hid is shown again.
 */
function writeError(line: string): void {
  writeSync(2, `${process.stderr.isTTY ? "\x1b[?25h" : ""}${line}\n`);
}

function describe(err: unknown): string {
  if (isGlmbotError(err)) return err.message;
  return err instanceof Error ? err.message : String(err);
}

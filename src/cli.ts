/**
 * `glmbot` command line. `glmbot serve [--config FILE]` runs the service until SIGTERM/SIGINT.
 * Expected failures (bad config, no model file, llama.cpp's load error, port in use) print one line on
 * stderr, no stack trace, and exit non-zero.
 */
import { configFileFromArgv } from "./config.js";
import { isGlmbotError } from "./core/errors.js";
import { serve } from "./main.js";

const USAGE = `Usage: glmbot <command> [options]

Commands:
  serve [--config FILE]   Run the bot: load the model, serve the webhook (default http://127.0.0.1:8080).
  help                    Show this help.

Configuration: config/default.yaml (every key documented), merged with --config FILE, then GLMBOT_* variables.
`;

/** Runs the CLI with `argv` (without node and the script path); resolves with the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [command = "help", ...rest] = argv;
  switch (command) {
    case "serve":
      return runServe(rest);
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(`glmbot: unknown command '${command}'\n\n${USAGE}`);
      return 2;
  }
}

async function runServe(args: readonly string[]): Promise<number> {
  let running: Awaited<ReturnType<typeof serve>>;
  try {
    running = await serve({ configFile: configFileFromArgv(args) });
  } catch (err) {
    process.stderr.write(`glmbot: ${describe(err)}\n`);
    // Exit now: a download that never connected may still hold the event loop open.
    process.exit(isGlmbotError(err, "config_invalid") ? 2 : 1);
  }
  return new Promise<number>((resolve) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals += 1;
      if (signals > 1) {
        process.stderr.write(`glmbot: ${signal} again, exiting without waiting\n`);
        process.exit(1);
      }
      running.stop().then(
        () => resolve(0),
        (err) => {
          process.stderr.write(`glmbot: shutdown failed: ${describe(err)}\n`);
          resolve(1);
        },
      );
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
}

function describe(err: unknown): string {
  if (isGlmbotError(err)) return err.message;
  return err instanceof Error ? err.message : String(err);
}

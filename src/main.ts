/**
 * The composition root: the only module that wires concrete classes together
 * (config → model file → LlamaEngine → memory store → ConversationManager → webhook server).
 * Core, inference and adapters only know each other through core's ports.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import type { FastifyInstance } from "fastify";
import { loadConfig, redactConfig, resolveThreads, type Config } from "./config.js";
import { ConversationManager } from "./core/ConversationManager.js";
import { GlmbotError } from "./core/errors.js";
import { createConversationStore, type ConversationStore } from "./core/memory.js";
import type { InferenceEngine } from "./core/ports.js";
import { createDiscordAdapter, resolveDiscordOptions, type DiscordAdapter } from "./adapters/discord/index.js";
import { createSlackAdapter, resolveSlackOptions, type SlackAdapter } from "./adapters/slack/index.js";
import { createWebhookServer } from "./adapters/webhook/index.js";
import { createLlamaEngine } from "./inference/index.js";
import { resolveModel } from "./inference/resolveModel.js";
import { bindCoreMetrics, createMetricsRegistry } from "./metrics.js";
import { LateBoundService } from "./LateBoundService.js";
import { collectSecrets, createLogger } from "./ops/logger.js";

/** Beyond `shutdown.graceMs`: time for aborted generations to stop and their final edits to go out (ms). */
const SHUTDOWN_ABORT_MARGIN_MS = 10_000;

export interface ServeOptions {
  /** `--config FILE`, merged over config/default.yaml. */
  configFile?: string;
  /** Environment for GLMBOT_* overrides and secrets. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /**
   * Logger; default pino at `log.level` on stdout (JSON lines, human-readable on a terminal), with credential
   * fields redacted and every known secret value masked (src/ops/logger.ts).
   */
  logger?: Logger;
}

/** A started service. `stop()` is what SIGTERM/SIGINT run. */
export interface RunningService {
  config: Config;
  /** The bound address, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** Graceful stop: refuse new work, let running replies finish within `shutdown.graceMs`, then cancel them, flush memory, dispose the model. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Start glmbot: load and validate the config, start the HTTP server (so `/healthz` answers and `/readyz`
 * says why it is not ready while the model downloads/loads), resolve the model file, load it, open memory,
 * then accept messages.
 *
 * @throws GlmbotError `config_invalid` (bad config), `model_load_failed` (no model file / llama.cpp's reason),
 *   or the listen error (port in use). Everything started before the failure is closed again.
 */
export async function serve(options: ServeOptions = {}): Promise<RunningService> {
  const env = options.env ?? process.env;
  const config = loadConfig({ file: options.configFile, env });
  // Resolve the chat adapters' options now, so a bad section or an unreadable token file stops start-up at once.
  const discordOptions = resolveDiscordOptions(config.discord, env);
  const slackOptions = resolveSlackOptions(config.slack, env);
  const secrets = [...collectSecrets(config, env), ...(discordOptions ? [discordOptions.token] : [])];
  const log = options.logger ?? createLogger({ level: config.log.level, secrets });
  log.info({ config: redactConfig(config) }, "glmbot starting");

  const metrics = createMetricsRegistry({ defaultMetrics: true });
  const service = new LateBoundService();
  let readiness: { ready: boolean; reason?: string } = { ready: false, reason: "model is loading" };
  const app: FastifyInstance = createWebhookServer({
    config,
    service,
    isReady: () => readiness,
    logger: log.child({ component: "webhook" }),
    metrics,
  });

  let engine: InferenceEngine | undefined;
  let store: ConversationStore | undefined;
  let manager: ConversationManager | undefined;
  let discord: DiscordAdapter | undefined;
  let slack: SlackAdapter | undefined;
  const release = async () => {
    await discord?.stop().catch(() => undefined);
    await slack?.stop().catch(() => undefined);
    await app.close().catch(() => undefined);
    await store?.close().catch(() => undefined);
    await engine?.dispose().catch(() => undefined);
  };

  try {
    await app.listen({ host: config.server.host, port: config.server.port });
    const address = app.server.address();
    const port = typeof address === "object" && address ? address.port : config.server.port;
    const url = `http://${config.server.host.includes(":") ? `[${config.server.host}]` : config.server.host}:${port}`;
    log.info({ url }, "listening; loading the model");

    readiness = { ready: false, reason: "model is downloading or loading" };
    const modelPath = await resolveModel(config.model.source, {
      modelsDir: config.model.modelsDir,
      stallTimeoutMs: config.model.downloadStallTimeoutMs,
      // node-llama-cpp's progress display writes to stdout: only on a terminal, never into JSON logs.
      progress: Boolean(process.stdout.isTTY),
    });
    engine = await createLlamaEngine({
      modelPath,
      chatFormat: config.model.chatFormat,
      gpu: config.model.gpu,
      allowCpuFallback: config.model.allowCpuFallback,
      gpuLayers: config.model.gpuLayers,
      contextSize: config.model.contextSize,
      sequences: config.model.sequences,
      threads: resolveThreads(config.model.threads),
      logger: log.child({ component: "inference" }),
    });
    log.info({ model: engine.info, file: path.basename(modelPath) }, "model loaded");

    mkdirSync(config.dataDir, { recursive: true });
    store = await createConversationStore({
      url: config.memory.url || undefined,
      dataDir: config.dataDir,
      maxTurns: config.conversation.maxStoredTurns,
      idleTtlMs: config.conversation.idleTtlMs,
      onError: (err) => log.error({ err }, "memory store error"),
    });
    // Fail start-up (rather than report ready and answer 500s) when the store does not answer.
    await store.get("glmbot:startup-probe").catch((err: unknown) => {
      const reason = err instanceof Error ? err.message : String(err);
      throw new GlmbotError("config_invalid", `memory store ${config.memory.url ? "(memory.url)" : "(SQLite)"} does not answer: ${reason}`);
    });
    manager = new ConversationManager({
      engine,
      store,
      defaults: {
        systemPrompt: config.conversation.systemPrompt,
        maxTokens: config.generation.maxTokens,
        temperature: config.generation.temperature,
        topP: config.generation.topP,
        topK: config.generation.topK,
        repeatPenalty: config.generation.repeatPenalty,
        seed: config.generation.seed ?? undefined,
      },
      queue: config.queue,
      contextSize: config.model.contextSize,
      logger: log.child({ component: "core" }),
    });
    bindCoreMetrics(metrics, manager.events);
    service.bind(manager);
    readiness = { ready: true };
    if (discordOptions) {
      discord = createDiscordAdapter({ options: discordOptions, service, logger: log.child({ component: "discord" }) });
      await discord.start();
    }
    if (slackOptions.enabled) {
      slack = createSlackAdapter({
        options: slackOptions,
        service,
        logger: log.child({ component: "slack" }),
        storage: { url: config.memory.url || undefined, dataDir: config.dataDir },
        // Slack's stop waits for its replies in flight: as long as core may still let them finish.
        stopGraceMs: config.shutdown.graceMs + SHUTDOWN_ABORT_MARGIN_MS,
      });
      await slack.start();
    }
    log.info({ url }, "ready");

    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        readiness = { ready: false, reason: "shutting down" };
        log.info({ graceMs: config.shutdown.graceMs }, "shutting down");
        // Core first: it refuses new messages (503 shutting_down), lets running replies finish within the grace
        // period, then cancels them with a final message. The HTTP server and the chat clients stay up meanwhile,
        // so SSE streams, sync answers, webhook callbacks and chat edits of those replies are still delivered.
        await Promise.all([manager!.shutdown({ graceMs: config.shutdown.graceMs }), slack?.stop()]);
        await release();
        log.info("stopped");
      })());
    return { config, url, stop };
  } catch (err) {
    await release();
    throw err;
  }
}

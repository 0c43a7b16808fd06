/**
 * The webhook adapter: a Fastify server exposing
 *   POST   /v1/messages            – ask the bot (JSON, SSE or callback; see routes/messages.ts)
 *   GET    /v1/conversations/:id   – stored turns;  DELETE – forget the conversation
 *   GET    /healthz, /readyz, /metrics
 * Authentication per client (Bearer or HMAC, see auth.ts). Every error is `{"error": {"code", "message", …}}`,
 * malformed HTTP included (see `clientErrorHandler` in errors.ts).
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Counter, Registry } from "prom-client";
import type { ConversationService } from "../../core/ports.js";
import { METRIC_NAMES } from "../../metrics.js";
import { SignatureReplayCache, assertSafeBind } from "./auth.js";
import type { Readiness, WebhookContext, WebhookServerConfig } from "./context.js";
import { clientErrorHandler, frameworkErrorHandler, installErrorHandling } from "./errors.js";
import { IdempotencyStore } from "./idempotency.js";
import { installRawJsonParser } from "./request.js";
import { registerConversationRoutes } from "./routes/conversations.js";
import { registerHealthRoutes } from "./routes/health.js";
import { registerMessageRoutes } from "./routes/messages.js";

export {
  assertSafeBind,
  authenticate,
  isLoopbackHost,
  signBody,
  signatureHeaders,
  MAX_SKEW_SECONDS,
  SignatureReplayCache,
} from "./auth.js";
export type { AuthenticatedClient, ClientCredentials, ReplayCheck, SignatureRef } from "./auth.js";
export type { Readiness, WebhookServerConfig } from "./context.js";
export type { MessageResponse } from "./outcome.js";

export interface WebhookServerOptions {
  /** `server` (host, port, bodyLimit bytes) and `webhook` sections of the config. */
  config: WebhookServerConfig;
  service: ConversationService;
  /** Readiness for `/readyz` and for refusing messages with 503 `model_not_ready`. */
  isReady: () => Readiness;
  /** A pino (or Fastify-compatible) logger; none = silent. */
  logger?: FastifyBaseLogger;
  /** Registry from `createMetricsRegistry()`: served at `/metrics`, and webhook counters are recorded in it. */
  metrics?: Registry;
  /** Pauses before callback retries, ms (the last repeats). Default [1000, 5000, 25000]; tests pass [0]. */
  callbackRetryDelaysMs?: readonly number[];
  /** fetch used for callbacks. Default: global fetch (undici). */
  fetch?: typeof globalThis.fetch;
  /** Clock, ms since epoch (signature timestamps, idempotency TTL). Default Date.now. */
  now?: () => number;
}

function counter(registry: Registry | undefined, name: string): Counter | undefined {
  return registry?.getSingleMetric(name) as Counter | undefined;
}

/**
 * Builds (does not start) the webhook server. Start it with `app.listen({host, port})` from `config.server`;
 * `app.close()` stops it and abandons callback retries still waiting.
 * @throws GlmbotError `config_invalid` (from {@link assertSafeBind}) when the webhook is enabled on a
 *   non-loopback host with no authenticated client.
 */
export function createWebhookServer(options: WebhookServerOptions): FastifyInstance {
  const { config } = options;
  if (config.webhook.enabled) assertSafeBind(config.server.host, config.webhook.clients);
  const bodyLimit = config.server.bodyLimit;
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    bodyLimit,
    frameworkErrors: frameworkErrorHandler(bodyLimit),
    clientErrorHandler,
    return503OnClosing: true,
    // One line per request (below) instead of Fastify's two: cheaper under load, and no query strings in logs.
    logController: new LogController({ disableRequestLogging: true }),
  }) as unknown as FastifyInstance;

  const closing = new AbortController();
  const now = options.now ?? Date.now;
  const ctx: WebhookContext = {
    config,
    service: options.service,
    isReady: options.isReady,
    idempotency: new IdempotencyStore(config.webhook.idempotencyTtlMs, now),
    replay: new SignatureReplayCache(),
    now,
    callbacks: {
      delaysMs: options.callbackRetryDelaysMs,
      fetch: options.fetch,
      signal: closing.signal,
      pending: new Set(),
      counter: counter(options.metrics, METRIC_NAMES.webhookCallbacks),
    },
    requestCounter: counter(options.metrics, METRIC_NAMES.webhookRequests),
  };

  installRawJsonParser(app);
  installErrorHandling(app, bodyLimit);
  // The one place requests are counted (hijacked SSE replies included: the hook runs when the response finishes).
  app.addHook("onResponse", async (req, reply) => {
    const route = req.routeOptions.url ?? "unmatched";
    ctx.requestCounter?.inc({ route, status: String(reply.statusCode) });
    const line = { method: req.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 };
    if (reply.statusCode >= 500) req.log.warn(line, "request failed");
    else if (route === "/healthz" || route === "/readyz" || route === "/metrics") req.log.debug(line, "request");
    else req.log.info(line, "request");
  });
  // On close, callbacks of jobs that finished during shutdown still get one attempt's time to be delivered;
  // retries still waiting after that are abandoned.
  app.addHook("onClose", async () => {
    if (ctx.callbacks.pending.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      const cap = new Promise<void>((resolve) => (timer = setTimeout(resolve, config.webhook.callbackTimeoutMs)));
      await Promise.race([Promise.allSettled([...ctx.callbacks.pending]), cap]);
      clearTimeout(timer);
    }
    closing.abort();
  });

  registerHealthRoutes(app, options.isReady, options.metrics);
  if (config.webhook.enabled) {
    registerMessageRoutes(app, ctx);
    registerConversationRoutes(app, ctx);
  }
  return app;
}

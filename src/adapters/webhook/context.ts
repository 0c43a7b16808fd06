/** What the webhook's route modules share (built once by `createWebhookServer`). */
import type { FastifyRequest } from "fastify";
import type { Counter } from "prom-client";
import type { Config } from "../../config.js";
import type { ConversationService } from "../../core/ports.js";
import { authenticate, type AuthenticatedClient, type SignatureReplayCache } from "./auth.js";
import type { IdempotencyStore } from "./idempotency.js";

/** The config slice the webhook server needs. */
export type WebhookServerConfig = Pick<Config, "server" | "webhook">;

/** Readiness as reported by the composition root (model loaded, storage open…). */
export interface Readiness {
  ready: boolean;
  /** Why not ready, shown in 503 `model_not_ready` (e.g. "downloading model 42%"). */
  reason?: string;
}

export interface WebhookContext {
  config: WebhookServerConfig;
  service: ConversationService;
  isReady: () => Readiness;
  idempotency: IdempotencyStore;
  /** Signatures already accepted (HMAC replay protection, see auth.ts). */
  replay: SignatureReplayCache;
  /** Clock, ms since epoch. */
  now: () => number;
  callbacks: {
    delaysMs?: readonly number[];
    fetch?: typeof globalThis.fetch;
    /** Aborted when the server closes, after in-flight deliveries had one attempt's time to finish. */
    signal: AbortSignal;
    /** Deliveries not finished yet (awaited for a bounded time on close). */
    pending: Set<Promise<void>>;
    counter?: Counter;
  };
  requestCounter?: Counter;
}

/**
 * Authenticates `req` against the configured clients, using its raw body bytes. A signature already used
 * is refused, unless this is a retry under the same `repeatKey` (the Idempotency-Key of a
 * `POST /v1/messages`; other routes pass none).
 * @throws GlmbotError `unauthorized` / `invalid_signature` / `stale_timestamp`.
 */
export function authenticateRequest(ctx: WebhookContext, req: FastifyRequest, raw: Buffer, repeatKey?: string): AuthenticatedClient {
  return authenticate(req.headers, raw, ctx.config.webhook.clients, ctx.now(), { cache: ctx.replay, repeatKey });
}

/** The conversation key of a webhook conversation: `webhook:<client>:<conversation_id>`. */
export function conversationKey(client: AuthenticatedClient, conversationId: string): string {
  return `webhook:${client.name}:${conversationId}`;
}

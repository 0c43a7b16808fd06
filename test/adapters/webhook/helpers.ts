/** Shared helpers for the webhook adapter tests: config, server, signing, SSE parsing. */
import type { FastifyInstance, InjectOptions } from "fastify";
import type { Registry } from "prom-client";
import { createWebhookServer, signBody, type Readiness, type WebhookServerConfig } from "../../../src/adapters/webhook/index.js";
import { FakeService } from "./FakeService.js";

export const SECRET = "test-hmac-secret-0123456789abcdef";
export const TOKEN = "test-bearer-token-0123456789abcdef";
export const OTHER_TOKEN = "other-bearer-token-0123456789abcd";

type Over = { server?: Partial<WebhookServerConfig["server"]>; webhook?: Partial<WebhookServerConfig["webhook"]> };

/** A config slice with clients `acme` (token + secret) and `other` (token only). */
export function webhookConfig(over: Over = {}): WebhookServerConfig {
  return {
    server: { host: "127.0.0.1", port: 0, bodyLimit: 65_536, ...over.server },
    webhook: {
      enabled: true,
      clients: [
        { name: "acme", token: TOKEN, secret: SECRET },
        { name: "other", token: OTHER_TOKEN },
      ],
      callbackAllowedPrefixes: [],
      callbackAttempts: 3,
      callbackTimeoutMs: 5000,
      idempotencyTtlMs: 600_000,
      ...over.webhook,
    },
  };
}

export interface TestServer {
  app: FastifyInstance;
  service: FakeService;
  readiness: Readiness;
}

/** Builds a server around a FakeService; `readiness` is mutable. */
export function makeServer(
  opts: { config?: WebhookServerConfig; metrics?: Registry; delays?: number[]; now?: () => number; service?: FakeService } = {},
): TestServer {
  const service = opts.service ?? new FakeService();
  const readiness: Readiness = { ready: true };
  const app = createWebhookServer({
    config: opts.config ?? webhookConfig(),
    service,
    isReady: () => readiness,
    metrics: opts.metrics,
    callbackRetryDelaysMs: opts.delays ?? [0],
    now: opts.now,
  });
  return { app, service, readiness };
}

export const bearer = (token = TOKEN) => ({ authorization: `Bearer ${token}` });

/** HMAC headers for `raw` (plus JSON content type). */
export function signed(raw: string, secret = SECRET, nowMs = Date.now()): Record<string, string> {
  const ts = Math.floor(nowMs / 1000);
  return { "content-type": "application/json", "x-glmbot-timestamp": String(ts), "x-glmbot-signature": signBody(secret, ts, raw) };
}

export const message = (over: Record<string, unknown> = {}) => ({ conversation_id: "c-1", user: "alice", text: "hi", ...over });

/** POST /v1/messages via inject with Bearer auth by default. */
export function postMessage(app: FastifyInstance, body: unknown, headers: Record<string, string> = bearer()) {
  const payload = typeof body === "string" ? body : JSON.stringify(body);
  const opts: InjectOptions = { method: "POST", url: "/v1/messages", headers: { "content-type": "application/json", ...headers }, payload };
  return app.inject(opts);
}

/** Listens on 127.0.0.1:0 and returns the base URL. */
export async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ host: "127.0.0.1", port: 0 });
  const addr = app.server.address();
  if (addr === null || typeof addr === "string") throw new Error("no address");
  return `http://127.0.0.1:${addr.port}`;
}

export interface SseEvent {
  event: string;
  data: unknown;
}

/**
 * Reads SSE events from a fetch Response, decoding UTF-8 in streaming mode. `onEvent` may return true to
 * stop reading (the reader is then cancelled).
 */
export async function readSse(res: Response, onEvent?: (e: SseEvent) => boolean | void): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  const reader = res.body!.getReader();
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
    let cut: number;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let event = "message";
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) event = line.slice(7);
        else if (line.startsWith("data: ")) data.push(line.slice(6));
      }
      if (data.length === 0) continue;
      const e = { event, data: JSON.parse(data.join("\n")) as unknown };
      events.push(e);
      if (onEvent?.(e) === true) {
        await reader.cancel();
        return events;
      }
    }
    if (done) return events;
  }
}

/**
 * `POST /v1/messages`: validate → authenticate → (idempotency) → submit → answer in one of three modes:
 * - `sync`: wait for the job, 200 JSON (or the error's status);
 * - `stream` (`stream: true`, or `Accept: text/event-stream` when `stream` is absent): SSE `token`… `done`|`error`;
 * - `callback` (`callback_url`): 202 `{id, status: "queued", position}` now, the final JSON POSTed later.
 * Refusals before the job is queued (auth, validation, queue_full, input_too_long…) are plain JSON errors in
 * every mode. A client that disconnects before its answer cancels the job and nothing of it is stored
 * (partial text included), unless it sent an Idempotency-Key (then the job finishes, is stored, and the
 * answer waits for its retry). A callback's exchange is stored when the job ends, before the callback is
 * POSTed: a callback that fails every attempt does not undo it. A signed request may be sent
 * again byte for byte only with its Idempotency-Key (see auth.ts), and such a repeat never queues a second
 * job (even after the key expired from the idempotency store).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { InboundMessage, JobHandle } from "../../../core/ports.js";
import { GlmbotError, isGlmbotError } from "../../../core/errors.js";
import { deliverCallback } from "../callback.js";
import { authenticateRequest, conversationKey, type WebhookContext } from "../context.js";
import type { IdempotencyTicket } from "../idempotency.js";
import { finalResult, type FinalResult } from "../outcome.js";
import { parseIdempotencyKey, parseJson, parseMessageRequest, requireJsonBody, type MessageRequest } from "../request.js";
import { WebhookSink } from "../sink.js";
import { SseWriter, replayAsSse } from "../sse.js";
import { replayedSignatureError, type AuthenticatedClient } from "../auth.js";

type Mode = "sync" | "stream" | "callback";

function modeOf(req: FastifyRequest, input: MessageRequest): Mode {
  if (input.callback_url !== undefined) return "callback";
  if (input.stream !== undefined) return input.stream ? "stream" : "sync";
  const accept = req.headers.accept;
  return typeof accept === "string" && accept.includes("text/event-stream") ? "stream" : "sync";
}

function toInbound(client: AuthenticatedClient, input: MessageRequest): InboundMessage {
  const overrides: NonNullable<InboundMessage["overrides"]> = {};
  if (input.system !== undefined) overrides.system = input.system;
  if (input.max_tokens !== undefined) overrides.maxTokens = input.max_tokens;
  if (input.temperature !== undefined) overrides.temperature = input.temperature;
  return {
    conversation: { key: conversationKey(client, input.conversation_id), kind: "direct" },
    author: { id: input.user, displayName: input.user },
    text: input.text,
    ...(Object.keys(overrides).length > 0 ? { overrides } : {}),
  };
}

/**
 * Core refuses an out-of-range `max_tokens` (above its context size) with `invalid_request` but no field;
 * name the field like the webhook's own validation does.
 */
function withField(err: unknown): unknown {
  if (!isGlmbotError(err, "invalid_request") || err.details.field !== undefined || !/^max_tokens\b/.test(err.message)) return err;
  return new GlmbotError(err.code, err.message, { ...err.details, field: "max_tokens" }, { cause: err });
}

function send(reply: FastifyReply, result: FinalResult): FastifyReply {
  return reply.code(result.status).headers(result.headers).type("application/json; charset=utf-8").send(result.body);
}

/** Registers `POST /v1/messages`. */
export function registerMessageRoutes(app: FastifyInstance, ctx: WebhookContext): void {
  const { webhook } = ctx.config;

  app.post("/v1/messages", async (req, reply) => {
    const raw = requireJsonBody(req.body);
    const keyHeader = req.headers["idempotency-key"];
    const client = authenticateRequest(ctx, req, raw, typeof keyHeader === "string" ? keyHeader : undefined);
    const input = parseMessageRequest(parseJson(raw), webhook.callbackAllowedPrefixes);
    const key = parseIdempotencyKey(req.headers["idempotency-key"]);
    const mode = modeOf(req, input);
    const readiness = ctx.isReady();
    if (!readiness.ready) {
      throw new GlmbotError("model_not_ready", `model not ready${readiness.reason ? `: ${readiness.reason}` : ""}`, { reason: readiness.reason ?? null });
    }

    let ticket: IdempotencyTicket | undefined;
    if (key !== undefined) {
      const begun = ctx.idempotency.begin(client.name, key, JSON.stringify(input));
      if (begun.state === "running") throw new GlmbotError("idempotency_conflict", "a request with this Idempotency-Key is still running");
      if (begun.state === "mismatch") {
        throw new GlmbotError("idempotency_conflict", "this Idempotency-Key was used with a different request", { reason: "body_mismatch" });
      }
      if (begun.state === "done") {
        if (mode !== "stream") return send(reply.header("idempotent-replayed", "true"), begun.result);
        reply.hijack();
        return replayAsSse(reply.raw, begun.result);
      }
      if (client.signature?.repeat && ctx.replay.wasQueued(client.signature)) {
        // The key expired from the store (idempotencyTtlMs shorter than the signature window): a repeated
        // signature must not run the model again.
        ctx.idempotency.release(begun.ticket);
        throw replayedSignatureError();
      }
      ticket = begun.ticket;
    }

    // Disconnect before the answer: cancel, and mark the sink gone so that core stores nothing (the client
    // never saw the answer) — unless the client will retry with its Idempotency-Key: then the job finishes,
    // its answer waits for the retry, and the exchange is stored.
    const sink = new WebhookSink(mode === "stream");
    let handle: JobHandle | undefined;
    const onClose = () => {
      if (reply.raw.writableFinished || key !== undefined) return;
      sink.markGone();
      handle?.cancel();
    };
    if (mode !== "callback") reply.raw.on("close", onClose);

    try {
      handle = await ctx.service.submit(toInbound(client, input), sink);
    } catch (err) {
      if (ticket) ctx.idempotency.release(ticket);
      reply.raw.off("close", onClose);
      throw withField(err);
    }
    if (client.signature) ctx.replay.markQueued(client.signature);
    const job = handle;
    if (sink.gone) job.cancel();
    const finish = async (): Promise<FinalResult> => {
      const result = finalResult(await job.done, job.id, input.conversation_id);
      if (ticket) ctx.idempotency.complete(ticket, result);
      return result;
    };

    if (mode === "callback") {
      startCallback(ctx, client, input.callback_url as string, job, finish, req);
      return reply.code(202).send({ id: job.id, status: "queued", position: job.position() });
    }
    if (mode === "sync") return send(reply, await finish());

    reply.hijack();
    const sse = new SseWriter(reply.raw, () => {});
    sink.attach((text) => sse.event("token", { text }));
    const result = await finish();
    sse.finish(result); // counted once, by the onResponse hook (index.ts)
  });
}

function startCallback(
  ctx: WebhookContext,
  client: AuthenticatedClient,
  url: string,
  job: JobHandle,
  finish: () => Promise<FinalResult>,
  req: FastifyRequest,
): void {
  const { webhook } = ctx.config;
  const task = (async () => {
    const result = await finish();
    const outcome = await deliverCallback({
      url,
      body: result.body,
      jobId: job.id,
      secret: client.secret,
      attempts: webhook.callbackAttempts,
      timeoutMs: webhook.callbackTimeoutMs,
      delaysMs: ctx.callbacks.delaysMs,
      signal: ctx.callbacks.signal,
      fetch: ctx.callbacks.fetch,
      now: ctx.now,
      logger: req.log,
    });
    ctx.callbacks.counter?.inc({ result: outcome.delivered ? "delivered" : "failed" });
  })().catch((err: unknown) => req.log.error({ err }, "webhook: callback task failed"));
  ctx.callbacks.pending.add(task);
  void task.finally(() => ctx.callbacks.pending.delete(task));
}

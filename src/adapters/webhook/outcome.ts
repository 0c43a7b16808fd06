/**
 * Final answers: core's {@link ReplyOutcome} (or error) → HTTP status + JSON body, shared by the plain JSON
 * response, the SSE `done`/`error` event, callbacks and idempotent replays.
 */
import type { ReplyOutcome } from "../../core/ports.js";
import { GlmbotError } from "../../core/errors.js";
import { errorHeaders } from "./errors.js";

/** The 200 body of `POST /v1/messages` (and the SSE `done` event, and a successful callback's body). */
export interface MessageResponse {
  id: string;
  conversation_id: string;
  reply: string;
  finish_reason: ReplyOutcome["finishReason"];
  usage: { prompt_tokens: number; completion_tokens: number };
  context: { window: number; used: number; dropped_turns: number };
}

/** An HTTP answer kept for replays: status, JSON body, extra headers. */
export interface FinalResult {
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, string>;
}

/** Snake-case JSON of an outcome. */
export function outcomeToJson(outcome: ReplyOutcome, conversationId: string): MessageResponse {
  return {
    id: outcome.jobId,
    conversation_id: conversationId,
    reply: outcome.reply,
    finish_reason: outcome.finishReason,
    usage: { prompt_tokens: outcome.usage.promptTokens, completion_tokens: outcome.usage.completionTokens },
    context: { window: outcome.context.window, used: outcome.context.used, dropped_turns: outcome.context.droppedTurns },
  };
}

/** An error answer: the shared shape plus top-level `id` and `conversation_id` of the job. */
export function errorResult(err: GlmbotError, jobId: string, conversationId: string): FinalResult {
  return { status: err.httpStatus, body: { id: jobId, conversation_id: conversationId, ...err.toJSON() }, headers: errorHeaders(err) };
}

/**
 * What a finished job answers. A job that hit its deadline (`timeout`) with partial text is a 200 with
 * `finish_reason: "timeout"`; with no text at all it is 504 `generation_timeout`.
 */
export function finalResult(done: ReplyOutcome | { error: GlmbotError }, jobId: string, conversationId: string): FinalResult {
  if ("error" in done) return errorResult(done.error, jobId, conversationId);
  if (done.finishReason === "timeout" && done.reply.length === 0) {
    const err = new GlmbotError("generation_timeout", "the reply did not start before the deadline", {
      usage: { prompt_tokens: done.usage.promptTokens, completion_tokens: done.usage.completionTokens },
    });
    return errorResult(err, done.jobId, conversationId);
  }
  return { status: 200, body: { ...outcomeToJson(done, conversationId) }, headers: {} };
}

import type { EventEmitter } from "node:events";
import type { Clock } from "./clock.js";
import { GlmbotError, isGlmbotError } from "./errors.js";
import type { GuardedSink } from "./GuardedSink.js";
import type { Logger } from "./logger.js";
import type { ConversationStore } from "./memory.js";
import type { CoreMetricEvents } from "./metrics.js";
import type { ChatTurn, FinishReason, GenerateOptions, GenerateResult, InboundMessage, InferenceEngine, ReplyOutcome, StoredTurn } from "./ports.js";
import { historyExchanges, systemTurns } from "./prompt.js";
import { fitContextWindow, type FitResult } from "./window.js";

/** What a job needs from the manager. */
export interface JobDeps {
  engine: InferenceEngine;
  store: ConversationStore;
  clock: Clock;
  events: EventEmitter<CoreMetricEvents>;
  log: Logger;
  /** Tokens one turn adds to a rendered prompt (for `StoredTurn.tokens`). */
  turnTokens(turn: ChatTurn): Promise<number>;
}

/** One accepted message, as prepared by `submit`. */
export interface JobContext {
  id: string;
  message: InboundMessage;
  sink: GuardedSink;
  userTurn: ChatTurn;
  submittedAt: number;
  /** The system prompt unless the conversation or the request sets one. */
  defaultSystemPrompt: string;
  /** Sampling for this request (maxTokens included; no signal/callbacks). */
  sampling: Omit<GenerateOptions, "signal" | "onTextChunk" | "conversationKey">;
  /** Prompt token budget: context size − maxTokens. */
  budget: number;
  /** False once the conversation was reset after this job was submitted: then nothing is stored. */
  isCurrent(): boolean;
}

export type JobResult = ReplyOutcome | { error: GlmbotError };

/**
 * Runs one job once the queue starts it: read memory, fit the window, generate (streaming into the sink),
 * deliver, and store the exchange only once delivered. Never rejects.
 *
 * Outcomes:
 * - `stop` / `length`: `end`, then stored as a `delivered` exchange.
 * - aborted (cancel or deadline) after some text: `end` with `cancelled` / `timeout` and the partial text,
 *   then stored with the assistant turn marked `partial` (the user saw it, so later prompts include it).
 * - aborted before any text, `shutting_down`, engine failure, empty reply, `input_too_long`: `fail`,
 *   nothing stored.
 * - `end` throws (not delivered): nothing stored; the result is `{error: delivery_failed}`.
 */
export async function runJob(deps: JobDeps, job: JobContext, signal: AbortSignal): Promise<JobResult> {
  const { clock, events } = deps;
  const key = job.message.conversation.key;
  const startedAt = clock.now();
  events.emit("queue_wait", { key, ms: startedAt - job.submittedAt });
  job.sink.started();

  let text = "";
  let firstTokenAt: number | undefined;
  let fit: FitResult | undefined;
  let result: GenerateResult | undefined;
  let failure: GlmbotError | undefined;
  try {
    const record = await deps.store.get(key).catch((cause: unknown) => {
      throw new GlmbotError("generation_failed", "The bot could not read this conversation's memory.", {}, { cause });
    });
    signal.throwIfAborted();
    const systemPrompt = job.message.overrides?.system ?? record?.systemPrompt ?? job.defaultSystemPrompt;
    fit = await fitContextWindow({
      system: systemTurns(systemPrompt)[0],
      history: historyExchanges(record?.turns ?? [], job.message.conversation.kind),
      newMessage: job.userTurn,
      budget: job.budget,
      countTokens: (turns) => deps.engine.countTokens(turns),
    });
    events.emit("dropped_turns", { key, turns: fit.droppedTurns, exchanges: fit.droppedExchanges });
    signal.throwIfAborted();
    result = await deps.engine.generate(fit.turns, {
      ...job.sampling,
      signal,
      conversationKey: key,
      onTextChunk: (delta) => {
        if (delta === "" || job.sink.settled) return;
        if (firstTokenAt === undefined) {
          firstTokenAt = clock.now();
          events.emit("first_token", { key, ms: firstTokenAt - startedAt });
        }
        text += delta;
        job.sink.write(delta);
      },
    });
  } catch (error) {
    if (!signal.aborted) failure = asGlmbotError(error);
  }

  let finishReason: FinishReason;
  if (failure) return fail(deps, job, failure);
  if (result && result.finishReason !== "cancelled") {
    finishReason = result.finishReason;
    text = result.text;
    // An empty reply that hit max_tokens (e.g. max_tokens 1 spent on the leading newline) is a truthful `length`
    // result, not a model failure.
    if (text === "" && finishReason === "stop") return fail(deps, job, new GlmbotError("generation_failed", "The model returned an empty reply.", { reason: "empty_reply" }));
  } else {
    const reason = asGlmbotError(signal.reason);
    if (text === "" || reason.code === "shutting_down") return fail(deps, job, reason);
    finishReason = reason.code === "generation_timeout" ? "timeout" : "cancelled";
  }

  const doneAt = clock.now();
  const completionTokens = result?.completionTokens ?? 0;
  const promptTokens = result?.promptTokens ?? fit!.promptTokens;
  events.emit("prompt_tokens", { key, tokens: promptTokens, evaluated: result?.evaluatedPromptTokens ?? promptTokens });
  events.emit("completion_tokens", { key, tokens: completionTokens });
  if (firstTokenAt !== undefined && completionTokens > 1 && doneAt > firstTokenAt) {
    events.emit("tokens_per_second", { key, value: (completionTokens - 1) / ((doneAt - firstTokenAt) / 1000) });
  }

  const outcome: ReplyOutcome = {
    jobId: job.id,
    reply: text,
    finishReason,
    usage: { promptTokens, completionTokens },
    context: { window: job.budget, used: fit!.promptTokens, droppedTurns: fit!.droppedTurns },
  };
  if (job.sink.settled) return { error: asGlmbotError(signal.reason) }; // abandoned by the queue: already told
  const delivery = await job.sink.end(outcome);
  if (!delivery.delivered) {
    events.emit("job_failed", { key, code: delivery.error.code });
    return { error: delivery.error };
  }
  events.emit("job_done", { key, finishReason, ms: clock.now() - startedAt });
  if (job.isCurrent()) {
    await storeExchange(deps, job, outcome, delivery.receipt.platformMessageIds ?? []).catch((err: unknown) =>
      deps.log.error({ err, key, jobId: job.id }, "could not store a delivered exchange"),
    );
  }
  return outcome;
}

async function fail(deps: JobDeps, job: JobContext, error: GlmbotError): Promise<JobResult> {
  if (job.sink.settled) return { error };
  const key = job.message.conversation.key;
  if (error.code === "generation_failed") deps.log.error({ err: error.cause ?? error, key, jobId: job.id }, error.message);
  else deps.log.info({ key, jobId: job.id, code: error.code }, "job ended without a reply");
  deps.events.emit("job_failed", { key, code: error.code });
  await job.sink.fail(error);
  return { error };
}

async function storeExchange(deps: JobDeps, job: JobContext, outcome: ReplyOutcome, replyIds: string[]): Promise<void> {
  const { message } = job;
  const partial = outcome.finishReason === "cancelled" || outcome.finishReason === "timeout";
  const user: StoredTurn = {
    role: "user",
    authorId: message.author.id,
    authorName: message.author.displayName,
    text: message.text,
    tokens: await deps.turnTokens(job.userTurn),
    at: job.submittedAt,
    platformMessageIds: message.platformMessageIds ?? [],
    delivery: "delivered",
  };
  const assistant: StoredTurn = {
    role: "assistant",
    authorId: "glmbot",
    authorName: deps.engine.info.modelName,
    text: outcome.reply,
    tokens: await deps.turnTokens({ role: "assistant", content: outcome.reply }),
    at: deps.clock.now(),
    platformMessageIds: replyIds,
    delivery: partial ? "partial" : "delivered",
  };
  await deps.store.appendExchange(message.conversation.key, [user, assistant]);
}

/** A GlmbotError as is; anything else as `generation_failed` (its message is not shown to users). */
export function asGlmbotError(error: unknown): GlmbotError {
  if (isGlmbotError(error)) return error;
  return new GlmbotError("generation_failed", "The model failed to generate a reply.", {}, { cause: error });
}

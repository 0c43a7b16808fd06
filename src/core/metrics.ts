import type { ErrorCode } from "./errors.js";
import type { FinishReason } from "./ports.js";

/**
 * Events for operators, emitted on `ConversationManager.events` (a Node EventEmitter). Every payload
 * carries the conversation `key`. Times are milliseconds of the injected clock.
 */
export interface CoreMetricEvents {
  /** From submit to the job starting. */
  queue_wait: [{ key: string; ms: number }];
  /** From the job starting (memory read, window fit, prompt evaluation) to the first text delta. */
  first_token: [{ key: string; ms: number }];
  /** Decode speed after the first token: (completionTokens − 1) / seconds from first delta to the end. Only when both are > 0. */
  tokens_per_second: [{ key: string; value: number }];
  /** Prompt tokens sent, and how many of them the engine evaluated (the rest came from its KV cache). */
  prompt_tokens: [{ key: string; tokens: number; evaluated: number }];
  completion_tokens: [{ key: string; tokens: number }];
  /** Turns left out of a prompt to fit the window (emitted for every prompt, 0 included). */
  dropped_turns: [{ key: string; turns: number; exchanges: number }];
  /** Jobs waiting for a free sequence (not yet generating), after every change: submit, start, finish. */
  queue_depth: [{ depth: number }];
  /** A submit refused at once (input_too_long, queue_full, shutting_down, invalid_request, …). */
  refusal: [{ key: string; code: ErrorCode }];
  /** A job that ended without a complete delivered reply (generation_timeout, cancelled, generation_failed, delivery_failed, …). */
  job_failed: [{ key: string; code: ErrorCode }];
  /** A job whose reply was delivered (`stop`, `length`, or partial `cancelled` / `timeout`). */
  job_done: [{ key: string; finishReason: FinishReason; ms: number }];
}

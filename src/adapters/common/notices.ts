/**
 * User-facing texts shared by the chat adapters (Discord, Slack), so that every platform says the same
 * thing. Plain text with an emoji, no markup: Discord Markdown and Slack mrkdwn disagree on `*…*`.
 * Every text is short and non-empty (Discord and Slack refuse empty messages).
 */
import type { GlmbotError } from "../../core/errors.js";
import type { FinishReason } from "../../core/ports.js";

/** The queue position of a waiting job (1-based), e.g. `⏳ #3 in queue`. */
export function queuePositionText(position: number): string {
  return `⏳ #${position} in queue`;
}

/** Shown in a queue message once generation has started but no text has arrived yet. */
export const THINKING_TEXT = "💭 Thinking…";

/** Replaces an empty or whitespace-only model reply (a message may not be empty). */
export const EMPTY_REPLY_TEXT = "🤔 The model returned an empty reply. Please try rephrasing your message.";

/** Answer to a message that addresses the bot but has no text (e.g. only a mention). */
export const NO_TEXT_HINT = "👋 Ask me something after the mention, or say `help` to see the commands.";

/**
 * Appended (after a blank line) to a reply that did not end normally: stopped by the user, cut by the
 * deadline, or cut at the token limit. `""` for a normal end (`stop`).
 */
export function finishMarker(reason: FinishReason): string {
  switch (reason) {
    case "cancelled":
      return "⏹️ (stopped)";
    case "timeout":
      return "⏱️ (stopped: the reply took too long)";
    case "length":
      return "✂️ (cut off at the reply length limit)";
    case "stop":
      return "";
  }
}

/** `reply` with its {@link finishMarker} after a blank line (or the reply unchanged for `stop`). */
export function withFinishMarker(reply: string, reason: FinishReason): string {
  const marker = finishMarker(reason);
  return marker === "" ? reply : `${reply.replace(/\s+$/u, "")}\n\n${marker}`;
}

/**
 * The chat text for a refusal or failure (GlmbotError codes from `core/errors.ts`). Uses the error's
 * `details` where they help (`input_too_long`: `{tokens, limit}`; `queue_full`: `{retryAfterSeconds}`);
 * codes without a text of their own fall back to the error's own (user-safe) message.
 */
export function errorText(error: Pick<GlmbotError, "code" | "message" | "details">): string {
  const d = error.details;
  switch (error.code) {
    case "input_too_long": {
      const numbers = typeof d.tokens === "number" && typeof d.limit === "number" ? ` (${d.tokens} tokens; the limit is ${d.limit})` : "";
      return `📏 Your message is too long for the model${numbers}. Please shorten it, or say \`reset\` to start a new conversation.`;
    }
    case "queue_full": {
      // core's message is user-safe and says which limit was hit (everyone's or this user's)
      const wait = typeof d.retryAfterSeconds === "number" ? `in about ${d.retryAfterSeconds} s` : "shortly";
      return `🚦 ${error.message.replace(/try again shortly/u, `try again ${wait}`)}`;
    }
    case "generation_timeout":
      return "⏱️ The reply took too long and was stopped. Please try again, perhaps with a shorter question.";
    case "model_not_ready":
      return "🔄 The model is still loading. Please try again in a minute.";
    case "shutting_down":
      return "🔄 The bot is restarting. Please send your message again in a minute.";
    case "generation_failed":
      if (d.reason === "empty_reply") return EMPTY_REPLY_TEXT;
      return "⚠️ Sorry, the model failed to generate a reply. Please try again.";
    case "cancelled":
      return "⏹️ Stopped.";
    case "delivery_failed":
      return "⚠️ Sorry, the reply could not be delivered. Please try again.";
    default:
      return `⚠️ ${error.message}`;
  }
}

/**
 * "Why did it forget?": rebuilds the prompt core would send for a conversation, with core's own functions
 * (`historyExchanges`, `userContent`, `systemTurns` from core/prompt.ts, `fitContextWindow` from
 * core/window.ts, budget = contextSize − maxTokens as in ConversationManager), and says which exchanges the
 * window fit dropped.
 *
 * Which message: by default the conversation's last user turn (the prompt its reply was generated from,
 * history = the exchanges before it); with `message`, a new message after every stored turn.
 */
import { groupExchanges } from "../../core/exchanges.js";
import type { ChatTurn, ConversationRef } from "../../core/ports.js";
import { historyExchanges, systemTurns, userContent } from "../../core/prompt.js";
import { fitContextWindow, type CountTokens } from "../../core/window.js";
import type { Conversation, ConversationTurn } from "./conversationFile.js";

export interface InspectOptions {
  kind: ConversationRef["kind"];
  /** Context window per sequence, tokens (`model.contextSize`). */
  contextSize: number;
  /** Tokens reserved for the reply (`generation.maxTokens`, or a request's max_tokens). */
  maxTokens: number;
  /** Used when neither `systemOverride` nor the conversation sets one (`conversation.systemPrompt`). */
  defaultSystemPrompt: string;
  /** A request's `system` (replaces the conversation's for that request). */
  systemOverride?: string;
  /** A new message to build the prompt for (instead of replaying the last user turn). */
  message?: { text: string; authorId: string; authorName: string };
  countTokens: CountTokens;
}

export interface PromptInspection {
  /** The prompt turns after the fit: system, kept exchanges, new message. */
  turns: ChatTurn[];
  /** Exact tokens of the rendered prompt. */
  promptTokens: number;
  /** contextSize − maxTokens. */
  budget: number;
  systemSource: "request" | "conversation" | "config" | "none";
  /** Exchanges of history before the fit, and those left out (oldest first, as stored). */
  historyExchanges: number;
  dropped: ConversationTurn[][];
  droppedTurns: number;
  /** The message the prompt answers. */
  newMessage: ConversationTurn;
}

/**
 * @throws GlmbotError `input_too_long` (system + message alone exceed the budget; details `{tokens, limit}`);
 *   Error when there is no user message to build a prompt for, or maxTokens leaves no room.
 */
export async function inspectPrompt(conversation: Conversation, options: InspectOptions): Promise<PromptInspection> {
  const budget = options.contextSize - options.maxTokens;
  if (!Number.isInteger(options.maxTokens) || options.maxTokens < 1 || budget < 1)
    throw new Error(`max tokens must be an integer from 1 to ${options.contextSize - 1} (context ${options.contextSize})`);

  let history: ConversationTurn[];
  let newMessage: ConversationTurn;
  if (options.message) {
    history = conversation.turns;
    newMessage = { role: "user", ...options.message };
  } else {
    const last = conversation.turns.map((t) => t.role).lastIndexOf("user");
    if (last < 0) throw new Error("the conversation has no user message; give one with --message TEXT");
    history = conversation.turns.slice(0, last);
    newMessage = conversation.turns[last]!;
  }

  const systemSource: PromptInspection["systemSource"] =
    options.systemOverride !== undefined ? "request" : conversation.systemPrompt !== undefined ? "conversation" : options.defaultSystemPrompt !== "" ? "config" : "none";
  const systemPrompt = options.systemOverride ?? conversation.systemPrompt ?? options.defaultSystemPrompt;
  const stored = groupExchanges(history);
  const fit = await fitContextWindow({
    system: systemTurns(systemPrompt)[0],
    history: historyExchanges(history.map((t) => ({ ...t, tokens: 0, at: 0, platformMessageIds: [], delivery: "delivered" as const })), options.kind),
    newMessage: { role: "user", content: userContent(options.kind, { id: newMessage.authorId, displayName: newMessage.authorName }, newMessage.text) },
    budget,
    countTokens: options.countTokens,
  });
  return {
    turns: fit.turns,
    promptTokens: fit.promptTokens,
    budget,
    systemSource: systemPrompt === "" ? "none" : systemSource,
    historyExchanges: stored.length,
    dropped: stored.slice(0, fit.droppedExchanges),
    droppedTurns: fit.droppedTurns,
    newMessage,
  };
}

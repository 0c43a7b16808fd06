import type { FairQueue } from "./FairQueue.js";
import type { ConversationStore } from "./memory.js";
import type { Command, ConversationRef } from "./ports.js";
import { historyExchanges, systemTurns } from "./prompt.js";
import type { CountTokens } from "./window.js";

/** What a command may see and do, for one conversation. */
export interface CommandContext {
  conversation: ConversationRef;
  store: ConversationStore;
  queue: Pick<FairQueue, "waiting" | "running" | "positionOfKey" | "hasJobs">;
  modelName: string;
  defaultSystemPrompt: string;
  /** Prompt token budget with the default maxTokens. */
  budget: number;
  countTokens: CountTokens;
  /** Forgets the conversation (and keeps replies in flight from being stored). */
  reset(): Promise<void>;
}

export const HELP_TEXT = [
  "Commands:",
  "- reset: forget this conversation",
  "- system <text>: set this conversation's system prompt",
  "- system reset: go back to the default system prompt",
  "- status: model, context use, stored turns and queue",
  "- help: this list",
].join("\n");

/**
 * Runs a command and returns the short text to show the user. Rejects only when the store fails.
 * `system <text>` is refused (with a message, not an error) when the prompt leaves no room for a message:
 * its tokens plus an empty user turn must fit the budget.
 */
export async function runCommand(ctx: CommandContext, command: Command): Promise<string> {
  const key = ctx.conversation.key;
  switch (command.name) {
    case "reset":
      await ctx.reset();
      return "Done: this conversation is forgotten. The next message starts fresh.";
    case "system": {
      const text = command.text.trim();
      if (text === "") return "Usage: system <text> to set this conversation's system prompt, or system reset.";
      const tokens = await ctx.countTokens([...systemTurns(text), { role: "user", content: "" }]);
      if (tokens > ctx.budget) {
        return `That system prompt is too long: ${tokens} tokens, the limit is ${ctx.budget}. It was not changed.`;
      }
      await ctx.store.setSystemPrompt(key, text);
      return `System prompt set for this conversation (${tokens} tokens).`;
    }
    case "system_reset":
      await ctx.store.setSystemPrompt(key, undefined);
      return "System prompt reset to the default.";
    case "status":
      return status(ctx);
    case "help":
      return HELP_TEXT;
  }
}

async function status(ctx: CommandContext): Promise<string> {
  const record = await ctx.store.get(ctx.conversation.key);
  const turns = record?.turns ?? [];
  const history = historyExchanges(turns, ctx.conversation.kind).flat();
  const used = await ctx.countTokens([...systemTurns(record?.systemPrompt ?? ctx.defaultSystemPrompt), ...history]);
  const over = used > ctx.budget ? " (the oldest exchanges are left out of prompts)" : "";
  const position = ctx.queue.positionOfKey(ctx.conversation.key);
  const here = position > 0 ? `; this conversation is #${position}` : ctx.queue.hasJobs(ctx.conversation.key) ? "; a reply here is in progress" : "";
  return [
    `Model: ${ctx.modelName}`,
    `Context: ${used}/${ctx.budget} tokens${over}`,
    `Stored turns: ${turns.length}`,
    `System prompt: ${record?.systemPrompt !== undefined ? "custom" : "default"}`,
    `Queue: ${ctx.queue.running} running, ${ctx.queue.waiting} waiting${here}`,
  ].join("\n");
}

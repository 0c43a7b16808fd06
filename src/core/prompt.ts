import { groupExchanges } from "./exchanges.js";
import type { ChatTurn, ConversationRef, InboundMessage, StoredTurn } from "./ports.js";

/** Longest display name put into a prompt (characters); longer names are cut. */
const MAX_NAME_CHARS = 64;

/**
 * The name shown to the model for an author: the display name with control characters and line breaks
 * turned into spaces, runs of whitespace collapsed, trimmed, and cut to 64 characters; the author id when
 * nothing is left.
 */
export function promptName(displayName: string, authorId: string): string {
  const name = displayName.replace(/[\p{Cc}\s]+/gu, " ").trim().slice(0, MAX_NAME_CHARS).trim();
  return name === "" ? authorId : name;
}

/**
 * The content of a user turn as the model sees it. In a `shared` conversation it is
 * `"<name>: <text>"` (e.g. `"Alice: what's the ETA?"`), so the model can tell people apart; in a
 * `direct` conversation (DM, webhook) it is the text unchanged.
 */
export function userContent(kind: ConversationRef["kind"], author: { id: string; displayName: string }, text: string): string {
  return kind === "shared" ? `${promptName(author.displayName, author.id)}: ${text}` : text;
}

/** The user turn for an inbound message. */
export function userTurnOf(message: InboundMessage): ChatTurn {
  return { role: "user", content: userContent(message.conversation.kind, message.author, message.text) };
}

/** The system turn for a prompt text; none for an empty prompt. */
export function systemTurns(systemPrompt: string): ChatTurn[] {
  return systemPrompt === "" ? [] : [{ role: "system", content: systemPrompt }];
}

/** Stored turns (oldest first) as prompt exchanges, rendered for the conversation's kind. */
export function historyExchanges(turns: readonly StoredTurn[], kind: ConversationRef["kind"]): ChatTurn[][] {
  return groupExchanges(turns).map((exchange) =>
    exchange.map((turn) => ({
      role: turn.role,
      content: turn.role === "user" ? userContent(kind, { id: turn.authorId, displayName: turn.authorName }, turn.text) : turn.text,
    })),
  );
}

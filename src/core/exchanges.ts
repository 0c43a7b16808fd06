import type { Role } from "./ports.js";

/**
 * Groups a flat, oldest-first turn list into exchanges: each `user` turn starts a new exchange and the
 * `assistant` turns after it join that exchange. An assistant turn with no user turn before it forms an
 * exchange of its own, and so does a user turn with no reply (neither happens with turns written by
 * {@link ConversationStore}, which stores only complete exchanges, but older or hand-edited data may have them).
 *
 * Exchanges are the unit that the context window and the per-channel `maxTurns` limit drop: never half of one.
 */
export function groupExchanges<T extends { role: Role }>(turns: readonly T[]): T[][] {
  const groups: T[][] = [];
  for (const turn of turns) {
    const current = groups[groups.length - 1];
    if (turn.role === "user" || current === undefined) groups.push([turn]);
    else current.push(turn);
  }
  return groups;
}

import { GlmbotError } from "./errors.js";
import type { ChatTurn } from "./ports.js";

/** Exact token count of a fully rendered prompt, e.g. `engine.countTokens`. */
export type CountTokens = (turns: readonly ChatTurn[]) => Promise<number>;

export interface FitInput {
  /** The system turn, always kept in full; `undefined` (or empty content) for none. */
  system?: ChatTurn;
  /** Earlier exchanges, oldest first, each kept or dropped whole (see `groupExchanges`). */
  history: readonly (readonly ChatTurn[])[];
  /** The newest user turn, always kept in full. */
  newMessage: ChatTurn;
  /** Maximum prompt tokens: context size minus the tokens reserved for the reply. */
  budget: number;
  countTokens: CountTokens;
}

export interface FitResult {
  /** The prompt to send: system (if any), the kept exchanges (oldest first), the new message. */
  turns: ChatTurn[];
  /** Tokens of the fully rendered `turns` (as counted by `countTokens`), ≤ budget. */
  promptTokens: number;
  /** Turns (not exchanges) left out: a dropped user+assistant exchange counts 2. */
  droppedTurns: number;
  /** Exchanges left out (the oldest ones). */
  droppedExchanges: number;
}

/**
 * Fits a conversation into the context budget by dropping the oldest whole exchanges, as few as possible.
 *
 * Every candidate prompt is counted in full with `countTokens` (never estimated, never summed per turn, so
 * tokenizer effects at message boundaries are included). Cost: one count when everything fits; otherwise
 * a binary search over the number of dropped exchanges, about log2(history.length) + 2 counts.
 *
 * Guarantees, whatever the tokenizer: `promptTokens <= budget`, and when exchanges were dropped, putting
 * back the last dropped one was counted and does not fit (`tokens > budget`). A prompt of exactly
 * `budget` tokens is sent unchanged.
 *
 * @throws GlmbotError `input_too_long` with details `{tokens, limit}` when the system turn plus the new
 *   message alone exceed the budget (`tokens` is that count, `limit` is `budget`).
 */
export async function fitContextWindow(input: FitInput): Promise<FitResult> {
  const { history, budget, countTokens } = input;
  const head: ChatTurn[] = input.system && input.system.content !== "" ? [input.system] : [];
  const build = (drop: number): ChatTurn[] => [...head, ...history.slice(drop).flat(), input.newMessage];
  const counted = new Map<number, number>();
  const count = async (drop: number): Promise<number> => {
    let tokens = counted.get(drop);
    if (tokens === undefined) {
      tokens = await countTokens(build(drop));
      counted.set(drop, tokens);
    }
    return tokens;
  };

  const n = history.length;
  if ((await count(0)) > budget) {
    const alone = await count(n);
    if (alone > budget) throw inputTooLong(alone, budget);
    // Invariant: count(lo) > budget, count(hi) <= budget. Find the smallest hi.
    let lo = 0;
    let hi = n;
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      if ((await count(mid)) <= budget) hi = mid;
      else lo = mid;
    }
    return result(build(hi), await count(hi), history.slice(0, hi));
  }
  return result(build(0), await count(0), []);
}

function result(turns: ChatTurn[], promptTokens: number, dropped: readonly (readonly ChatTurn[])[]): FitResult {
  return {
    turns,
    promptTokens,
    droppedTurns: dropped.reduce((sum, exchange) => sum + exchange.length, 0),
    droppedExchanges: dropped.length,
  };
}

/** The coded error for a message that cannot fit even alone (webhook 422). */
export function inputTooLong(tokens: number, limit: number): GlmbotError {
  return new GlmbotError(
    "input_too_long",
    `The message is too long: ${tokens} tokens, the limit is ${limit}.`,
    { tokens, limit },
  );
}

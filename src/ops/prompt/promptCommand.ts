/**
 * `glmbot prompt (--conversation FILE.json | --id KEY) [--message TEXT] …`: prints the exact prompt the model
 * sees for a conversation after the window fit — its text with special tokens, its token count, the budget,
 * and the exchanges that were dropped. Exit codes: 0 printed, 1 failed (message on stderr).
 * With `--json`: `{conversation, kind, family, contextSize, maxTokens, budget, promptTokens, systemSource,
 * historyExchanges, droppedExchanges, droppedTurns, dropped: [[{role, author, text}]], text, tokens}`.
 */
import type { Token } from "node-llama-cpp";
import { loadConfig } from "../../config.js";
import { createConversationStore } from "../../core/memory.js";
import type { ConversationRef } from "../../core/ports.js";
import { findLocalModel } from "../../inference/resolveModel.js";
import { kindOfKey, readConversationFile, type Conversation, type ConversationTurn } from "./conversationFile.js";
import { inspectPrompt, type PromptInspection } from "./inspectPrompt.js";
import { openPromptTokenizer } from "./promptTokenizer.js";

export interface PromptCommandOptions {
  /** `--conversation FILE.json`. */
  conversationFile?: string;
  /** `--id KEY`: a stored conversation key (e.g. `webhook:default:ops`), read from the configured memory store. */
  id?: string;
  /** `--message TEXT` [`--user NAME`]: build the prompt for a new message instead of the last user turn. */
  message?: string;
  user?: string;
  /** `--system TEXT`: a request's system prompt override. */
  system?: string;
  /** `--kind shared|direct`. */
  kind?: ConversationRef["kind"];
  /** `--max-tokens N`: a request's max_tokens (default generation.maxTokens). */
  maxTokens?: number;
  json?: boolean;
  configFile?: string;
  env?: NodeJS.ProcessEnv;
  out?: { write(text: string): unknown };
}

async function storedConversation(key: string, config: ReturnType<typeof loadConfig>): Promise<Conversation> {
  const store = await createConversationStore({ url: config.memory.url || undefined, dataDir: config.dataDir, maxTurns: config.conversation.maxStoredTurns, idleTtlMs: config.conversation.idleTtlMs });
  try {
    const record = await store.get(key);
    if (!record) throw new Error(`no stored conversation '${key}' (keys look like webhook:<client>:<conversation_id>; it may have expired after conversation.idleTtlMs)`);
    return { label: key, kind: kindOfKey(key), systemPrompt: record.systemPrompt, turns: record.turns };
  } finally {
    await store.close().catch(() => undefined);
  }
}

const preview = (text: string, max = 80) => {
  const flat = text.replace(/\s+/g, " ").trim();
  return JSON.stringify(flat.length > max ? `${flat.slice(0, max - 1)}…` : flat);
};

function describeExchange(exchange: ConversationTurn[]): string {
  const user = exchange.find((t) => t.role === "user");
  const replies = exchange.filter((t) => t.role === "assistant").length;
  return `${user ? `${user.authorName}: ${preview(user.text)}` : "(reply without a question)"}${replies > 0 ? " + reply" : ""}`;
}

/** Runs the command; resolves with the exit code. Throws GlmbotError `config_invalid` for a bad configuration. */
export async function runPrompt(options: PromptCommandOptions): Promise<number> {
  const out = options.out ?? process.stdout;
  const config = loadConfig({ file: options.configFile, env: options.env ?? process.env });
  if ((options.conversationFile === undefined) === (options.id === undefined)) throw new Error("give exactly one of --conversation FILE.json or --id KEY");
  const conversation = options.conversationFile !== undefined ? await readConversationFile(options.conversationFile) : await storedConversation(options.id!, config);
  const kind = options.kind ?? conversation.kind ?? "direct";
  const local = findLocalModel(config.model.source, config.model.modelsDir);
  if (!local.exists) throw new Error(`the model file is not here (${local.remote ? `run glmbot pull ${local.preset?.name ?? local.uri}` : local.path}); its tokenizer is needed to count tokens`);

  const tokenizer = await openPromptTokenizer(local.path, config.model.chatFormat);
  let result: PromptInspection;
  let tokens: Token[];
  try {
    const maxTokens = options.maxTokens ?? config.generation.maxTokens;
    result = await inspectPrompt(conversation, {
      kind,
      contextSize: config.model.contextSize,
      maxTokens,
      defaultSystemPrompt: config.conversation.systemPrompt,
      systemOverride: options.system,
      message: options.message !== undefined ? { text: options.message, authorId: options.user ?? "operator", authorName: options.user ?? "operator" } : undefined,
      countTokens: (turns) => tokenizer.countTokens(turns),
    });
    tokens = tokenizer.tokenize(result.turns);
    const text = tokenizer.render(tokens);
    const common = { conversation: conversation.label, kind, family: tokenizer.family, contextSize: config.model.contextSize, maxTokens, budget: result.budget, promptTokens: result.promptTokens };
    if (options.json) {
      const dropped = result.dropped.map((ex) => ex.map((t) => ({ role: t.role, author: t.authorName, text: t.text })));
      out.write(JSON.stringify({ ...common, literalControlTexts: tokenizer.literalControlTexts(tokens), systemSource: result.systemSource, historyExchanges: result.historyExchanges, droppedExchanges: result.dropped.length, droppedTurns: result.droppedTurns, dropped, text, tokens }, null, 2) + "\n");
      return 0;
    }
    const which = options.message !== undefined ? "a new message (--message)" : "its last user message";
    const lines = [
      `Conversation: ${conversation.label} — ${kind}${options.kind || conversation.kind ? "" : " (assumed; --kind shared for channel conversations)"}, ${result.historyExchanges} earlier exchange(s); prompt for ${which}`,
      `Model: ${tokenizer.modelName ?? local.path} (${tokenizer.family} format); context ${config.model.contextSize} tokens − ${maxTokens} reserved for the reply = budget ${result.budget} tokens`,
      `System prompt: ${result.systemSource === "none" ? "none" : `from the ${result.systemSource}`}`,
      `Prompt: ${result.promptTokens} tokens`,
      result.dropped.length === 0
        ? "Dropped: nothing — every earlier exchange fits"
        : `Dropped: ${result.dropped.length} of ${result.historyExchanges} exchanges (${result.droppedTurns} turns), oldest first — the model does not see these:`,
      ...result.dropped.map((ex, i) => `  #${i + 1} ${describeExchange(ex)}`),
      `Kept: ${result.historyExchanges - result.dropped.length} exchange(s)`,
      "----- prompt (detokenized from its tokens, special tokens written out) -----",
      text,
      `----- end of prompt (${tokens.length} tokens) -----`,
    ];
    const literal = tokenizer.literalControlTexts(tokens);
    if (literal.length > 0)
      lines.push(`Note: ${literal.join(", ")} inside a message is plain text the user typed (ordinary tokens), not a control token.`);
    out.write(lines.join("\n") + "\n");
    return 0;
  } finally {
    await tokenizer.dispose().catch(() => undefined);
  }
}

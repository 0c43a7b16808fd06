/**
 * Shared prompt layout of the ChatGLM3 / GLM-4 chat formats, as a node-llama-cpp {@link ChatWrapper}.
 *
 * Source: the official tokenizers' `build_chat_input` / `build_single_message`
 * (THUDM chatglm3-6b and glm-4-9b-chat `tokenization_chatglm.py`):
 *
 * ```
 * prompt  = prefix tokens ([gMASK] sop | [gMASK] <sop>), exactly once, no BOS
 *         + for each message: <|role|> + encode(metadata + "\n") + encode(content)    (metadata is empty)
 *         + <|assistant|>                                                            (bare: the model writes the "\n")
 * ```
 *
 * Each `encode(...)` is a separate tokenizer call, so the token-level structure is
 * `<|user|> ▁ \n ▁你 好` for ChatGLM3 (SentencePiece adds a dummy-prefix `▁` to every separately encoded
 * piece) and `<|user|> \n 你好` for GLM-4 (BPE, no dummy prefix). {@link GlmChatWrapper.tokenizeTurns}
 * reproduces exactly that: control tokens are tokenized with special-token parsing, every text piece
 * (the separator, then the content) is tokenized on its own with special-token parsing OFF, so text a user
 * wrote (`<|assistant|>`, `[gMASK]`) always becomes plain-text tokens.
 *
 * The {@link ChatWrapper.generateContextState} form (a `LlamaText` for node-llama-cpp's `LlamaChat`) renders
 * the same prompt; its `toString()` is the string golden (`[gMASK]sop<|user|>\n 你好<|assistant|>` for
 * ChatGLM3, i.e. the HF chat template text).
 */
import { ChatWrapper, LlamaText, SpecialToken, SpecialTokensText } from "node-llama-cpp";
import type {
  ChatHistoryItem,
  ChatWrapperGenerateContextStateOptions,
  ChatWrapperGeneratedContextState,
  Token,
  Tokenizer,
} from "node-llama-cpp";
import type { ChatTurn } from "../core/ports.js";

/** A prompt family glmbot can render. */
export type GlmFamily = "chatglm3" | "glm4";

/** One piece of a rendered prompt: a control token (tokenized with special parsing) or plain text (never parsed). */
export type PromptPiece = { kind: "special"; text: string } | { kind: "text"; text: string };

/** Role tokens of both families (same text, different ids). */
export const ROLE_TOKENS = {
  system: "<|system|>",
  user: "<|user|>",
  assistant: "<|assistant|>",
  observation: "<|observation|>",
} as const;

/** Control tokens that end a reply besides EOS (official demos stop on EOS, `<|user|>`, `<|observation|>`). */
export const STOP_TOKEN_TEXTS: readonly string[] = [ROLE_TOKENS.user, ROLE_TOKENS.observation];

export abstract class GlmChatWrapper extends ChatWrapper {
  /** The family this wrapper renders. */
  abstract readonly family: GlmFamily;
  /** Prefix control tokens, in order, e.g. `["[gMASK]", "sop"]`. */
  abstract readonly prefixTokens: readonly string[];
  /**
   * How the role/content separator (`metadata + "\n"` with empty metadata) reads as text: ChatGLM3's
   * SentencePiece dummy prefix of the content piece makes it `"\n "`; GLM-4's BPE keeps `"\n"`.
   * Used only for the string form; tokenization encodes `"\n"` and the content separately.
   */
  protected abstract readonly separatorText: string;
  /**
   * Text that leads a reply and is not part of it: the newline of the empty metadata line, plus for
   * ChatGLM3 the dummy-prefix space the first content piece decodes to.
   */
  abstract readonly replyLeadingText: string;

  /** All control tokens the format uses (prefix + roles); none of them may appear in reply text. */
  get controlTokenTexts(): readonly string[] {
    return [...this.prefixTokens, ...Object.values(ROLE_TOKENS)];
  }

  /**
   * Render `turns` as pieces: prefix, each turn (role token, `"\n"`, content), and a final bare
   * `<|assistant|>` when `addGenerationPrompt` is true (the default).
   */
  renderPieces(turns: readonly ChatTurn[], addGenerationPrompt = true): PromptPiece[] {
    const pieces: PromptPiece[] = this.prefixTokens.map((text) => ({ kind: "special", text }));
    for (const turn of turns) {
      pieces.push({ kind: "special", text: ROLE_TOKENS[turn.role] });
      pieces.push({ kind: "text", text: "\n" });
      if (turn.content !== "") pieces.push({ kind: "text", text: turn.content });
    }
    if (addGenerationPrompt) pieces.push({ kind: "special", text: ROLE_TOKENS.assistant });
    return pieces;
  }

  /**
   * Tokenize `turns` exactly as the official `build_chat_input` does: one tokenizer call per piece, control
   * tokens with special parsing, text without it. Shape: `Token[]` of length = the prompt's token count.
   */
  tokenizeTurns(tokenizer: Tokenizer, turns: readonly ChatTurn[], addGenerationPrompt = true): Token[] {
    const tokens: Token[] = [];
    for (const piece of this.renderPieces(turns, addGenerationPrompt))
      tokens.push(...tokenizer(piece.text, piece.kind === "special"));
    return tokens;
  }

  /** The prompt as a `LlamaText`: control tokens as `SpecialTokensText`, content as plain strings. */
  toLlamaText(turns: readonly ChatTurn[], addGenerationPrompt = true): LlamaText {
    const values: Array<string | SpecialTokensText> = this.prefixTokens.map((t) => new SpecialTokensText(t));
    for (const turn of turns) {
      values.push(new SpecialTokensText(ROLE_TOKENS[turn.role]));
      values.push(this.separatorText + turn.content);
    }
    if (addGenerationPrompt) values.push(new SpecialTokensText(ROLE_TOKENS.assistant));
    return LlamaText(values);
  }

  /** The prompt as a string (the HF chat-template text), for golden tests and logs. */
  renderText(turns: readonly ChatTurn[], addGenerationPrompt = true): string {
    return this.toLlamaText(turns, addGenerationPrompt).toString();
  }

  /** node-llama-cpp entry point, for use with `LlamaChat`/`LlamaChatSession`. Functions are not supported. */
  override generateContextState({ chatHistory }: ChatWrapperGenerateContextStateOptions): ChatWrapperGeneratedContextState {
    const turns: ChatTurn[] = [];
    let openAssistant: string | undefined;
    chatHistory.forEach((item: ChatHistoryItem, index) => {
      if (item.type === "system") turns.push({ role: "system", content: LlamaText.fromJSON(item.text).toString() });
      else if (item.type === "user") turns.push({ role: "user", content: item.text });
      else {
        const text = this.generateModelResponseText(item.response).toString();
        if (index === chatHistory.length - 1) openAssistant = text;
        else turns.push({ role: "assistant", content: text });
      }
    });
    let contextText = this.toLlamaText(turns, true);
    if (openAssistant) contextText = LlamaText([contextText, this.separatorText + openAssistant]);
    return {
      contextText,
      stopGenerationTriggers: [
        LlamaText(new SpecialToken("EOS")),
        ...STOP_TOKEN_TEXTS.map((t) => LlamaText(new SpecialTokensText(t))),
      ],
    };
  }
}

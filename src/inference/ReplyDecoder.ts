/**
 * Incremental, UTF-8-safe detokenization of a reply, with ChatGLM's leading metadata newline stripped.
 *
 * - Byte-level tokens (SentencePiece byte fallback `<0xE4>`, BPE byte pieces) can split a character: llama.cpp
 *   returns the raw bytes and the binding decodes them with U+FFFD for an incomplete sequence. Text is
 *   therefore held back while the decoded tail ends in U+FFFD and released once the character completes,
 *   so no emitted chunk ever splits a character. {@link ReplyDecoder.finish} releases what is left, minus a
 *   character the end cut in half.
 * - Pending tokens are decoded with the previously released tokens as context (node-llama-cpp's
 *   `detokenize(tokens, false, lastTokens)`), so SentencePiece word-boundary spaces come out right.
 * - The reply begins with the newline of ChatGLM's empty metadata line (and for ChatGLM3 the dummy-prefix
 *   space of the first content piece): `leadingText` is removed once, character by character, only if present.
 * - Tokens listed in `hiddenTokens` (format control tokens) and control/EOG tokens never reach the text.
 *
 * Units: tokens are model token ids; text is JS strings (UTF-16 of complete code points).
 */
import type { LlamaModel, Token } from "node-llama-cpp";

const REPLACEMENT = "\uFFFD";
/** Tokens of context passed to the detokenizer (node-llama-cpp uses at most 16 itself). */
const CONTEXT_TOKENS = 16;
/** A UTF-8 character is at most 4 bytes, so more pending byte tokens than this mean truly invalid bytes. */
const MAX_HELD_TOKENS = 8;

export class ReplyDecoder {
  private readonly released: Token[] = [];
  private pending: Token[] = [];
  private leadingLeft: string;
  private deciding = true;
  /** All released text so far (the reply). */
  text = "";

  constructor(
    private readonly model: Pick<LlamaModel, "detokenize" | "isSpecialToken">,
    leadingText: string,
    private readonly hiddenTokens: ReadonlySet<number> = new Set(),
  ) {
    this.leadingLeft = leadingText;
  }

  /** Add one generated token; returns the text delta that became safe to emit ("" when held back). */
  push(token: Token): string {
    if (this.hiddenTokens.has(token) || this.model.isSpecialToken(token)) return "";
    this.pending.push(token);
    const decoded = this.model.detokenize(this.pending, false, this.released.slice(-CONTEXT_TOKENS));
    if (decoded.endsWith(REPLACEMENT) && this.pending.length < MAX_HELD_TOKENS) return "";
    this.released.push(...this.pending);
    this.pending = [];
    return this.strip(decoded, false);
  }

  /**
   * End of generation: release what is still held and return the final delta. A character cut off by the
   * end (max tokens, abort) is dropped, never emitted as U+FFFD.
   */
  finish(): string {
    let decoded = "";
    if (this.pending.length > 0) {
      decoded = this.model.detokenize(this.pending, false, this.released.slice(-CONTEXT_TOKENS)).replace(/\uFFFD+$/u, "");
      this.released.push(...this.pending);
      this.pending = [];
    }
    return this.strip(decoded, true);
  }

  /** Remove the leading metadata text once; buffers while a prefix of it is all that has arrived. */
  private strip(decoded: string, final: boolean): string {
    if (!this.deciding) return this.emit(decoded);
    let buffer = decoded;
    while (this.leadingLeft.length > 0 && buffer.length > 0) {
      if (buffer[0] !== this.leadingLeft[0]) {
        // only the newline is mandatory for the rest to count as the metadata separator
        this.leadingLeft = "";
        break;
      }
      buffer = buffer.slice(1);
      this.leadingLeft = this.leadingLeft.slice(1);
    }
    if (this.leadingLeft.length > 0 && buffer.length === 0 && !final) return "";
    this.deciding = false;
    this.leadingLeft = "";
    return this.emit(buffer);
  }

  private emit(delta: string): string {
    this.text += delta;
    return delta;
  }
}

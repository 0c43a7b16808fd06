/**
 * ChatGLM3-6B prompt format (llama.cpp architecture `chatglm`, SentencePiece vocab `tokenizer.ggml.model = llama`).
 *
 * Source: THUDM/chatglm3-6b `tokenization_chatglm.py` (`get_prefix_tokens` = `[gMASK]`, `sop`;
 * `build_single_message` = `<|role|>` + `encode(metadata + "\n")` + `encode(content)`), and its HF chat template.
 *
 * String form:  `[gMASK]sop<|system|>\n 你是…<|user|>\n 你好<|assistant|>`
 * Token form:   `[gMASK] sop <|user|> ▁ \n ▁你 好 <|assistant|>`
 *               real vocab: `64790 64792 64795 30910 13 36474 54591 64796`
 * Stops: EOS (`</s>`, 2), `<|user|>` (64795), `<|observation|>` (64797). llama.cpp marks only EOS as
 * end-of-generation in ChatGLM3 GGUFs, so the engine adds the other two itself.
 * Reply: the model first writes `▁ \n` (decoded `"\n"`), then content pieces that decode with a leading
 * dummy-prefix space; both are stripped (`replyLeadingText = "\n "`).
 */
import { GlmChatWrapper } from "./GlmChatWrapper.js";

export class ChatGlm3ChatWrapper extends GlmChatWrapper {
  readonly wrapperName = "ChatGLM3";
  readonly family = "chatglm3" as const;
  readonly prefixTokens = ["[gMASK]", "sop"] as const;
  protected readonly separatorText = "\n ";
  readonly replyLeadingText = "\n ";
}

/**
 * GLM-4 prompt format: GLM-4-9B-chat (llama.cpp architecture `chatglm`, BPE vocab `tokenizer.ggml.model = gpt2`,
 * `tokenizer.ggml.pre = chatglm-bpe`) and GLM-4-0414 (architecture `glm4`).
 *
 * Source: THUDM/glm-4-9b-chat `tokenization_chatglm.py` (`get_prefix_tokens` = `[gMASK]`, `<sop>`;
 * `build_single_message` = `<|role|>` + `encode(metadata + "\n")` + `encode(content)`) and its chat template.
 *
 * String form:  `[gMASK]<sop><|system|>\n你是…<|user|>\n你好<|assistant|>`
 * Token form:   `[gMASK] <sop> <|user|> \n 你好 <|assistant|>`
 *               real vocab: `151331 151333 151336 198 109377 151337`
 * Stops: EOS (`<|endoftext|>`, 151329), `<|user|>` (151336), `<|observation|>` (151338); GLM-4 GGUFs lack
 * `<|observation|>` as end-of-generation, so the engine adds it itself.
 * Reply: the model first writes `\n` (198), which is stripped (`replyLeadingText = "\n"`).
 */
import { GlmChatWrapper } from "./GlmChatWrapper.js";

export class Glm4ChatWrapper extends GlmChatWrapper {
  readonly wrapperName = "GLM-4";
  readonly family = "glm4" as const;
  readonly prefixTokens = ["[gMASK]", "<sop>"] as const;
  protected readonly separatorText = "\n";
  readonly replyLeadingText = "\n";
}

/**
 * The engine's prompt tokenization without the engine's context: the model is loaded vocabulary-only
 * (`loadModel({vocabOnly: true})`: no weights, no KV cache, no GPU), and prompts are tokenized with the same
 * {@link GlmChatWrapper.tokenizeTurns} that `LlamaEngine.countTokens` / `generate` use, for the family
 * chosen the same way (`detectFamilyFromFile` + `chatFormat`). So `glmbot prompt` counts exactly what the bot
 * sends, and it can run next to a live bot without competing for VRAM.
 */
import { getLlama, LlamaLogLevel, type Llama, type LlamaModel, type Token } from "node-llama-cpp";
import type { ChatTurn } from "../../core/ports.js";
import { ChatGlm3ChatWrapper } from "../../inference/ChatGlm3ChatWrapper.js";
import { resolveFormatTokenIds } from "../../inference/createLlamaEngine.js";
import { detectFamilyFromFile, type ChatFormatOption } from "../../inference/detectFamily.js";
import { Glm4ChatWrapper } from "../../inference/Glm4ChatWrapper.js";
import type { GlmChatWrapper } from "../../inference/GlmChatWrapper.js";

export interface PromptTokenizer {
  family: "chatglm3" | "glm4";
  /** `general.name` of the GGUF, or undefined. */
  modelName?: string;
  /** The prompt's tokens, exactly as the engine evaluates them. */
  tokenize(turns: readonly ChatTurn[]): Token[];
  /** Token count of the rendered prompt (what the window fit counts). */
  countTokens(turns: readonly ChatTurn[]): Promise<number>;
  /** The tokens as text, special tokens written out (`[gMASK]sop<|user|>\n …<|assistant|>`). */
  render(tokens: readonly Token[]): string;
  /**
   * Control-token texts (`<|assistant|>`, `[gMASK]`, …) that occur as plain text inside the prompt's content
   * (a user typed them); they render like the real control tokens but are ordinary text tokens.
   */
  literalControlTexts(tokens: readonly Token[]): string[];
  dispose(): Promise<void>;
}

/**
 * Opens `modelPath` vocabulary-only. `llama`: an existing instance (tests); otherwise a CPU-only one is created
 * and disposed with the tokenizer. @throws GlmbotError `model_load_failed` (unknown family, missing control token).
 */
export async function openPromptTokenizer(modelPath: string, chatFormat: ChatFormatOption, llama?: Llama): Promise<PromptTokenizer> {
  const detected = await detectFamilyFromFile(modelPath, chatFormat);
  const wrapper: GlmChatWrapper = detected.family === "chatglm3" ? new ChatGlm3ChatWrapper() : new Glm4ChatWrapper();
  const owned = llama === undefined;
  const instance = llama ?? (await getLlama({ gpu: false, build: "never", skipDownload: true, logLevel: LlamaLogLevel.error, logger: () => undefined, progressLogs: false }));
  let model: LlamaModel | undefined;
  let control: ReadonlySet<number>;
  try {
    model = await instance.loadModel({ modelPath, vocabOnly: true, gpuLayers: 0 });
    control = resolveFormatTokenIds(model, wrapper).hidden;
  } catch (err) {
    await model?.dispose().catch(() => undefined);
    if (owned) await instance.dispose().catch(() => undefined);
    throw err;
  }
  const loaded = model;
  const tokenize = (turns: readonly ChatTurn[]) => wrapper.tokenizeTurns(loaded.tokenizer, turns);
  return {
    family: detected.family,
    modelName: detected.name,
    tokenize,
    countTokens: async (turns) => tokenize(turns).length,
    render: (tokens) => loaded.detokenize(tokens, true),
    literalControlTexts(tokens) {
      const found = new Set<string>();
      let run: Token[] = [];
      const flush = () => {
        const text = run.length > 0 ? loaded.detokenize(run, false) : "";
        for (const c of wrapper.controlTokenTexts) if (text.includes(c)) found.add(c);
        run = [];
      };
      for (const token of tokens) {
        if (control.has(token)) flush();
        else run.push(token);
      }
      flush();
      return [...found];
    },
    async dispose() {
      await loaded.dispose();
      if (owned) await instance.dispose();
    },
  };
}

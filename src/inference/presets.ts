/**
 * Model presets: the seed's quantization levels (INT4 / INT8 / FP16 of ChatGLM-6B) mapped to public GGUF files
 * of the models llama.cpp can run, with what doctor needs to estimate memory without the file at hand.
 *
 * Names: `<model>:<quant>` (`chatglm3-6b:Q8_0`), case-insensitive; a bare model name means its Q4_K_M file.
 * `model.source` / `GLMBOT_MODEL` / `glmbot pull` accept these names besides paths and URIs.
 *
 * Sources: file names and sizes as listed by their Hugging Face repositories (decimal GB, 1 GB = 10^9 bytes;
 * /work/shared/docs/chatglm-formats.md); architecture numbers from THUDM's `config.json` of chatglm3-6b and
 * glm-4-9b-chat (`num_layers`, `hidden_size`, `ffn_hidden_size`, `num_attention_heads`,
 * `multi_query_group_num`, `padded_vocab_size`, `seq_length`), which are the GGUF `chatglm.*` metadata values.
 */

/** Shape of a ChatGLM-architecture transformer, enough to lay out its tensors (see ops/doctor/estimate.ts). */
export interface PresetArchitecture {
  /** Transformer blocks (`chatglm.block_count`). */
  blocks: number;
  /** Hidden width (`chatglm.embedding_length`). */
  embedding: number;
  /** FFN width (`chatglm.feed_forward_length`); the fused gate+up tensor is twice this. */
  feedForward: number;
  /** Attention heads and key/value heads (multi-query groups). */
  heads: number;
  kvHeads: number;
  /** Vocabulary size (rows of `token_embd` / `output`). */
  vocab: number;
  /** Context the model was trained for, tokens. */
  trainContext: number;
}

export interface ModelPreset {
  /** Canonical name, e.g. `chatglm3-6b:Q4_K_M`. */
  name: string;
  /** Model part of the name, e.g. `chatglm3-6b`. */
  model: "chatglm3-6b" | "glm4-9b";
  /** llama.cpp quantization type of the file. */
  quant: "Q4_K_M" | "Q8_0" | "F16";
  /** What the seed called this precision. */
  seedPrecision: "INT4" | "INT8" | "FP16";
  /** node-llama-cpp model URI (downloads into `models/` as `hf_<user>_<file>`). */
  uri: string;
  /** File size in bytes, as published. */
  fileBytes: number;
  arch: PresetArchitecture;
}

const CHATGLM3_6B: PresetArchitecture = { blocks: 28, embedding: 4096, feedForward: 13696, heads: 32, kvHeads: 2, vocab: 65024, trainContext: 8192 };
const GLM4_9B: PresetArchitecture = { blocks: 40, embedding: 4096, feedForward: 13696, heads: 32, kvHeads: 2, vocab: 151552, trainContext: 131072 };

const GB = 1e9;
const CHATGLM3_REPO = "hf:mradermacher/chatglm3-6b-GGUF";
const GLM4_REPO = "hf:bartowski/glm-4-9b-chat-GGUF";

/** Every preset, in the order of the seed's hardware table. */
export const MODEL_PRESETS: readonly ModelPreset[] = Object.freeze([
  { name: "chatglm3-6b:Q4_K_M", model: "chatglm3-6b", quant: "Q4_K_M", seedPrecision: "INT4", uri: `${CHATGLM3_REPO}/chatglm3-6b.Q4_K_M.gguf`, fileBytes: 4.14 * GB, arch: CHATGLM3_6B },
  { name: "chatglm3-6b:Q8_0", model: "chatglm3-6b", quant: "Q8_0", seedPrecision: "INT8", uri: `${CHATGLM3_REPO}/chatglm3-6b.Q8_0.gguf`, fileBytes: 6.64 * GB, arch: CHATGLM3_6B },
  { name: "chatglm3-6b:F16", model: "chatglm3-6b", quant: "F16", seedPrecision: "FP16", uri: `${CHATGLM3_REPO}/chatglm3-6b.f16.gguf`, fileBytes: 12.5 * GB, arch: CHATGLM3_6B },
  { name: "glm4-9b:Q4_K_M", model: "glm4-9b", quant: "Q4_K_M", seedPrecision: "INT4", uri: `${GLM4_REPO}/glm-4-9b-chat-Q4_K_M.gguf`, fileBytes: 6.25 * GB, arch: GLM4_9B },
  { name: "glm4-9b:Q8_0", model: "glm4-9b", quant: "Q8_0", seedPrecision: "INT8", uri: `${GLM4_REPO}/glm-4-9b-chat-Q8_0.gguf`, fileBytes: 9.99 * GB, arch: GLM4_9B },
] satisfies ModelPreset[]);

/** The quantization a bare model name (`chatglm3-6b`) stands for. */
export const DEFAULT_PRESET_QUANT = "Q4_K_M";

/**
 * The preset named `name` (`chatglm3-6b`, `chatglm3-6b:q8_0`, `GLM4-9B:Q8_0`, …), or `undefined` when `name`
 * is not a preset name (then it is a path or a URI).
 */
export function findPreset(name: string): ModelPreset | undefined {
  const text = name.trim().toLowerCase();
  if (!/^[a-z0-9.-]+(:[a-z0-9_]+)?$/.test(text)) return undefined;
  const [model, quant = DEFAULT_PRESET_QUANT.toLowerCase()] = text.split(":");
  return MODEL_PRESETS.find((p) => p.model === model && p.quant.toLowerCase() === quant);
}

/** The preset whose URI is `uri` (so a configured `hf:` URI is shown with its preset name and size). */
export function presetForUri(uri: string): ModelPreset | undefined {
  return MODEL_PRESETS.find((p) => p.uri === uri.trim());
}

/** All accepted names, for help texts and error messages: `chatglm3-6b`, `chatglm3-6b:Q8_0`, … */
export function presetNames(): string[] {
  return MODEL_PRESETS.map((p) => (p.quant === DEFAULT_PRESET_QUANT ? `${p.model} (= ${p.name})` : p.name));
}

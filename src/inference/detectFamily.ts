/**
 * Choose the prompt family of a GGUF file from its metadata, before llama.cpp loads it.
 *
 * Rules (facts from /work/shared/docs/chatglm-formats.md and llama.cpp's converter):
 * | `general.architecture` | `tokenizer.ggml.model`          | family     | model            |
 * |------------------------|---------------------------------|------------|------------------|
 * | `chatglm`              | `llama` (SentencePiece)         | `chatglm3` | ChatGLM3-6B      |
 * | `chatglm`              | `gpt2` (BPE, pre `chatglm-bpe`) | `glm4`     | GLM-4-9B-chat    |
 * | `glm4`                 | any                             | `glm4`     | GLM-4-0414       |
 * | `chatglm2`, `chatglm1`, `chatglm-6b`, or a `chatglm` file named ChatGLM2/ChatGLM-6B v1 | — | error |
 * | anything else          | —                               | error (unless the format is overridden) |
 *
 * When the tokenizer model is unknown, `tokenizer.chat_template` decides (`<sop>` → glm4, `sop` → chatglm3).
 * `override` (config `chatFormat`) wins over detection, except for ChatGLM-6B v1 / ChatGLM2-6B, which
 * llama.cpp cannot run at all.
 *
 * Errors: GlmbotError `model_load_failed` (details `{architecture, tokenizerModel, reason}`).
 */
import { readGgufFileInfo } from "node-llama-cpp";
import { GlmbotError } from "../core/errors.js";
import type { GlmFamily } from "./GlmChatWrapper.js";

/** Config value for the prompt format. */
export type ChatFormatOption = "auto" | GlmFamily;

/** The GGUF metadata fields detection reads (a subset of node-llama-cpp's `GgufFileInfo["metadata"]`). */
export interface FamilyMetadata {
  general?: { architecture?: string; name?: string };
  tokenizer?: { ggml?: { model?: string; pre?: string }; chat_template?: string };
}

export interface DetectedFamily {
  family: GlmFamily;
  /** How it was decided, for the startup log, e.g. `architecture chatglm + tokenizer llama`. */
  reason: string;
  architecture: string;
  /** `general.name`, when present. */
  name?: string;
}

const LEGACY_ARCHITECTURES = new Set(["chatglm2", "chatglm1", "chatglm-6b", "chatglm6b"]);
/** `general.name` of a v1/v2 file that someone squeezed into the `chatglm` architecture. */
const LEGACY_NAME = /chat-?glm-?2\b|chat-?glm-?v1\b/i;

/** The message for ChatGLM-6B v1 / ChatGLM2-6B files. */
export function legacyArchitectureMessage(architecture: string): string {
  return (
    `unsupported architecture '${architecture}': ChatGLM-6B (v1) and ChatGLM2-6B have no llama.cpp architecture, ` +
    "so they cannot run in glmbot's local engine. Use ChatGLM3-6B or GLM-4 GGUF files, or reach the older " +
    "models through a remote OpenAI-compatible backend."
  );
}

/** Decide the family from already-read metadata. Pure; throws GlmbotError `model_load_failed`. */
export function detectFamily(metadata: FamilyMetadata, override: ChatFormatOption = "auto"): DetectedFamily {
  const architecture = String(metadata.general?.architecture ?? "");
  const name = metadata.general?.name;
  const tokenizerModel = metadata.tokenizer?.ggml?.model;
  const template = metadata.tokenizer?.chat_template;
  const details = { architecture, tokenizerModel, name };

  const legacy =
    LEGACY_ARCHITECTURES.has(architecture.toLowerCase()) ||
    (architecture === "chatglm" && name != null && LEGACY_NAME.test(name) && tokenizerModel !== "gpt2");
  if (legacy)
    throw new GlmbotError("model_load_failed", legacyArchitectureMessage(architecture), { ...details, reason: "unsupported_architecture" });

  if (override !== "auto")
    return { family: override, reason: `configured chatFormat ${override}`, architecture, name };

  if (architecture === "glm4") return { family: "glm4", reason: "architecture glm4", architecture, name };
  if (architecture === "chatglm") {
    if (tokenizerModel === "llama")
      return { family: "chatglm3", reason: "architecture chatglm + tokenizer llama (SentencePiece)", architecture, name };
    if (tokenizerModel === "gpt2")
      return { family: "glm4", reason: `architecture chatglm + tokenizer gpt2 (pre ${metadata.tokenizer?.ggml?.pre ?? "unset"})`, architecture, name };
    const fromTemplate = familyFromTemplate(template);
    if (fromTemplate) return { family: fromTemplate, reason: "architecture chatglm + chat template", architecture, name };
    throw new GlmbotError(
      "model_load_failed",
      `cannot tell ChatGLM3 from GLM-4: tokenizer model '${tokenizerModel ?? "missing"}' and no usable chat template; set chatFormat to chatglm3 or glm4`,
      { ...details, reason: "unknown_family" },
    );
  }
  throw new GlmbotError(
    "model_load_failed",
    `unsupported architecture '${architecture || "missing"}': glmbot runs ChatGLM3-6B and GLM-4-9B-chat (chatglm) and GLM-4-0414 (glm4) GGUF files` +
      " (set chatFormat to force a prompt format)",
    { ...details, reason: "unsupported_architecture" },
  );
}

/** `[gMASK]<sop>` → glm4, `[gMASK]sop` → chatglm3, else undefined. */
export function familyFromTemplate(template: string | undefined): GlmFamily | undefined {
  if (!template) return undefined;
  if (template.includes("<sop>")) return "glm4";
  if (template.includes("sop")) return "chatglm3";
  return undefined;
}

/**
 * Read a GGUF header (metadata only, no tensor data) and detect its family.
 * Errors: `model_load_failed` for a missing/unreadable file or one that is not GGUF, and as {@link detectFamily}.
 */
export async function detectFamilyFromFile(modelPath: string, override: ChatFormatOption = "auto"): Promise<DetectedFamily> {
  let metadata: FamilyMetadata;
  try {
    const info = await readGgufFileInfo(modelPath, { readTensorInfo: false, sourceType: "filesystem", logWarnings: false });
    metadata = info.metadata as FamilyMetadata;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException)?.code;
    const reason = code === "ENOENT" ? "model file not found" : `not a readable GGUF file (${(err as Error)?.message ?? err})`;
    throw new GlmbotError("model_load_failed", `${reason}: ${modelPath}`, { modelPath, reason: code === "ENOENT" ? "not_found" : "invalid_gguf" }, { cause: err });
  }
  return detectFamily(metadata, override);
}

/**
 * Sampling defaults and their resolution per request.
 *
 * Defaults, with their source (ChatGLM's own demos):
 * | setting       | default | source |
 * |---------------|---------|--------|
 * | temperature   | 0.8     | ChatGLM3 `modeling_chatglm.py` `chat()/stream_chat()` (`temperature=0.8`); GLM-4-9B-chat `generation_config.json` (`temperature: 0.8`) |
 * | topP          | 0.8     | same sources (`top_p=0.8`) |
 * | topK          | 50      | neither demo sets it, so Hugging Face `GenerationConfig`'s default `top_k=50` applies to their sampling |
 * | repeatPenalty | 1.0     | neither `chat()` nor `generation_config.json` sets `repetition_penalty` (HF default 1.0 = off); GLM-4's CLI demo uses 1.2, configurable |
 * | seed          | random  | a new seed per request unless configured or given |
 *
 * `temperature: 0` means greedy decoding (the other settings then do not matter).
 * Repeat penalty looks at the last {@link REPEAT_PENALTY_LAST_TOKENS} tokens of prompt + reply (llama.cpp's
 * `repeat_last_n` default).
 */
import type { GenerateOptions } from "../core/ports.js";
import { GlmbotError } from "../core/errors.js";

export interface SamplingDefaults {
  temperature: number;
  topP: number;
  topK: number;
  repeatPenalty: number;
  /** Fixed seed for every request; undefined = random per request. */
  seed?: number;
}

export const DEFAULT_SAMPLING: Readonly<SamplingDefaults> = Object.freeze({ temperature: 0.8, topP: 0.8, topK: 50, repeatPenalty: 1.0 });

export const REPEAT_PENALTY_LAST_TOKENS = 64;

/** Merge request options over engine defaults and validate ranges (GlmbotError `invalid_request`). */
export function resolveSampling(options: GenerateOptions, defaults: SamplingDefaults): SamplingDefaults {
  const s: SamplingDefaults = {
    temperature: options.temperature ?? defaults.temperature,
    topP: options.topP ?? defaults.topP,
    topK: options.topK ?? defaults.topK,
    repeatPenalty: options.repeatPenalty ?? defaults.repeatPenalty,
    seed: options.seed ?? defaults.seed,
  };
  validateSampling(s, "request");
  return s;
}

/** Throws GlmbotError (`invalid_request` for a request, `config_invalid` for config) on an out-of-range value. */
export function validateSampling(s: Partial<SamplingDefaults>, where: "request" | "config"): void {
  const bad = (field: string, rule: string) =>
    new GlmbotError(where === "request" ? "invalid_request" : "config_invalid", `${field} must be ${rule}`, { field });
  const finite = (v: number | undefined) => v === undefined || Number.isFinite(v);
  if (!finite(s.temperature) || (s.temperature ?? 0) < 0) throw bad("temperature", "a number ≥ 0");
  if (!finite(s.topP) || (s.topP ?? 1) <= 0 || (s.topP ?? 1) > 1) throw bad("topP", "in (0, 1]");
  if (s.topK !== undefined && (!Number.isInteger(s.topK) || s.topK < 0)) throw bad("topK", "an integer ≥ 0 (0 = off)");
  if (!finite(s.repeatPenalty) || (s.repeatPenalty ?? 1) <= 0) throw bad("repeatPenalty", "a number > 0 (1 = off)");
  if (s.seed !== undefined && (!Number.isInteger(s.seed) || s.seed < 0)) throw bad("seed", "an integer ≥ 0");
}

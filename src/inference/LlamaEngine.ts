/**
 * The local inference engine: ChatGLM3 / GLM-4 GGUF models in llama.cpp via node-llama-cpp, behind core's
 * {@link InferenceEngine} port. Create it with `createLlamaEngine` (createLlamaEngine.ts).
 *
 * Generation drives `LlamaContextSequence.evaluate` directly (not `LlamaChat`), for exact control:
 * - prompt = the family wrapper's token rendering ({@link GlmChatWrapper.tokenizeTurns}), the same tokens
 *   {@link LlamaEngine.countTokens} counts;
 * - KV reuse: the sequence keeps what it evaluated; the common prefix with the new prompt is kept, the rest
 *   erased, and only the remainder evaluated. `evaluatedPromptTokens` is read from the sequence's
 *   `tokenMeter` (llama.cpp decode calls), not computed;
 * - stops: EOS / any llama.cpp end-of-generation token, `<|user|>`, `<|observation|>` → `stop`;
 *   `maxTokens` or the end of the sequence's context → `length` (no context shift ever: it would erase the
 *   `[gMASK] sop` prefix); abort → `cancelled` (checked after every token);
 * - text: {@link ReplyDecoder} (UTF-8-safe chunks, leading metadata newline stripped, no control tokens).
 *
 * Errors: `generate` rejects with GlmbotError `input_too_long` (details `{tokens, limit}`) when the prompt
 * does not fit the sequence, `invalid_request` for bad sampling values or `maxTokens`, `generation_failed`
 * for engine failures (the sequence is then cleared). Aborting is not an error.
 */
import type { LlamaContext, LlamaModel, Token } from "node-llama-cpp";
import { GlmbotError, isGlmbotError } from "../core/errors.js";
import type { ChatTurn, EngineInfo, GenerateOptions, GenerateResult, InferenceEngine } from "../core/ports.js";
import type { GlmChatWrapper } from "./GlmChatWrapper.js";
import { ReplyDecoder } from "./ReplyDecoder.js";
import { REPEAT_PENALTY_LAST_TOKENS, resolveSampling, type SamplingDefaults } from "./sampling.js";
import { PoolWaitAborted, SequencePool, type SequenceSlot } from "./SequencePool.js";
import type { EngineLogger } from "./resolveLlama.js";

/** What the engine runs on, for `status` and startup logs. */
export interface EngineRuntime {
  /** Backend in use: "cuda" | "vulkan" | "metal" | false (CPU). */
  gpu: string | false;
  /** Layers offloaded to the GPU / layers in the model. */
  gpuLayers: number;
  totalLayers: number;
  /** Threads the context evaluates with (≤ os.availableParallelism()). */
  threads: number;
  /** Why this prompt family was chosen. */
  familyReason: string;
}

/** Token ids the engine treats specially. */
export interface FormatTokenIds {
  /** Ending a reply: EOS/EOT plus `<|user|>`, `<|observation|>`. */
  stop: ReadonlySet<number>;
  /** Never part of reply text: every control token of the format, plus `stop`. */
  hidden: ReadonlySet<number>;
}

/** Context shift is never allowed: it would erase the `[gMASK] sop` prefix. The engine stops before. */
export const noContextShift = {
  strategy: (): never => {
    throw new GlmbotError("generation_failed", "context shift refused: the sequence is full");
  },
};

function meterTotal(slot: SequenceSlot): number {
  const meter = slot.sequence.tokenMeter;
  return meter.usedInputTokens + meter.usedOutputTokens;
}

export class LlamaEngine implements InferenceEngine {
  readonly info: EngineInfo;
  private readonly pool: SequencePool;
  private readonly shutdown = new AbortController();
  private readonly inFlight = new Set<Promise<unknown>>();
  private disposed = false;

  /** @internal Use `createLlamaEngine`. */
  constructor(
    readonly model: LlamaModel,
    private readonly context: LlamaContext,
    readonly wrapper: GlmChatWrapper,
    private readonly tokenIds: FormatTokenIds,
    private readonly defaults: SamplingDefaults,
    readonly runtime: EngineRuntime,
    private readonly logger: EngineLogger,
    private readonly onDispose: () => Promise<void>,
    modelName: string,
  ) {
    const sequences = Array.from({ length: context.totalSequences }, () => context.getSequence({ contextShift: noContextShift }));
    this.pool = new SequencePool(sequences);
    this.info = Object.freeze({ modelName, family: wrapper.family, contextSize: context.contextSize, sequences: sequences.length });
  }

  /** The exact prompt tokens for `turns` (what `generate` evaluates). */
  tokenize(turns: readonly ChatTurn[]): Token[] {
    this.ensureOpen();
    return this.wrapper.tokenizeTurns(this.model.tokenizer, turns);
  }

  async countTokens(turns: readonly ChatTurn[]): Promise<number> {
    return this.tokenize(turns).length;
  }

  /** Tokens llama.cpp has evaluated on all sequences so far (from node-llama-cpp's token meters). */
  evaluatedTokenTotal(): number {
    return this.pool.all.reduce((sum, slot) => sum + meterTotal(slot), 0);
  }

  /** Per sequence: the conversation whose prefix it holds (undefined = none) and its cached token count. */
  sequences(): Array<{ key: string | undefined; busy: boolean; cachedTokens: number }> {
    return this.pool.all.map((s) => ({ key: s.key, busy: s.busy, cachedTokens: s.sequence.nextTokenIndex }));
  }

  async generate(turns: readonly ChatTurn[], options: GenerateOptions): Promise<GenerateResult> {
    this.ensureOpen();
    if (!Number.isInteger(options.maxTokens) || options.maxTokens < 1)
      throw new GlmbotError("invalid_request", "maxTokens must be an integer ≥ 1", { field: "maxTokens" });
    const sampling = resolveSampling(options, this.defaults);
    const prompt = this.tokenize(turns);
    const limit = this.context.contextSize - 1;
    if (prompt.length > limit)
      throw new GlmbotError("input_too_long", `the prompt has ${prompt.length} tokens; the context holds ${limit}`, { tokens: prompt.length, limit });

    const signal = options.signal ? AbortSignal.any([options.signal, this.shutdown.signal]) : this.shutdown.signal;
    const run = this.run(prompt, options, sampling, signal);
    this.inFlight.add(run);
    try {
      return await run;
    } finally {
      this.inFlight.delete(run);
    }
  }

  private async run(prompt: Token[], options: GenerateOptions, sampling: SamplingDefaults, signal: AbortSignal): Promise<GenerateResult> {
    const cancelled = (): GenerateResult => ({ text: "", finishReason: "cancelled", promptTokens: prompt.length, evaluatedPromptTokens: 0, completionTokens: 0 });
    let slot: SequenceSlot;
    try {
      slot = await this.pool.acquire(options.conversationKey, signal);
    } catch (err) {
      if (err instanceof PoolWaitAborted) return cancelled();
      throw err;
    }
    let keep = true;
    try {
      if (signal.aborted) return cancelled();
      return await this.generateOn(slot, prompt, options, sampling, signal);
    } catch (err) {
      keep = false;
      await slot.sequence.clearHistory().catch(() => undefined);
      if (isGlmbotError(err)) throw err;
      this.logger.error({ err }, "generation failed");
      // The message reaches users (webhook body, chat notice): llama.cpp's own text stays in the log and `cause`.
      throw new GlmbotError("generation_failed", "The model failed to generate a reply.", {}, { cause: err });
    } finally {
      this.pool.release(slot, keep);
    }
  }

  private async generateOn(slot: SequenceSlot, prompt: Token[], options: GenerateOptions, sampling: SamplingDefaults, signal: AbortSignal): Promise<GenerateResult> {
    const sequence = slot.sequence;
    const meterStart = meterTotal(slot);
    // keep the longest cached prefix, but always evaluate at least the last prompt token (its logits)
    const reuse = Math.min(sequence.compareContextTokens(prompt).firstDifferentIndex, prompt.length - 1);
    if (sequence.nextTokenIndex > reuse) await sequence.eraseContextTokenRanges([{ start: reuse, end: sequence.nextTokenIndex }]);
    const kept = sequence.nextTokenIndex;

    const decoder = new ReplyDecoder(this.model, this.wrapper.replyLeadingText, this.tokenIds.hidden);
    const emit = (delta: string) => {
      if (delta !== "") options.onTextChunk?.(delta);
    };
    const generated: Token[] = [];
    const punish = sampling.repeatPenalty === 1 ? undefined : prompt.slice(-REPEAT_PENALTY_LAST_TOKENS);
    const iterator = sequence.evaluate(prompt.slice(kept), {
      temperature: sampling.temperature,
      topP: sampling.topP,
      topK: sampling.topK,
      seed: sampling.seed,
      repeatPenalty: punish && {
        penalty: sampling.repeatPenalty,
        maxPunishTokens: REPEAT_PENALTY_LAST_TOKENS,
        punishTokens: () => punish.concat(generated).slice(-REPEAT_PENALTY_LAST_TOKENS),
      },
      yieldEogToken: true,
      contextShift: noContextShift,
    });

    let finishReason: GenerateResult["finishReason"] = "stop";
    let evaluatedPromptTokens = 0;
    try {
      for (;;) {
        if (signal.aborted) {
          finishReason = "cancelled";
          break;
        }
        const next = await iterator.next();
        if (generated.length === 0) evaluatedPromptTokens = meterTotal(slot) - meterStart;
        if (next.done) break;
        const token = next.value;
        if (signal.aborted) {
          finishReason = "cancelled";
          break;
        }
        if (this.tokenIds.stop.has(token) || this.model.isEogToken(token)) break;
        generated.push(token);
        emit(decoder.push(token));
        if (generated.length >= options.maxTokens || sequence.nextTokenIndex >= sequence.contextSize - 1) {
          finishReason = "length";
          break;
        }
      }
    } finally {
      await iterator.return();
    }
    emit(decoder.finish());
    if (finishReason === "cancelled" && generated.length === 0 && evaluatedPromptTokens === 0)
      evaluatedPromptTokens = meterTotal(slot) - meterStart;
    return { text: decoder.text, finishReason, promptTokens: prompt.length, evaluatedPromptTokens, completionTokens: generated.length };
  }

  /** Cancel running generations (they resolve `cancelled`), then free the context, the model and an owned Llama. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.pool.close();
    this.shutdown.abort();
    await Promise.allSettled([...this.inFlight]);
    await this.context.dispose();
    await this.model.dispose();
    await this.onDispose();
  }

  private ensureOpen(): void {
    if (this.disposed) throw new GlmbotError("model_not_ready", "the inference engine has been disposed");
  }
}

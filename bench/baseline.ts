/**
 * The plain node-llama-cpp baseline, in the bench process: the same model, context (size, sequences,
 * threads) and greedy sampling as the service, without glmbot in between.
 *
 * - `chatSession`: node-llama-cpp's `LlamaChatSession` with glmbot's {@link ChatGlm3ChatWrapper} (the
 *   issue's "plain node-llama-cpp chat session");
 * - `rawEvaluate`: `LlamaContextSequence.evaluate` on the exact prompt tokens glmbot renders, the least
 *   work node-llama-cpp can do per token (a lower bound on overhead for any wrapper).
 * Every run starts on an empty sequence, like a new conversation in the service.
 */
import os from "node:os";
import { getLlama, LlamaChatSession, LlamaLogLevel, type Llama, type LlamaContext, type LlamaContextSequence, type LlamaModel } from "node-llama-cpp";
import { ChatGlm3ChatWrapper } from "../src/inference/ChatGlm3ChatWrapper.js";
import type { ChatTurn } from "../src/core/ports.js";
import { decodeRate, medianIntervalRate } from "./stats.js";

export interface DecodeRun {
  promptTokens: number;
  completionTokens: number;
  /** Time to first token, ms (prompt evaluation + first sample). */
  ttftMs: number;
  /** (completion tokens − 1) / seconds from the first to the last token. */
  decodeTps: number;
  /** 1 / median interval between consecutive tokens (see {@link medianIntervalRate}). */
  medianIntervalTps: number;
  /** Largest number of tokens one onToken callback delivered (1 = every token timed on its own). */
  maxTokensPerCallback: number;
}

export interface BaselineOptions {
  modelPath: string;
  threads: number;
  contextSize: number;
  sequences: number;
}

export class Baseline {
  private readonly sequence: LlamaContextSequence;

  private constructor(
    readonly llama: Llama,
    readonly model: LlamaModel,
    readonly context: LlamaContext,
    private readonly sequences: readonly LlamaContextSequence[],
  ) {
    this.sequence = sequences[0];
  }

  static async open(o: BaselineOptions): Promise<Baseline> {
    const threads = Math.max(1, Math.min(o.threads, os.availableParallelism()));
    const llama = await getLlama({ gpu: false, build: "never", skipDownload: true, logLevel: LlamaLogLevel.warn, maxThreads: threads });
    try {
      const model = await llama.loadModel({ modelPath: o.modelPath, gpuLayers: 0 });
      const context = await model.createContext({ contextSize: o.contextSize, sequences: o.sequences, threads, failedCreationRemedy: false });
      return new Baseline(llama, model, context, Array.from({ length: o.sequences }, () => context.getSequence()));
    } catch (err) {
      await llama.dispose();
      throw err;
    }
  }

  /** llama.cpp release of the binding in use. */
  get llamaCppRelease(): string {
    return this.llama.llamaCppRelease.release;
  }

  /** One `LlamaChatSession.prompt` with greedy decoding, exactly `maxTokens` tokens long on the bench models. */
  async chatSession(system: string, user: string, maxTokens: number): Promise<DecodeRun> {
    await this.sequence.clearHistory();
    const session = new LlamaChatSession({ contextSequence: this.sequence, chatWrapper: new ChatGlm3ChatWrapper(), systemPrompt: system });
    const times: number[] = [];
    let tokens = 0;
    let maxPerCallback = 0;
    let promptTokens = 0;
    const start = performance.now();
    try {
      await session.prompt(user, {
        maxTokens,
        temperature: 0,
        onToken: (chunk) => {
          const at = performance.now();
          if (tokens === 0) promptTokens = this.sequence.nextTokenIndex;
          for (let i = 0; i < chunk.length; i++) times.push(at);
          tokens += chunk.length;
          maxPerCallback = Math.max(maxPerCallback, chunk.length);
        },
      });
    } finally {
      session.dispose({ disposeSequence: false });
    }
    return { promptTokens, completionTokens: tokens, ttftMs: times[0] - start, decodeTps: decodeRate(times), medianIntervalTps: medianIntervalRate(times), maxTokensPerCallback: maxPerCallback };
  }

  /** `sequence.evaluate` on glmbot's prompt tokens for `turns`, greedy, stopped after `maxTokens` tokens. */
  async rawEvaluate(turns: readonly ChatTurn[], maxTokens: number): Promise<DecodeRun> {
    const { prompt, times, start } = await this.evaluateOn(this.sequence, turns, maxTokens);
    return { promptTokens: prompt.length, completionTokens: times.length, ttftMs: times[0] - start, decodeTps: decodeRate(times), medianIntervalTps: medianIntervalRate(times), maxTokensPerCallback: 1 };
  }

  /**
   * `turns.length` generations at once, one per sequence of the context (node-llama-cpp batches them into
   * shared llama.cpp decode calls); returns each one's token arrival times.
   */
  async parallelRawEvaluate(turns: readonly (readonly ChatTurn[])[], maxTokens: number): Promise<number[][]> {
    if (turns.length > this.sequences.length) throw new Error(`${turns.length} generations need as many sequences (the context has ${this.sequences.length})`);
    const runs = await Promise.all(turns.map((t, i) => this.evaluateOn(this.sequences[i], t, maxTokens)));
    return runs.map((r) => r.times);
  }

  private async evaluateOn(sequence: LlamaContextSequence, turns: readonly ChatTurn[], maxTokens: number): Promise<{ prompt: unknown[]; times: number[]; start: number }> {
    await sequence.clearHistory();
    const prompt = new ChatGlm3ChatWrapper().tokenizeTurns(this.model.tokenizer, turns);
    const times: number[] = [];
    const start = performance.now();
    const iterator = sequence.evaluate(prompt, { temperature: 0, yieldEogToken: true });
    try {
      for (;;) {
        const next = await iterator.next();
        if (next.done) break;
        times.push(performance.now());
        if (times.length >= maxTokens) break;
      }
    } finally {
      await iterator.return();
    }
    if (times.length !== maxTokens) throw new Error(`baseline: the generation ended after ${times.length} of ${maxTokens} tokens`);
    return { prompt, times, start };
  }

  async dispose(): Promise<void> {
    await this.context.dispose();
    await this.model.dispose();
    await this.llama.dispose();
  }
}

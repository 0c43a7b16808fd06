/**
 * Shared setup for the inference suites: ONE CPU-only Llama instance per test process (node:test runs each
 * file in its own process), one thread, and engines over generated test models (test/fixtures/testModels.ts).
 */
import { getLlama, LlamaLogLevel, type Llama, type Token } from "node-llama-cpp";
import type { ChatTurn } from "../../src/core/ports.js";
import { createLlamaEngine, type LlamaEngineOptions } from "../../src/inference/createLlamaEngine.js";
import type { LlamaEngine } from "../../src/inference/LlamaEngine.js";
import type { EngineLogger } from "../../src/inference/resolveLlama.js";
import { testModelPath, type TestModelOptions } from "../fixtures/testModels.js";

let llamaPromise: Promise<Llama> | undefined;
/** llama.cpp log lines of the shared instance (kept out of the test output). */
export const llamaLog: string[] = [];

/** The process-wide CPU Llama (`gpu: false`, prebuilt binary only, one thread). */
export function sharedLlama(): Promise<Llama> {
  llamaPromise ??= getLlama({
    gpu: false,
    build: "never",
    maxThreads: 1,
    logLevel: LlamaLogLevel.warn,
    logger: (level, message) => void llamaLog.push(`[${level}] ${message}`),
  });
  return llamaPromise;
}

/** A logger that records what the engine says. */
export function recordingLogger(): EngineLogger & { lines: Array<{ level: string; msg: string; obj: object }> } {
  const lines: Array<{ level: string; msg: string; obj: object }> = [];
  const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, msg: msg ?? "", obj });
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** An engine over a generated test model, sharing the process Llama, one thread, greedy by default. */
export async function openEngine(model: TestModelOptions, options: Partial<LlamaEngineOptions> = {}): Promise<LlamaEngine> {
  return createLlamaEngine({
    modelPath: await testModelPath(model),
    llama: await sharedLlama(),
    gpu: false,
    threads: 1,
    sequences: 2,
    contextSize: 512,
    logger: recordingLogger(),
    defaults: { temperature: 0, seed: 1 },
    ...options,
  });
}

export const user = (content: string): ChatTurn => ({ role: "user", content });
export const assistant = (content: string): ChatTurn => ({ role: "assistant", content });
export const system = (content: string): ChatTurn => ({ role: "system", content });

/** The vocabulary strings of a loaded model (GGUF `tokenizer.ggml.tokens`), for token-structure assertions. */
export function vocabOf(engine: LlamaEngine): readonly string[] {
  const tokens = (engine.model.fileInfo.metadata as { tokenizer?: { ggml?: { tokens?: readonly string[] } } }).tokenizer?.ggml?.tokens;
  if (!tokens) throw new Error("model has no tokenizer.ggml.tokens");
  return tokens;
}

/** Id of a vocabulary string. */
export function idOf(engine: LlamaEngine, text: string): Token {
  const id = vocabOf(engine).indexOf(text);
  if (id < 0) throw new Error(`no vocabulary entry ${JSON.stringify(text)}`);
  return id as Token;
}

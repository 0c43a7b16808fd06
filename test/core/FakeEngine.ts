import { EventEmitter } from "node:events";
import { GlmbotError } from "../../src/core/errors.js";
import type { ChatTurn, EngineInfo, GenerateOptions, GenerateResult, InferenceEngine } from "../../src/core/ports.js";

/**
 * Deterministic fake tokenizer: one token per ASCII word (`[A-Za-z0-9_]+`), per other ASCII
 * non-space character, and per non-ASCII code point (so each CJK character is one token and Chinese
 * text costs far more tokens per character than English). Whitespace is free.
 */
export function fakeTokens(text: string): string[] {
  return text.match(/[A-Za-z0-9_]+|[^\sA-Za-z0-9_]/gu) ?? [];
}

/** Rendered like ChatGLM: `[gMASK] sop` + per turn (`<|role|>` + metadata "\n" + content) + final `<|assistant|>`. */
export function fakeCount(turns: readonly ChatTurn[]): number {
  return 3 + turns.reduce((sum, turn) => sum + 2 + fakeTokens(turn.content).length, 0);
}

/** Splits text into streamable pieces (each one token with its leading whitespace); joined they equal `text`. */
export function fakePieces(text: string): string[] {
  return text.match(/\s*(?:[A-Za-z0-9_]+|[^\sA-Za-z0-9_])|\s+/gu) ?? [];
}

/**
 * How one generate call behaves:
 * - a string: streamed piece by piece (yielding to the event loop between pieces), then `stop`
 *   (or `length` when it has more than maxTokens tokens);
 * - `{manual: true}`: the test drives it through the {@link FakeCall} (`emit`, `finish`, `fail`);
 * - `{hang: true, partial?}`: streams `partial`, then waits until aborted (`ignoreAbort`: forever);
 * - `{fail: message, partial?}`: streams `partial`, then rejects with `generation_failed`.
 * A faithful engine resolves with `cancelled` and the text so far as soon as its signal aborts.
 */
export type FakeReply =
  | string
  | { manual: true }
  | { hang: true; partial?: string; ignoreAbort?: boolean }
  | { fail: string; partial?: string };

export interface FakeCall {
  readonly index: number;
  readonly turns: ChatTurn[];
  readonly options: GenerateOptions;
  readonly promptTokens: number;
  /** Text streamed so far. */
  readonly text: string;
  emit(text: string): void;
  finish(reason?: "stop" | "length"): void;
  fail(message?: string): void;
  readonly result: Promise<GenerateResult | Error>;
}

export interface FakeEngineOptions extends Partial<EngineInfo> {
  /** Replies for the next calls, in order; afterwards `respond` decides. */
  replies?: FakeReply[];
  /** Default: `"Reply to <last user content>"` streamed. */
  respond?: (turns: readonly ChatTurn[], call: number) => FakeReply;
}

/** A faithful, controllable {@link InferenceEngine}. It refuses (and counts) prompts that overflow its context and calls beyond its sequences. */
export class FakeEngine implements InferenceEngine {
  readonly info: EngineInfo;
  readonly calls: FakeCall[] = [];
  readonly replies: FakeReply[];
  respond: (turns: readonly ChatTurn[], call: number) => FakeReply;
  countCalls = 0;
  active = 0;
  maxActive = 0;
  /** Violations seen: prompt + maxTokens over the context, or more concurrent calls than sequences. */
  readonly violations: string[] = [];
  readonly #events = new EventEmitter();

  constructor(options: FakeEngineOptions = {}) {
    this.info = { modelName: "fake-glm", family: "glm4", contextSize: 2048, sequences: 1, ...stripFakeOptions(options) };
    this.replies = [...(options.replies ?? [])];
    this.respond = options.respond ?? ((turns) => `Reply to ${turns[turns.length - 1]?.content ?? ""}`);
  }

  async countTokens(turns: readonly ChatTurn[]): Promise<number> {
    this.countCalls++;
    await Promise.resolve();
    return fakeCount(turns);
  }

  /** Resolves once at least `n` generate calls have started. */
  waitForCalls(n: number): Promise<FakeCall> {
    if (this.calls.length >= n) return Promise.resolve(this.calls[n - 1]);
    return new Promise((resolve) => {
      const onCall = () => {
        if (this.calls.length < n) return;
        this.#events.off("call", onCall);
        resolve(this.calls[n - 1]);
      };
      this.#events.on("call", onCall);
    });
  }

  generate(turns: readonly ChatTurn[], options: GenerateOptions): Promise<GenerateResult> {
    const promptTokens = fakeCount(turns);
    const reply = this.replies.shift() ?? this.respond(turns, this.calls.length);
    let text = "";
    let tokens = 0;
    let settle!: (value: GenerateResult | Error) => void;
    const result = new Promise<GenerateResult | Error>((r) => (settle = r));
    let settled = false;
    const finish = (finishReason: GenerateResult["finishReason"]) => {
      if (settled) return;
      settled = true;
      this.active--;
      settle({ text, finishReason, promptTokens, evaluatedPromptTokens: promptTokens, completionTokens: tokens });
    };
    const fail = (message = "engine failure") => {
      if (settled) return;
      settled = true;
      this.active--;
      settle(new GlmbotError("generation_failed", message));
    };
    const emit = (piece: string) => {
      if (settled) return;
      text += piece;
      tokens += fakeTokens(piece).length;
      options.onTextChunk?.(piece);
    };
    const call: FakeCall = {
      index: this.calls.length,
      turns: [...turns],
      options,
      promptTokens,
      get text() {
        return text;
      },
      emit,
      finish: (reason = "stop") => finish(reason),
      fail,
      result,
    };
    this.calls.push(call);
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    if (this.active > this.info.sequences) this.violations.push(`call ${call.index}: ${this.active} active > ${this.info.sequences} sequences`);
    if (promptTokens + options.maxTokens > this.info.contextSize) {
      this.violations.push(`call ${call.index}: ${promptTokens} + ${options.maxTokens} > ${this.info.contextSize}`);
      fail("context overflow");
    }
    const ignoreAbort = typeof reply === "object" && "hang" in reply && reply.ignoreAbort === true;
    if (!ignoreAbort) {
      if (options.signal?.aborted) finish("cancelled");
      options.signal?.addEventListener("abort", () => finish("cancelled"), { once: true });
    }
    this.#events.emit("call");
    if (!settled) void this.#drive(reply, call, options.maxTokens, finish);
    return result.then((value) => (value instanceof Error ? Promise.reject(value) : value));
  }

  async dispose(): Promise<void> {}

  async #drive(reply: FakeReply, call: FakeCall, maxTokens: number, finish: (reason: GenerateResult["finishReason"]) => void): Promise<void> {
    if (typeof reply === "object" && "manual" in reply) return;
    const script = typeof reply === "string" ? reply : (reply.partial ?? "");
    let tokens = 0;
    for (const piece of fakePieces(script)) {
      await new Promise((resolve) => setImmediate(resolve));
      tokens += fakeTokens(piece).length;
      if (tokens > maxTokens) return finish("length");
      call.emit(piece);
    }
    await new Promise((resolve) => setImmediate(resolve));
    if (typeof reply === "string") finish("stop");
    else if ("fail" in reply) call.fail(reply.fail);
    // hang: stays pending until aborted (or forever with ignoreAbort)
  }
}

function stripFakeOptions(options: FakeEngineOptions): Partial<EngineInfo> {
  const { replies: _replies, respond: _respond, ...info } = options;
  return info;
}

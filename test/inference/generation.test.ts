/**
 * Real llama.cpp generation on scripted test models (greedy decoding answers an exact reply): exact text for
 * both families, UTF-8-safe streaming of CJK and emoji, the three stop tokens, max_tokens, the end of the
 * context, and cancellation.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { isGlmbotError } from "../../src/core/errors.js";
import type { GenerateResult } from "../../src/core/ports.js";
import type { LlamaEngine } from "../../src/inference/LlamaEngine.js";
import type { Flavor, TestModelOptions } from "../fixtures/testModels.js";
import { openEngine, sharedLlama, system, user } from "./helpers.js";

const FLAVORS: Flavor[] = ["chatglm3", "glm4"];
const REPLY = "你好！我是 glmbot，很高兴见到你 😀🎉 Hello 世界 👋🏽";
const CONTROL_TEXT = /<\||\|>|\[gMASK\]|<sop>|\bsop\b|<eos>|endoftext/;

const engines = new Map<string, LlamaEngine>();
async function engine(model: TestModelOptions, options: Parameters<typeof openEngine>[1] = {}): Promise<LlamaEngine> {
  const key = JSON.stringify([model, options]);
  let e = engines.get(key);
  if (!e) engines.set(key, (e = await openEngine(model, options)));
  return e;
}

async function generateStreaming(e: LlamaEngine, prompt = "你好", maxTokens = 64): Promise<{ result: GenerateResult; chunks: string[] }> {
  const chunks: string[] = [];
  const result = await e.generate([system("你是 glmbot。"), user(prompt)], { maxTokens, onTextChunk: (c) => chunks.push(c) });
  return { result, chunks };
}

describe("generation", { timeout: 180_000 }, () => {
  before(() => sharedLlama());
  after(async () => {
    for (const e of engines.values()) await e.dispose();
  });

  for (const flavor of FLAVORS) {
    describe(flavor, () => {
      test("scripted reply comes back exactly, leading newline stripped", async () => {
        const { result, chunks } = await generateStreaming(await engine({ flavor, reply: REPLY }));
        assert.equal(result.text, REPLY);
        assert.equal(result.finishReason, "stop");
        assert.ok(result.completionTokens > 1);
        assert.equal(chunks.join(""), REPLY, "chunks concatenate to the reply");
      });

      test("streamed CJK/emoji chunks are whole characters (no U+FFFD)", async () => {
        const { chunks } = await generateStreaming(await engine({ flavor, reply: REPLY }));
        assert.ok(chunks.length > 3, "the reply streams in several chunks");
        for (const chunk of chunks) {
          assert.ok(chunk.length > 0);
          assert.ok(!chunk.includes("\uFFFD"), `chunk ${JSON.stringify(chunk)} has U+FFFD`);
          assert.equal(Buffer.from(chunk, "utf8").toString("utf8"), chunk, "chunk is valid UTF-16 (no lone surrogate)");
        }
      });

      for (const endWith of ["eos", "user", "observation"] as const) {
        test(`stops on ${endWith === "eos" ? "EOS" : `<|${endWith}|>`} with no control text in the reply`, async () => {
          const reply = "好的，明白了。OK!";
          const { result, chunks } = await generateStreaming(await engine({ flavor, reply, endWith }));
          assert.equal(result.finishReason, "stop");
          assert.equal(result.text, reply);
          assert.doesNotMatch(chunks.join(""), CONTROL_TEXT);
        });
      }

      test("maxTokens → finishReason length, exactly maxTokens tokens", async () => {
        const e = await engine({ flavor, reply: "一二三", endWith: "none" });
        const { result, chunks } = await generateStreaming(e, "count", 7);
        assert.equal(result.finishReason, "length");
        assert.equal(result.completionTokens, 7);
        assert.equal(chunks.join(""), result.text);
        assert.ok(result.text.startsWith("一二三"));
      });

      test("abort stops within one token, resolves cancelled and frees the sequence", async () => {
        const e = await engine({ flavor, reply: "一 二 三 四 五", endWith: "none" });
        const controller = new AbortController();
        const chunks: string[] = [];
        const result = await e.generate([user("go")], {
          maxTokens: 200,
          conversationKey: "abort",
          signal: controller.signal,
          onTextChunk: (c) => {
            chunks.push(c);
            if (chunks.length === 3) controller.abort();
          },
        });
        assert.equal(result.finishReason, "cancelled");
        assert.equal(chunks.length, 3, "no chunk after the abort");
        assert.equal(result.text, chunks.join(""));
        assert.equal(result.completionTokens, 4, "the newline token + the three tokens that produced the chunks; no token after the abort");
        assert.ok(e.sequences().every((s) => !s.busy), "sequence released");
        const again = await e.generate([user("go")], { maxTokens: 5, conversationKey: "abort" });
        assert.equal(again.finishReason, "length");
        assert.ok(again.evaluatedPromptTokens <= 1, "the cancelled run left a reusable prefix");
      });

      test("an already-aborted signal evaluates nothing", async () => {
        const e = await engine({ flavor, reply: "一 二 三 四 五", endWith: "none" });
        const before = e.evaluatedTokenTotal();
        const result = await e.generate([user("go")], { maxTokens: 5, signal: AbortSignal.abort() });
        assert.deepEqual({ ...result, promptTokens: 0 }, { text: "", finishReason: "cancelled", promptTokens: 0, evaluatedPromptTokens: 0, completionTokens: 0 });
        assert.equal(e.evaluatedTokenTotal(), before);
      });
    });
  }

  test("the end of the context finishes with length (no context shift), prompt tokens kept", async () => {
    const e = await engine({ flavor: "glm4", reply: "一", endWith: "none" }, { contextSize: 64, sequences: 1 });
    const contextSize = e.info.contextSize;
    const result = await e.generate([user("go")], { maxTokens: 10_000 });
    assert.equal(result.finishReason, "length");
    // node-llama-cpp holds at most contextSize - 1 tokens per sequence; the last sampled token is never evaluated
    assert.equal(result.promptTokens + result.completionTokens, contextSize);
    assert.equal(e.sequences()[0]!.cachedTokens, contextSize - 1);
    // the prefix is still there: the same prompt is fully reused
    const again = await e.generate([user("go")], { maxTokens: 1 });
    assert.equal(again.evaluatedPromptTokens, 1);
  });

  test("a prompt longer than the context is refused with input_too_long", async () => {
    const e = await engine({ flavor: "glm4", reply: "一", endWith: "none" }, { contextSize: 64, sequences: 1 });
    await assert.rejects(
      e.generate([user("hello ".repeat(e.info.contextSize))], { maxTokens: 5 }),
      (err) =>
        isGlmbotError(err, "input_too_long") && (err.details.tokens as number) > e.info.contextSize && err.details.limit === e.info.contextSize - 1,
    );
  });

  test("invalid request values are refused", async () => {
    const e = await engine({ flavor: "glm4", reply: "一" });
    await assert.rejects(e.generate([user("x")], { maxTokens: 0 }), (err) => isGlmbotError(err, "invalid_request"));
    await assert.rejects(e.generate([user("x")], { maxTokens: 5, topP: 2 }), (err) => isGlmbotError(err, "invalid_request"));
    await assert.rejects(e.generate([user("x")], { maxTokens: 5, temperature: -1 }), (err) => isGlmbotError(err, "invalid_request"));
  });

  test("random-weight models generate; same seed gives the same text; sampling options are accepted", async () => {
    for (const flavor of FLAVORS) {
      const e = await engine({ flavor, seed: 7 });
      const options = { maxTokens: 12, temperature: 0.9, topP: 0.9, topK: 20, repeatPenalty: 1.1, seed: 42 };
      const a = await e.generate([user("hello")], options);
      const b = await e.generate([user("hello")], options);
      assert.ok(a.completionTokens >= 1 && a.completionTokens <= 12);
      assert.equal(a.text, b.text, `${flavor}: deterministic with a fixed seed`);
      assert.ok(["stop", "length"].includes(a.finishReason));
    }
  });
});

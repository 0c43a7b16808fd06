/**
 * Core's context window with the REAL tokenizer: a generated ChatGLM3 / GLM-4 model in llama.cpp counts the
 * tokens, and the count must match what the model actually evaluates.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { ConversationManager } from "../../src/core/ConversationManager.js";
import { createConversationStore } from "../../src/core/memory.js";
import type { ChatTurn } from "../../src/core/ports.js";
import { fitContextWindow } from "../../src/core/window.js";
import type { LlamaEngine } from "../../src/inference/LlamaEngine.js";
import { assistant, openEngine, system, user } from "../inference/helpers.js";
import { FakeSink } from "./FakeSink.js";
import { chineseText, prng } from "../fixtures/prng.js";

const engines: LlamaEngine[] = [];
after(async () => {
  for (const e of engines) await e.dispose();
});

function chineseHistory(seed: number, exchanges: number): ChatTurn[][] {
  const rand = prng(seed);
  return Array.from({ length: exchanges }, (_, i) => [
    user(`第${i}个问题：${chineseText(rand, 8 + rand.int(0, 29))}？ emoji 🤖 ok`),
    assistant(`${chineseText(rand, 10 + rand.int(0, 59))}。Done #${i}`),
  ]);
}

for (const flavor of ["chatglm3", "glm4"] as const) {
  describe(`context window with the ${flavor} tokenizer`, () => {
    let engine: LlamaEngine;
    const sys = system("你是一个乐于助人的助手。Answer briefly.");

    test("boundaries: exactly the budget is sent unchanged; one token less drops exactly one exchange", async () => {
      engine = await openEngine({ flavor, reply: "好的，我明白了。" }, { contextSize: 1024 });
      engines.push(engine);
      const history = chineseHistory(7, 6);
      const newMessage = user("最后一个问题：今天天气怎么样？");
      const all = [sys, ...history.flat(), newMessage];
      const exact = await engine.countTokens(all);
      const fit = await fitContextWindow({ system: sys, history, newMessage, budget: exact, countTokens: (t) => engine.countTokens(t) });
      assert.equal(fit.droppedTurns, 0);
      assert.equal(fit.promptTokens, exact);
      const tight = await fitContextWindow({ system: sys, history, newMessage, budget: exact - 1, countTokens: (t) => engine.countTokens(t) });
      assert.equal(tight.droppedExchanges, 1);
      assert.equal(tight.droppedTurns, 2);
      assert.deepEqual(tight.turns, [sys, ...history.slice(1).flat(), newMessage]);
    });

    test("a 40-exchange Chinese-heavy history never overflows, drops as few exchanges as possible, and the count is what the model evaluates", async () => {
      const history = chineseHistory(11, 40);
      const newMessage = user("请总结我们的对话。");
      const budget = 1024 - 128;
      const countTokens = (t: readonly ChatTurn[]) => engine.countTokens(t);
      const fit = await fitContextWindow({ system: sys, history, newMessage, budget, countTokens });
      assert.ok(fit.droppedExchanges > 0 && fit.droppedExchanges < 40);
      assert.ok(fit.promptTokens <= budget);
      assert.equal(await countTokens(fit.turns), fit.promptTokens);
      assert.equal(fit.turns[0], sys, "system prompt kept in full");
      assert.equal(fit.turns.at(-1), newMessage, "newest message kept in full");
      const putBack = [sys, ...history.slice(fit.droppedExchanges - 1).flat(), newMessage];
      assert.ok((await countTokens(putBack)) > budget, "putting back the last dropped exchange must not fit");
      // Character-based estimates are far off for Chinese text; the real count is what llama.cpp evaluates.
      const result = await engine.generate(fit.turns, { maxTokens: 16, temperature: 0, conversationKey: "window-check" });
      assert.equal(result.promptTokens, fit.promptTokens);
      assert.equal(result.evaluatedPromptTokens, fit.promptTokens, "a fresh sequence evaluates the whole prompt");
    });

    test("through the conversation manager: 30 Chinese exchanges in one conversation, every prompt within the window", async () => {
      const dataDir = mkdtempSync(path.join(tmpdir(), "glmbot-realtok-"));
      const store = await createConversationStore({ dataDir, maxTurns: 1000, idleTtlMs: 0 });
      const maxTokens = 32;
      const contextSize = 320;
      const manager = new ConversationManager({
        engine,
        store,
        contextSize,
        defaults: { systemPrompt: "你是一个乐于助人的助手。", maxTokens, temperature: 0 },
      });
      const rand = prng(3);
      let dropped = 0;
      for (let i = 0; i < 30; i++) {
        const sink = new FakeSink();
        const job = await manager.submit(
          { conversation: { key: `test:${flavor}:chinese`, kind: "shared" }, author: { id: "u1", displayName: "小明" }, text: chineseText(rand, 20 + (i % 7) * 5) },
          sink,
        );
        const outcome = await job.done;
        assert.ok(!("error" in outcome), JSON.stringify(outcome));
        assert.equal(outcome.reply, "好的，我明白了。");
        assert.ok(outcome.usage.promptTokens <= contextSize - maxTokens, `prompt ${outcome.usage.promptTokens} tokens`);
        assert.equal(outcome.context.window, contextSize - maxTokens);
        dropped = Math.max(dropped, outcome.context.droppedTurns);
      }
      assert.ok(dropped > 0, "the history outgrew the window, so old exchanges were dropped");
      await manager.shutdown();
      await store.close();
    });
  });
}

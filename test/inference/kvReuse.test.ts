/**
 * KV-cache reuse and the sequence pool, measured by evaluated-token counts (node-llama-cpp token meters),
 * never by time: a returning conversation evaluates only its new tokens, conversations keep their own
 * sequence, two run at once on two sequences, the least recently used idle one is evicted, extra requests
 * wait, and a failure frees the sequence.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { isGlmbotError } from "../../src/core/errors.js";
import type { ChatTurn } from "../../src/core/ports.js";
import type { LlamaEngine } from "../../src/inference/LlamaEngine.js";
import { assistant, openEngine, sharedLlama, user } from "./helpers.js";

const opened: LlamaEngine[] = [];
async function open(...args: Parameters<typeof openEngine>): Promise<LlamaEngine> {
  const e = await openEngine(...args);
  opened.push(e);
  return e;
}
const keysOf = (e: LlamaEngine) => e.sequences().map((s) => s.key).sort();

describe("KV-cache reuse and sequence pool", { timeout: 180_000 }, () => {
  before(() => sharedLlama());
  after(async () => {
    for (const e of opened) await e.dispose();
  });

  test("GLM-4: the second turn of a conversation evaluates only the new tokens", async () => {
    // "Hello world" re-tokenizes to exactly the tokens the model generated, so the whole first exchange is reused
    const e = await open({ flavor: "glm4", reply: "Hello world" });
    const turn1: ChatTurn[] = [user("你好")];
    const r1 = await e.generate(turn1, { maxTokens: 32, conversationKey: "c1" });
    assert.equal(r1.text, "Hello world");
    assert.equal(r1.evaluatedPromptTokens, r1.promptTokens);

    const turn2: ChatTurn[] = [...turn1, assistant(r1.text), user("我是谁")];
    const before = e.evaluatedTokenTotal();
    const r2 = await e.generate(turn2, { maxTokens: 32, conversationKey: "c1" });
    const newTurnTokens = (await e.countTokens([user("我是谁")])) - 2; // without the [gMASK] <sop> prefix
    assert.equal(r2.evaluatedPromptTokens, newTurnTokens, "only <|user|> \\n 我是谁 <|assistant|> is evaluated");
    assert.equal(r2.promptTokens, (await e.countTokens(turn2)));
    assert.equal(e.evaluatedTokenTotal() - before, r2.evaluatedPromptTokens + r2.completionTokens, "token meter agrees");
  });

  test("ChatGLM3: the first prompt is reused; evaluation starts where the cached tokens differ", async () => {
    // the scripted model writes "\n" as <0x0A> alone while the canonical history rendering is `▁ \n`,
    // so the cache matches exactly up to the first prompt's final <|assistant|>
    const e = await open({ flavor: "chatglm3", reply: "Hello world" });
    const turn1: ChatTurn[] = [user("你好")];
    const r1 = await e.generate(turn1, { maxTokens: 32, conversationKey: "c1" });
    const turn2: ChatTurn[] = [...turn1, assistant(r1.text), user("我是谁")];
    const r2 = await e.generate(turn2, { maxTokens: 32, conversationKey: "c1" });
    assert.equal(r2.evaluatedPromptTokens, r2.promptTokens - r1.promptTokens);
  });

  test("each conversation keeps its own sequence (affinity by conversation key)", async () => {
    const e = await open({ flavor: "glm4", reply: "Hello world" });
    const a1 = await e.generate([user("A")], { maxTokens: 8, conversationKey: "A" });
    const b1 = await e.generate([user("B")], { maxTokens: 8, conversationKey: "B" });
    assert.deepEqual(keysOf(e), ["A", "B"]);
    const a2 = await e.generate([user("A"), assistant(a1.text), user("again")], { maxTokens: 8, conversationKey: "A" });
    const b2 = await e.generate([user("B"), assistant(b1.text), user("again")], { maxTokens: 8, conversationKey: "B" });
    const newTurn = (await e.countTokens([user("again")])) - 2;
    assert.equal(a2.evaluatedPromptTokens, newTurn);
    assert.equal(b2.evaluatedPromptTokens, newTurn);
  });

  test("two conversations generate concurrently on two sequences (batched)", async () => {
    const e = await open({ flavor: "glm4", reply: "一 二", endWith: "none" });
    const events: string[] = [];
    const pa = e.generate([user("A")], { maxTokens: 12, conversationKey: "A", onTextChunk: () => events.push("A") });
    const pb = e.generate([user("B")], { maxTokens: 12, conversationKey: "B", onTextChunk: () => events.push("B") });
    assert.equal(e.sequences().filter((s) => s.busy).length, 2, "both hold a sequence at once");
    const [ra, rb] = await Promise.all([pa, pb]);
    assert.equal(ra.finishReason, "length");
    assert.equal(rb.finishReason, "length");
    const firstB = events.indexOf("B");
    const lastA = events.lastIndexOf("A");
    assert.ok(firstB >= 0 && firstB < lastA, `chunks interleave: ${events.join("")}`);
  });

  test("a new conversation evicts the least recently used idle sequence", async () => {
    const e = await open({ flavor: "glm4", reply: "Hello world" });
    const p = (k: string) => [user(`conversation ${k}`)];
    const b1 = await e.generate(p("B"), { maxTokens: 8, conversationKey: "B" });
    await e.generate(p("A"), { maxTokens: 8, conversationKey: "A" });
    await e.generate([...p("B"), assistant(b1.text), user("more")], { maxTokens: 8, conversationKey: "B" }); // B is now the most recent
    await e.generate(p("C"), { maxTokens: 8, conversationKey: "C" });
    assert.deepEqual(keysOf(e), ["B", "C"], "A (least recently used) was evicted");

    const a2Turns = [...p("A"), assistant("Hello world"), user("back")];
    const a2 = await e.generate(a2Turns, { maxTokens: 8, conversationKey: "A" });
    const firstPrompt = await e.countTokens(p("A"));
    assert.ok(a2.evaluatedPromptTokens > a2.promptTokens - firstPrompt, "A's cached prefix was gone");
    assert.deepEqual(keysOf(e), ["A", "C"], "then B was the least recently used");
  });

  test("when every sequence is busy, a request waits and then runs", async () => {
    const e = await open({ flavor: "glm4", reply: "一 二", endWith: "none" }, { sequences: 2 });
    const order: string[] = [];
    const run = (key: string, maxTokens: number) =>
      e.generate([user(key)], { maxTokens, conversationKey: key }).then((r) => (order.push(key), r));
    const pa = run("A", 10);
    const pb = run("B", 10);
    const pc = run("C", 3);
    assert.equal(e.sequences().filter((s) => s.busy).length, 2);
    const rc = await pc;
    assert.equal(rc.completionTokens, 3);
    assert.ok(order.indexOf("C") > Math.min(order.indexOf("A"), order.indexOf("B")), `C ran after a sequence was freed: ${order}`);
    await Promise.all([pa, pb]);
  });

  test("abort while waiting for a sequence resolves cancelled without evaluating", async () => {
    const e = await open({ flavor: "glm4", reply: "一 二", endWith: "none" }, { sequences: 1 });
    const holder = new AbortController();
    let chunks = 0;
    const pa = e.generate([user("A")], { maxTokens: 1000, signal: holder.signal, onTextChunk: () => void chunks++ });
    const waiter = new AbortController();
    const pb = e.generate([user("B")], { maxTokens: 5, signal: waiter.signal });
    waiter.abort();
    const rb = await pb;
    assert.equal(rb.finishReason, "cancelled");
    assert.equal(rb.evaluatedPromptTokens, 0);
    holder.abort();
    const ra = await pa;
    assert.equal(ra.finishReason, "cancelled");
    assert.ok(ra.completionTokens < 1000);
  });

  test("a failed generation frees its sequence and forgets its conversation", async () => {
    const e = await open({ flavor: "glm4", reply: "Hello world" }, { sequences: 1 });
    await assert.rejects(
      e.generate([user("x")], {
        maxTokens: 8,
        conversationKey: "boom",
        onTextChunk: () => {
          throw new Error("sink exploded");
        },
      }),
      // The user-facing message is fixed; the engine failure travels as the cause (logged, never shown).
      (err) => isGlmbotError(err, "generation_failed") && !/sink exploded/.test(err.message) && /sink exploded/.test(String((err.cause as Error)?.message)),
    );
    assert.deepEqual(e.sequences(), [{ key: undefined, busy: false, cachedTokens: 0 }]);
    const ok = await e.generate([user("x")], { maxTokens: 8, conversationKey: "boom" });
    assert.equal(ok.text, "Hello world");
  });
});

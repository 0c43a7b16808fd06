/**
 * ReplyDecoder against real llama.cpp detokenization: characters split over byte tokens (SentencePiece byte
 * fallback, byte-level BPE) are never emitted half, the leading metadata newline is stripped once, and
 * control tokens never reach the text.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Token } from "node-llama-cpp";
import type { LlamaEngine } from "../../src/inference/LlamaEngine.js";
import { ReplyDecoder } from "../../src/inference/ReplyDecoder.js";
import { idOf, openEngine, sharedLlama } from "./helpers.js";

const TEXT = "😀好🎉世界👋🏽，OK 中文";

function stream(decoder: ReplyDecoder, tokens: readonly Token[]): string[] {
  const chunks = tokens.map((t) => decoder.push(t)).filter((c) => c !== "");
  const tail = decoder.finish();
  if (tail) chunks.push(tail);
  return chunks;
}

describe("ReplyDecoder", { timeout: 120_000 }, () => {
  const engines: Record<string, LlamaEngine> = {};
  before(async () => {
    await sharedLlama();
    engines.chatglm3 = await openEngine({ flavor: "chatglm3" });
    engines.glm4 = await openEngine({ flavor: "glm4" });
  });
  after(async () => {
    for (const e of Object.values(engines)) await e.dispose();
  });

  for (const family of ["chatglm3", "glm4"] as const) {
    test(`${family}: multi-byte characters over byte tokens never split, no U+FFFD`, () => {
      const e = engines[family]!;
      const content = e.model.tokenize(TEXT, false);
      // the tiny vocabularies have no emoji pieces: they must arrive as several byte tokens
      assert.ok(content.length > Array.from(TEXT).length, "emoji are split over byte tokens");
      const partial = content.filter((t) => e.model.detokenize([t]).includes("\uFFFD"));
      assert.ok(partial.length >= 4, "some tokens decode to an incomplete character on their own");

      const newline = idOf(e, family === "chatglm3" ? "<0x0A>" : "Ċ");
      const decoder = new ReplyDecoder(e.model, e.wrapper.replyLeadingText);
      const chunks = stream(decoder, [newline, ...content]);
      for (const chunk of chunks) assert.ok(!chunk.includes("\uFFFD"), `chunk ${JSON.stringify(chunk)}`);
      assert.equal(chunks.join(""), decoder.text);
      assert.equal(decoder.text, TEXT, "leading newline (and the SentencePiece dummy space) stripped");
    });
  }

  test("a character cut off by the end of generation is dropped, not emitted as U+FFFD", () => {
    for (const family of ["chatglm3", "glm4"] as const) {
      const e = engines[family]!;
      const tokens = e.model.tokenize("好😀", false);
      const d = new ReplyDecoder(e.model, "");
      const chunks = stream(d, tokens.slice(0, -1)); // the emoji's last byte never arrives
      assert.equal(d.text, "好", family);
      for (const chunk of chunks) assert.ok(!chunk.includes("\uFFFD"), family);
    }
  });

  test("only a leading newline is stripped, and only once", () => {
    const e = engines.glm4!;
    const nl = idOf(e, "Ċ");
    const d1 = new ReplyDecoder(e.model, "\n");
    stream(d1, [nl, nl, ...e.model.tokenize("hi", false)]);
    assert.equal(d1.text, "\nhi");
    const d2 = new ReplyDecoder(e.model, "\n");
    stream(d2, e.model.tokenize("hi\n", false));
    assert.equal(d2.text, "hi\n");
  });

  test("ChatGLM3: `▁ \\n ▁content` (the official layout) decodes to the bare content", () => {
    const e = engines.chatglm3!;
    const tokens = ["▁", "<0x0A>"].map((t) => idOf(e, t)).concat(e.model.tokenize("好 OK", false));
    const d = new ReplyDecoder(e.model, e.wrapper.replyLeadingText);
    stream(d, tokens);
    assert.equal(d.text, "好 OK");
  });

  test("control tokens and listed hidden tokens never reach the text", () => {
    const e = engines.glm4!;
    const assistantId = idOf(e, "<|assistant|>");
    const hidden = new Set([assistantId]);
    const d = new ReplyDecoder(e.model, "\n", hidden);
    stream(d, [...e.model.tokenize("a", false), assistantId, idOf(e, "<|user|>"), idOf(e, "[gMASK]"), ...e.model.tokenize("b", false)]);
    assert.equal(d.text, "ab");
  });
});

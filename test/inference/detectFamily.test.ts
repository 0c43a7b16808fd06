/**
 * Family detection from GGUF metadata: the pure rules, then real generated files (with and without a
 * chat template, overridden by config, ChatGLM2 architecture, missing and non-GGUF files).
 */
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { isGlmbotError } from "../../src/core/errors.js";
import { detectFamily, detectFamilyFromFile, familyFromTemplate } from "../../src/inference/detectFamily.js";
import type { LlamaEngine } from "../../src/inference/LlamaEngine.js";
import { testModelPath } from "../fixtures/testModels.js";
import { openEngine, sharedLlama, user } from "./helpers.js";

const meta = (architecture: string, model?: string, extra: { pre?: string; template?: string; name?: string } = {}) => ({
  general: { architecture, name: extra.name },
  tokenizer: { ggml: { model, pre: extra.pre }, chat_template: extra.template },
});

describe("detectFamily (metadata rules)", () => {
  test("chatglm + SentencePiece (llama) → chatglm3", () => {
    assert.equal(detectFamily(meta("chatglm", "llama")).family, "chatglm3");
  });
  test("chatglm + BPE (gpt2, chatglm-bpe) → glm4", () => {
    assert.equal(detectFamily(meta("chatglm", "gpt2", { pre: "chatglm-bpe" })).family, "glm4");
  });
  test("glm4 architecture (GLM-4-0414) → glm4", () => {
    assert.equal(detectFamily(meta("glm4", "gpt2", { pre: "glm4" })).family, "glm4");
  });
  test("unknown tokenizer model falls back to the chat template", () => {
    assert.equal(detectFamily(meta("chatglm", "other", { template: "[gMASK]<sop>{% for m in messages %}" })).family, "glm4");
    assert.equal(detectFamily(meta("chatglm", "other", { template: "[gMASK]sop<|{{ role }}|>" })).family, "chatglm3");
    assert.equal(familyFromTemplate(undefined), undefined);
    assert.throws(() => detectFamily(meta("chatglm", "other")), (e) => isGlmbotError(e, "model_load_failed") && e.details.reason === "unknown_family");
  });
  test("ChatGLM-6B v1 / ChatGLM2-6B are refused with a message that says why, even with an override", () => {
    for (const m of [meta("chatglm2", "llama"), meta("chatglm", "llama", { name: "ChatGLM2-6B" })]) {
      for (const override of ["auto", "chatglm3"] as const) {
        assert.throws(
          () => detectFamily(m, override),
          (e) =>
            isGlmbotError(e, "model_load_failed") &&
            e.details.reason === "unsupported_architecture" &&
            /ChatGLM-6B \(v1\) and ChatGLM2-6B have no llama\.cpp architecture/.test(e.message),
        );
      }
    }
  });
  test("other architectures are refused unless the format is overridden", () => {
    assert.throws(() => detectFamily(meta("llama", "llama")), (e) => isGlmbotError(e, "model_load_failed") && /unsupported architecture 'llama'/.test(e.message));
    assert.equal(detectFamily(meta("llama", "llama"), "glm4").family, "glm4");
  });
  test("override wins over detection", () => {
    const d = detectFamily(meta("chatglm", "llama"), "glm4");
    assert.equal(d.family, "glm4");
    assert.match(d.reason, /configured/);
  });
});

describe("detectFamily (GGUF files)", { timeout: 120_000 }, () => {
  const opened: LlamaEngine[] = [];
  before(() => sharedLlama());
  after(async () => {
    for (const e of opened) await e.dispose();
  });

  test("generated ChatGLM3 and GLM-4 files", async () => {
    assert.equal((await detectFamilyFromFile(await testModelPath({ flavor: "chatglm3" }))).family, "chatglm3");
    assert.equal((await detectFamilyFromFile(await testModelPath({ flavor: "glm4" }))).family, "glm4");
  });

  test("a GGUF without tokenizer.chat_template is still detected, and the engine uses our format", async () => {
    for (const flavor of ["chatglm3", "glm4"] as const) {
      const path = await testModelPath({ flavor, chatTemplate: false });
      assert.equal((await detectFamilyFromFile(path)).family, flavor);
      const engine = await openEngine({ flavor, chatTemplate: false });
      opened.push(engine);
      assert.equal(engine.info.family, flavor);
      assert.equal(engine.wrapper.renderText([user("hi")]), flavor === "chatglm3" ? "[gMASK]sop<|user|>\n hi<|assistant|>" : "[gMASK]<sop><|user|>\nhi<|assistant|>");
    }
  });

  test("config override (chatFormat) selects the other wrapper", async () => {
    const engine = await openEngine({ flavor: "glm4" }, { chatFormat: "glm4" });
    opened.push(engine);
    assert.equal(engine.info.family, "glm4");
    assert.match(engine.runtime.familyReason, /configured chatFormat glm4/);
    // a ChatGLM3 vocabulary has no `<sop>` token, so forcing GLM-4 onto it fails clearly
    await assert.rejects(
      openEngine({ flavor: "chatglm3" }, { chatFormat: "glm4" }),
      (e) => isGlmbotError(e, "model_load_failed") && e.details.reason === "missing_special_token" && /'<sop>'/.test(e.message),
    );
  });

  test("a chatglm2-architecture file is refused before llama.cpp sees it", async () => {
    await assert.rejects(
      detectFamilyFromFile(await testModelPath({ flavor: "chatglm3", broken: "arch_chatglm2" })),
      (e) => isGlmbotError(e, "model_load_failed") && e.details.architecture === "chatglm2" && /no llama\.cpp architecture/.test(e.message),
    );
  });

  test("missing and non-GGUF files", async () => {
    await assert.rejects(detectFamilyFromFile("/nonexistent/model.gguf"), (e) => isGlmbotError(e, "model_load_failed") && e.details.reason === "not_found");
    const dir = join(process.cwd(), "test", ".tmp");
    await mkdir(dir, { recursive: true });
    const junk = join(dir, "not-a-model.gguf");
    await writeFile(junk, "this is not a GGUF file at all, just text");
    await assert.rejects(detectFamilyFromFile(junk), (e) => isGlmbotError(e, "model_load_failed") && e.details.reason === "invalid_gguf");
  });
});

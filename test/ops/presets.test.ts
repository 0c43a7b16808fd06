/**
 * Presets and model sources: names → URIs, the file names downloads get (the same node-llama-cpp's own resolver
 * looks for, so `pull`, `serve` and node-llama-cpp agree), and local look-ups that never touch the network.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { resolveModelFile } from "node-llama-cpp";
import { findPreset, MODEL_PRESETS, presetForUri } from "../../src/inference/presets.js";
import { findLocalModel, parseModelSource, remoteFileName, resolveModel } from "../../src/inference/resolveModel.js";
import { downloadUrl } from "../../src/ops/pull.js";

describe("presets", () => {
  test("the seed's quantization levels map to the issue's files and sizes", () => {
    const table = MODEL_PRESETS.map((p) => [p.name, p.seedPrecision, p.uri.split("/").pop(), p.fileBytes / 1e9]);
    assert.deepEqual(table, [
      ["chatglm3-6b:Q4_K_M", "INT4", "chatglm3-6b.Q4_K_M.gguf", 4.14],
      ["chatglm3-6b:Q8_0", "INT8", "chatglm3-6b.Q8_0.gguf", 6.64],
      ["chatglm3-6b:F16", "FP16", "chatglm3-6b.f16.gguf", 12.5],
      ["glm4-9b:Q4_K_M", "INT4", "glm-4-9b-chat-Q4_K_M.gguf", 6.25],
      ["glm4-9b:Q8_0", "INT8", "glm-4-9b-chat-Q8_0.gguf", 9.99],
    ]);
    assert.ok(MODEL_PRESETS.slice(0, 3).every((p) => p.uri.startsWith("hf:mradermacher/chatglm3-6b-GGUF/")));
    assert.ok(MODEL_PRESETS.slice(3).every((p) => p.uri.startsWith("hf:bartowski/glm-4-9b-chat-GGUF/")));
  });

  test("names are case-insensitive and a bare model name means Q4_K_M", () => {
    assert.equal(findPreset("chatglm3-6b")?.name, "chatglm3-6b:Q4_K_M");
    assert.equal(findPreset("ChatGLM3-6B:q8_0")?.name, "chatglm3-6b:Q8_0");
    assert.equal(findPreset(" glm4-9b:Q8_0 ")?.name, "glm4-9b:Q8_0");
    assert.equal(findPreset("glm4-9b:F16"), undefined);
    assert.equal(findPreset("models/chatglm3-6b.gguf"), undefined);
    assert.equal(findPreset("hf:mradermacher/chatglm3-6b-GGUF/chatglm3-6b.Q4_K_M.gguf"), undefined);
    assert.equal(presetForUri(MODEL_PRESETS[4]!.uri)?.name, "glm4-9b:Q8_0");
  });

  test("a source is a preset, a path or a URI", () => {
    assert.deepEqual(
      [parseModelSource("glm4-9b"), parseModelSource("./m.gguf"), parseModelSource("https://x.test/m.gguf")].map((s) => [s.uri, s.remote, s.preset?.name]),
      [
        ["hf:bartowski/glm-4-9b-chat-GGUF/glm-4-9b-chat-Q4_K_M.gguf", true, "glm4-9b:Q4_K_M"],
        ["./m.gguf", false, undefined],
        ["https://x.test/m.gguf", true, undefined],
      ],
    );
  });
});

describe("model file names", () => {
  test("downloads are named like node-llama-cpp names them (its resolver finds them offline)", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "glmbot-names-"));
    const uris = [...MODEL_PRESETS.map((p) => p.uri), "https://huggingface.co/bartowski/glm-4-9b-chat-GGUF/resolve/main/glm-4-9b-chat-Q8_0.gguf"];
    for (const uri of uris) {
      const name = remoteFileName(uri)!;
      writeFileSync(path.join(dir, name), "GGUF");
      assert.equal(await resolveModelFile(uri, { directory: dir, download: false, cli: false }), path.join(dir, name), uri);
    }
    assert.equal(remoteFileName(MODEL_PRESETS[0]!.uri), "hf_mradermacher_chatglm3-6b.Q4_K_M.gguf");
    assert.equal(remoteFileName("http://127.0.0.1:8000/files/my%20model.gguf?x=1"), "my model.gguf");
    assert.equal(remoteFileName("hf:user/model:Q4_K_M"), undefined);
  });

  test("hf: URIs have an https URL for the reachability check", () => {
    assert.equal(downloadUrl(MODEL_PRESETS[0]!.uri), "https://huggingface.co/mradermacher/chatglm3-6b-GGUF/resolve/main/chatglm3-6b.Q4_K_M.gguf");
    assert.equal(downloadUrl("hf:u/r/sub/f.gguf#dev"), "https://huggingface.co/u/r/resolve/dev/sub/f.gguf");
    assert.equal(downloadUrl("http://127.0.0.1:1/f.gguf"), "http://127.0.0.1:1/f.gguf");
  });

  test("local look-up: complete, partial (.ipull) and missing, without network", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "glmbot-local-"));
    const missing = findLocalModel("chatglm3-6b:Q8_0", dir);
    assert.deepEqual([missing.exists, missing.partialPath, missing.path], [false, undefined, path.join(dir, "hf_mradermacher_chatglm3-6b.Q8_0.gguf")]);
    writeFileSync(missing.path + ".ipull", "partial");
    assert.equal(findLocalModel("chatglm3-6b:Q8_0", dir).partialPath, missing.path + ".ipull");
    writeFileSync(path.join(dir, "hf_bartowski_glm-4-9b-chat-Q4_K_M.gguf"), "GGUF....");
    const found = findLocalModel("glm4-9b", dir);
    assert.deepEqual([found.exists, found.bytes], [true, 8]);
    // serve resolves a downloaded preset without the network
    assert.equal(await resolveModel("glm4-9b", { modelsDir: dir }), found.path);
    await assert.rejects(resolveModel(path.join(dir, "nope.gguf"), { modelsDir: dir }), /glmbot pull/);
  });
});

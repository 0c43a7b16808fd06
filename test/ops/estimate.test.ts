/**
 * Memory estimates: the preset tensor layout (used when no file is downloaded) reproduces what node-llama-cpp's
 * GGUF insights compute from a real `chatglm` GGUF header, layer by layer; and the layer fit picks the most
 * layers that fit.
 */
import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { after, describe, test } from "node:test";
import { GgufInsights, readGgufFileInfo } from "node-llama-cpp";
import { MODEL_PRESETS, type ModelPreset } from "../../src/inference/presets.js";
import { estimateFromFile, estimateFromPreset, fitOnGpu, type ModelEstimate } from "../../src/ops/doctor/estimate.js";
import { testModelPath } from "../fixtures/testModels.js";
import { sharedLlama } from "../inference/helpers.js";

after(async () => (await sharedLlama()).dispose());

describe("memory estimates", () => {
  test("the preset layout matches the insights of a real chatglm GGUF, for every layer count", async () => {
    const llama = await sharedLlama();
    const file = await testModelPath({ flavor: "chatglm3", seed: 3 });
    const info = await readGgufFileInfo(file, { sourceType: "filesystem", logWarnings: false });
    const insights = await GgufInsights.from(info, llama);
    const arch = info.architectureMetadata;
    const twin: ModelPreset = {
      ...MODEL_PRESETS[2]!, // an F16 preset: the generated model's big tensors are F16 too
      fileBytes: insights.modelSize,
      arch: {
        blocks: arch.block_count!,
        embedding: arch.embedding_length!,
        feedForward: arch.feed_forward_length!,
        heads: arch.attention!.head_count as number,
        kvHeads: arch.attention!.head_count_kv as number,
        vocab: info.metadata.tokenizer.ggml.tokens!.length,
        trainContext: arch.context_length!,
      },
    };
    const ctx = { contextSize: 512, sequences: 2 };
    const fromFile = await estimateFromFile(file, statSync(file).size, llama, ctx);
    const fromPreset = await estimateFromPreset(twin, llama, ctx);
    assert.equal(fromPreset.totalLayers, fromFile.totalLayers);
    for (let layers = 0; layers <= fromFile.totalLayers; layers++) assert.deepEqual(fromPreset.at(layers), fromFile.at(layers), `${layers} layers`);
  });

  test("published sizes: full offload needs the file plus the context; more sequences need more", async () => {
    const llama = await sharedLlama();
    const q4 = await estimateFromPreset(MODEL_PRESETS[0]!, llama, { contextSize: 2048, sequences: 1 });
    const q4x4 = await estimateFromPreset(MODEL_PRESETS[0]!, llama, { contextSize: 2048, sequences: 4 });
    const full = q4.at(q4.totalLayers);
    assert.equal(q4.totalLayers, 29);
    assert.ok(full.vramBytes + full.ramBytes > 4.14e9 && full.vramBytes < 6e9, JSON.stringify(full)); // the seed: INT4 ≈ 6 GB
    assert.ok(q4x4.at(29).vramBytes > full.vramBytes);
    // ChatGLM3-6B's KV cache: 2 KV heads × 128 dims × 2 (K, V) × 2 bytes × 28 layers = 28 KiB per token
    assert.equal(q4x4.at(0).ramBytes - q4.at(0).ramBytes > 3 * 2048 * 28 * 1024, true);
  });

  test("the layer fit takes as many layers as the VRAM holds", () => {
    const linear: ModelEstimate = { basis: "preset", fileBytes: 100, totalLayers: 10, at: (n) => ({ vramBytes: n === 0 ? 0 : 5 + n * 10, ramBytes: (10 - n) * 10 }) };
    assert.deepEqual([fitOnGpu(linear, undefined).verdict, fitOnGpu(linear, undefined).gpuLayers], ["no", 0]);
    assert.deepEqual([fitOnGpu(linear, 105).verdict, fitOnGpu(linear, 105).gpuLayers], ["fits", 10]);
    assert.deepEqual([fitOnGpu(linear, 104).verdict, fitOnGpu(linear, 104).gpuLayers], ["partly", 9]);
    assert.deepEqual([fitOnGpu(linear, 15).verdict, fitOnGpu(linear, 15).gpuLayers], ["partly", 1]);
    assert.deepEqual([fitOnGpu(linear, 14).verdict, fitOnGpu(linear, 14).gpuLayers], ["no", 0]);
    assert.deepEqual(fitOnGpu(linear, 55).chosen, { vramBytes: 55, ramBytes: 50 });
  });
});

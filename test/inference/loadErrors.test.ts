/**
 * Load errors name the real cause: deliberately broken GGUF files loaded by the real llama.cpp (missing
 * metadata key, missing tensor, wrong shape, ChatGLM2 architecture), and the log-text rules for causes that
 * cannot be produced on a CPU-only machine (VRAM), checked on llama.cpp's literal messages.
 */
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { InsufficientMemoryError, LlamaLogLevel } from "node-llama-cpp";
import { GlmbotError, isGlmbotError } from "../../src/core/errors.js";
import { captureLlamaLogs, explainLoadFailure, type CapturedLogLine } from "../../src/inference/loadErrors.js";
import { testModelPath, type Flavor } from "../fixtures/testModels.js";
import { openEngine, sharedLlama } from "./helpers.js";

const FLAVORS: Flavor[] = ["chatglm3", "glm4"];

async function loadError(flavor: Flavor, broken: "missing_metadata" | "missing_tensor" | "wrong_shape" | "arch_chatglm2"): Promise<GlmbotError> {
  try {
    const engine = await openEngine({ flavor, broken });
    await engine.dispose();
  } catch (err) {
    assert.ok(err instanceof GlmbotError, `a GlmbotError, got ${String(err)}`);
    assert.equal(err.code, "model_load_failed");
    assert.doesNotMatch(err.message, /^Failed to load model$/);
    return err;
  }
  throw new Error(`${flavor}/${broken} loaded`);
}

describe("broken GGUF files", { timeout: 120_000 }, () => {
  before(() => sharedLlama());

  for (const flavor of FLAVORS) {
    test(`${flavor}: a missing metadata key is named`, async () => {
      const err = await loadError(flavor, "missing_metadata");
      assert.equal(err.details.reason, "missing_metadata");
      assert.equal(err.details.key, "chatglm.block_count");
      assert.match(err.message, /missing metadata key 'chatglm\.block_count'/);
      assert.ok((err.details.log as string[]).some((l) => l.includes("key not found in model")), "llama.cpp's own line is kept");
    });

    test(`${flavor}: a missing tensor is named`, async () => {
      const err = await loadError(flavor, "missing_tensor");
      assert.equal(err.details.reason, "missing_tensor");
      assert.equal(err.details.tensor, "blk.0.ffn_down.weight");
      assert.match(err.message, /missing tensor 'blk\.0\.ffn_down\.weight'/);
    });

    test(`${flavor}: a wrong shape is named with both shapes`, async () => {
      const err = await loadError(flavor, "wrong_shape");
      assert.equal(err.details.reason, "wrong_shape");
      assert.equal(err.details.tensor, "blk.0.ffn_up.weight");
      const expected = err.details.expected as number[];
      const got = err.details.got as number[];
      assert.equal(expected.length, 2);
      assert.equal(got.length, 2);
      assert.equal(got[1]! * 2, expected[1], "the fixture halves ffn_up's output width");
      assert.match(err.message, /tensor 'blk\.0\.ffn_up\.weight' has wrong shape: expected \[\d+, \d+\], got \[\d+, \d+\]/);
    });

    test(`${flavor}: a ChatGLM2 architecture says ChatGLM-6B v1 / ChatGLM2 have no llama.cpp architecture`, async () => {
      const err = await loadError(flavor, "arch_chatglm2");
      assert.equal(err.details.reason, "unsupported_architecture");
      assert.match(err.message, /'chatglm2'.*ChatGLM-6B \(v1\) and ChatGLM2-6B have no llama\.cpp architecture/);
    });
  }

  test("llama.cpp's own refusal of the chatglm2 architecture is captured from its log", async () => {
    const llama = await sharedLlama();
    const modelPath = await testModelPath({ flavor: "chatglm3", broken: "arch_chatglm2" });
    let lines: CapturedLogLine[] = [];
    const failure = await captureLlamaLogs(llama, () => llama.loadModel({ modelPath }), (l) => (lines = l)).then(
      () => assert.fail("loaded"),
      (err: unknown) => err,
    );
    assert.ok(lines.some((l) => l.message.includes("unknown model architecture: 'chatglm2'")));
    const err = explainLoadFailure(failure, lines, { modelPath });
    assert.equal(err.details.reason, "unsupported_architecture");
    assert.equal(err.details.architecture, "chatglm2");
    assert.match(err.message, /no llama\.cpp architecture/);
  });

  test("a missing file fails with the path", async () => {
    await assert.rejects(
      openEngine({ flavor: "glm4" }, { modelPath: "/nowhere/glm-4-9b-chat.Q4_K_M.gguf" }),
      (e) => isGlmbotError(e, "model_load_failed") && e.details.reason === "not_found" && e.message.includes("/nowhere/glm-4-9b-chat.Q4_K_M.gguf"),
    );
  });
});

describe("log-text rules (llama.cpp 80fb11ac messages)", () => {
  const line = (message: string, level = LlamaLogLevel.error): CapturedLogLine => ({ level, message });
  const generic = new Error("Failed to load model");

  test("CUDA out of memory: needed amount from the log, free amount from the caller", () => {
    const err = explainLoadFailure(generic, [line("ggml_backend_cuda_buffer_type_alloc_buffer: allocating 4096.00 MiB on device 0: cudaMalloc failed: out of memory")], {
      modelPath: "m.gguf",
      vram: { freeVramBytes: 1024 * 1024 * 1024 },
    });
    assert.equal(err.details.reason, "insufficient_vram");
    assert.equal(err.details.neededVramBytes, 4096 * 1024 * 1024);
    assert.match(err.message, /not enough VRAM \(needs 4\.00 GiB, 1\.00 GiB free\)/);
  });

  test("node-llama-cpp's InsufficientMemoryError uses the caller's estimate", () => {
    const err = explainLoadFailure(new InsufficientMemoryError("Not enough VRAM to fit the model with the specified settings"), [], {
      modelPath: "m.gguf",
      vram: { neededVramBytes: 6 * 1024 ** 3, freeVramBytes: 2 * 1024 ** 3 },
    });
    assert.equal(err.details.reason, "insufficient_vram");
    assert.match(err.message, /needs 6\.00 GiB, 2\.00 GiB free/);
  });

  test("Vulkan out of device memory and a failed KV-cache buffer are VRAM errors", () => {
    for (const message of ["ggml_vulkan: Device memory allocation of size 123 failed. vk::Device::allocateMemory: ErrorOutOfDeviceMemory", "llama_init_from_model: failed to initialize the context: failed to allocate buffer for kv cache"]) {
      assert.equal(explainLoadFailure(generic, [line(message)], { modelPath: "m.gguf", stage: "context" }).details.reason, "insufficient_vram", message);
    }
  });

  test("an unknown non-GLM architecture, other llama.cpp errors, and an empty log", () => {
    assert.match(explainLoadFailure(generic, [line("llama_model_load: error loading model: unknown model architecture: 'mamba9'")], { modelPath: "m" }).message, /unsupported architecture 'mamba9'/);
    const other = explainLoadFailure(generic, [line("llama_model_load: error loading model: tensor 'x' data is not within the file bounds")], { modelPath: "m" });
    assert.equal(other.details.reason, "llama_cpp_error");
    assert.match(other.message, /data is not within the file bounds/);
    const none = explainLoadFailure(generic, [], { modelPath: "m" });
    assert.equal(none.details.reason, "unknown");
    assert.match(none.message, /Failed to load model/);
  });

  test("a GlmbotError passes through unchanged", () => {
    const original = new GlmbotError("model_load_failed", "x", { reason: "gpu_unavailable" });
    assert.equal(explainLoadFailure(original, [], { modelPath: "m" }), original);
  });
});

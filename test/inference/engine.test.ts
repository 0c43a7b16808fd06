/**
 * Engine lifecycle and configuration: info, thread caps, option validation, GPU selection without silent
 * CPU fallback (on this CPU-only test Llama), and dispose while generating.
 */
import assert from "node:assert/strict";
import os from "node:os";
import { before, describe, test } from "node:test";
import { getLlamaGpuTypes } from "node-llama-cpp";
import { isGlmbotError } from "../../src/core/errors.js";
import { createLlamaEngine } from "../../src/inference/createLlamaEngine.js";
import { resolveThreads } from "../../src/inference/resolveLlama.js";
import { testModelPath } from "../fixtures/testModels.js";
import { openEngine, recordingLogger, sharedLlama, user } from "./helpers.js";

describe("engine", { timeout: 120_000 }, () => {
  before(() => sharedLlama());

  test("info and runtime describe the loaded model", async () => {
    const logger = recordingLogger();
    const engine = await openEngine({ flavor: "chatglm3", name: "ChatGLM3 test" }, { sequences: 3, contextSize: 1024, logger });
    try {
      assert.deepEqual(engine.info, { modelName: "ChatGLM3 test", family: "chatglm3", contextSize: 1024, sequences: 3 });
      assert.equal(engine.runtime.gpu, false);
      assert.equal(engine.runtime.threads, 1);
      assert.equal(engine.sequences().length, 3);
      assert.ok(logger.lines.some((l) => l.level === "info" && l.msg === "model loaded"));
    } finally {
      await engine.dispose();
    }
  });

  test("thread count never exceeds the machine's cores (default and configured)", async () => {
    const cores = os.availableParallelism();
    assert.equal(resolveThreads(cores + 64, 64), cores, "a configured value is capped");
    assert.equal(resolveThreads(undefined, cores + 8), cores, "the default is at most the cores");
    assert.equal(resolveThreads(undefined, 1), 1, "and at most llama.cpp's math cores");
    assert.equal(resolveThreads(undefined, 0), cores, "unknown math cores → the cores");
    const logger = recordingLogger();
    const capped = await openEngine({ flavor: "glm4" }, { threads: cores + 64, sequences: 1, logger });
    const byDefault = await openEngine({ flavor: "glm4" }, { threads: undefined, sequences: 1 });
    try {
      assert.ok(logger.lines.some((l) => l.level === "warn" && /threads capped/.test(l.msg)));
      for (const e of [capped, byDefault]) assert.ok(e.runtime.threads >= 1 && e.runtime.threads <= cores);
    } finally {
      await capped.dispose();
      await byDefault.dispose();
    }
  });

  test("invalid options are config_invalid", async () => {
    for (const bad of [{ contextSize: 0 }, { sequences: 0 }, { threads: 0 }, { gpuLayers: -1 }, { defaults: { topP: 5 } }, { defaults: { temperature: -1 } }]) {
      await assert.rejects(openEngine({ flavor: "glm4" }, bad), (e) => isGlmbotError(e, "config_invalid"), JSON.stringify(bad));
    }
  });

  describe("GPU selection never falls back silently", () => {
    test("a requested GPU the Llama instance lacks fails clearly without allowCpuFallback", async () => {
      for (const gpu of ["cuda", "vulkan", "metal"] as const) {
        await assert.rejects(
          openEngine({ flavor: "glm4" }, { gpu }),
          (e) =>
            isGlmbotError(e, "model_load_failed") &&
            e.details.reason === "gpu_unavailable" &&
            e.details.requestedGpu === gpu &&
            /allowCpuFallback/.test(e.message),
        );
      }
    });

    test("with allowCpuFallback it warns and loads on the CPU", async () => {
      const logger = recordingLogger();
      const engine = await openEngine({ flavor: "glm4", reply: "OK" }, { gpu: "cuda", allowCpuFallback: true, logger });
      try {
        assert.ok(logger.lines.some((l) => l.level === "warn" && /cuda.*allowCpuFallback/.test(l.msg)), JSON.stringify(logger.lines));
        assert.equal(engine.runtime.gpu, false);
        assert.equal((await engine.generate([user("hi")], { maxTokens: 8 })).text, "OK");
      } finally {
        await engine.dispose();
      }
    });

    test("Metal off macOS is refused before node-llama-cpp can turn it into `auto`", { skip: process.platform === "darwin" }, async () => {
      await assert.rejects(
        createLlamaEngine({ modelPath: await testModelPath({ flavor: "glm4" }), gpu: "metal", threads: 1, logger: recordingLogger() }),
        (e) => isGlmbotError(e, "model_load_failed") && e.details.reason === "gpu_unavailable" && /macOS/.test(e.message),
      );
    });

    test("CUDA on a machine without it: node-llama-cpp finds no binary and glmbot says so", async (t) => {
      if ((await getLlamaGpuTypes("supported")).includes("cuda")) return t.skip("this machine has CUDA");
      await assert.rejects(
        createLlamaEngine({ modelPath: await testModelPath({ flavor: "glm4" }), gpu: "cuda", threads: 1, logger: recordingLogger() }),
        (e) => isGlmbotError(e, "model_load_failed") && e.details.reason === "gpu_unavailable" && /no working cuda build/.test(e.message),
      );
    });
  });

  test("dispose cancels running generations, then refuses new work", async () => {
    const engine = await openEngine({ flavor: "glm4", reply: "一 二", endWith: "none" }, { sequences: 1 });
    let chunks = 0;
    let disposing: Promise<void> | undefined;
    const running = engine.generate([user("go")], {
      maxTokens: 10_000,
      onTextChunk: () => {
        if (++chunks === 3) disposing = engine.dispose();
      },
    });
    const waiting = engine.generate([user("queued")], { maxTokens: 5 });
    const result = await running;
    assert.equal(result.finishReason, "cancelled");
    assert.equal(result.completionTokens, 4);
    assert.equal((await waiting).finishReason, "cancelled", "a request still waiting for a sequence is cancelled too");
    await disposing;
    await assert.rejects(engine.generate([user("x")], { maxTokens: 5 }), (e) => isGlmbotError(e, "model_not_ready"));
    await assert.rejects(engine.countTokens([user("x")]), (e) => isGlmbotError(e, "model_not_ready"));
    await engine.dispose();
  });
});

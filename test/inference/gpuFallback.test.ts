/**
 * The engine's own Llama instance (no injected one): a requested GPU that this machine lacks, with
 * `allowCpuFallback`, loads node-llama-cpp's CPU binary with a warning and disposes it with the engine.
 * Its own file, because it creates this process's one Llama instance. Skipped where CUDA exists.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { getLlamaGpuTypes } from "node-llama-cpp";
import { createLlamaEngine } from "../../src/inference/createLlamaEngine.js";
import { testModelPath } from "../fixtures/testModels.js";
import { recordingLogger, user } from "./helpers.js";

test("gpu: cuda + allowCpuFallback on a machine without CUDA → warning, CPU, working engine", { timeout: 120_000 }, async (t) => {
  if ((await getLlamaGpuTypes("supported")).includes("cuda")) return t.skip("this machine has CUDA");
  const logger = recordingLogger();
  const engine = await createLlamaEngine({
    modelPath: await testModelPath({ flavor: "chatglm3", reply: "你好 😀" }),
    gpu: "cuda",
    allowCpuFallback: true,
    threads: 1,
    sequences: 1,
    contextSize: 256,
    defaults: { temperature: 0 },
    logger,
  });
  try {
    const warning = logger.lines.find((l) => l.level === "warn" && /falling back to the CPU/.test(l.msg));
    assert.ok(warning, JSON.stringify(logger.lines));
    assert.equal((warning!.obj as { requestedGpu?: string }).requestedGpu, "cuda");
    assert.equal(engine.runtime.gpu, false);
    assert.equal((await engine.generate([user("hi")], { maxTokens: 16 })).text, "你好 😀");
  } finally {
    await engine.dispose();
  }
});

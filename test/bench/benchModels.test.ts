/**
 * The bench's model generator and helpers, without timing anything (benchmarks live in bench/, run with
 * `npm run bench`): Q4_0 blocks decode to the values they encode; real-scale random models
 * ({@link writeLargeRandomModel}, here at a tiny width) load in llama.cpp with every matrix type, never stop
 * under greedy decoding and emit only plain-text filler tokens; the statistics helpers.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { getLlama, LlamaLogLevel, readGgufFileInfo, type Llama, type Token } from "node-llama-cpp";
import { float16BitsToFloat32, GgmlType, quantizeQ4_0 } from "../fixtures/gguf/GgufWriter.js";
import { chatGlm3FillerTokenIds, writeLargeRandomModel } from "../fixtures/testModels.js";
import { ChatGlm3ChatWrapper } from "../../src/inference/ChatGlm3ChatWrapper.js";
import { aggregateRate, decodeRate, medianIntervalRate, percentile, summarize } from "../../bench/stats.js";

describe("quantizeQ4_0", () => {
  test("stores d = max/−8 and nibbles q with value (q − 8)·d, as ggml's reference (error ≤ d; ≤ d/2 short of the clamp at q = 15)", () => {
    const values = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i * 0.7) * (i < 32 ? 1 : 0.01));
    const out = quantizeQ4_0(values);
    assert.equal(out.length, 2 * 18);
    for (let b = 0; b < 2; b++) {
      const d = float16BitsToFloat32(out.readUInt16LE(b * 18));
      for (let j = 0; j < 32; j++) {
        const byte = out[b * 18 + 2 + (j % 16)];
        const q = j < 16 ? byte & 0x0f : byte >> 4;
        const x = values[b * 32 + j];
        const bound = q === 15 ? Math.abs(d) : Math.abs(d) / 2;
        assert.ok(Math.abs((q - 8) * d - x) <= bound * 1.01 + 1e-7, `block ${b} value ${j}`);
      }
    }
  });
});

describe("writeLargeRandomModel", () => {
  let llama: Llama;
  let dir: string;
  before(async () => {
    llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.warn });
    dir = await mkdtemp(join(tmpdir(), "bench-model-"));
  });
  after(async () => {
    await llama?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  const fillers = chatGlm3FillerTokenIds();

  test("the filler tokens are plain text: no control, byte or stop token among them", () => {
    assert.ok(fillers.size > 64_000);
    for (const id of [0, 1, 2, 3 + 0x0a, 64790, 64792, 64795, 64796, 64797]) assert.ok(!fillers.has(id), String(id));
  });

  for (const [name, type] of [["Q8_0", GgmlType.Q8_0], ["Q4_0", GgmlType.Q4_0], ["F16", GgmlType.F16]] as const) {
    test(`${name}: loads with the ChatGLM3 vocabulary and decodes greedily without ever stopping`, async () => {
      const path = join(dir, `${name}.gguf`);
      const dims = { nEmbd: 128, nLayer: 2, nHead: 4, nHeadKv: 2, nFf: 96 };
      const size = await writeLargeRandomModel(path, { dims, matrixType: type, seed: 3 });
      const info = await readGgufFileInfo(path);
      const md = info.metadata as unknown as { chatglm: { embedding_length: number; rope: { dimension_count: number } }; tokenizer: { ggml: { tokens: string[] } } };
      assert.equal(md.chatglm.embedding_length, 128);
      assert.equal(md.chatglm.rope.dimension_count, 16);
      assert.equal(md.tokenizer.ggml.tokens.length, 65024);
      assert.equal(info.tensorInfo?.find((t) => t.name === "blk.0.ffn_up.weight")?.ggmlType, type);

      const model = await llama.loadModel({ modelPath: path });
      try {
        assert.ok(size > 65024 * 128);
        const context = await model.createContext({ contextSize: 256, threads: 1 });
        const prompt = new ChatGlm3ChatWrapper().tokenizeTurns(model.tokenizer, [{ role: "user", content: "Hello" }]);
        const out: Token[] = [];
        for await (const token of context.getSequence().evaluate(prompt, { temperature: 0, yieldEogToken: true })) {
          out.push(token);
          if (out.length >= 48) break;
        }
        await context.dispose();
        assert.equal(out.length, 48);
        for (const t of out) {
          assert.ok(fillers.has(t), `token ${t} is not a filler token`);
          assert.equal(model.isEogToken(t), false);
        }
        assert.match(model.detokenize(out), /^[\uE000-\uF8FF]+$/u);
      } finally {
        await model.dispose();
      }
    });
  }
});

describe("bench statistics", () => {
  test("summaries, percentiles and rates", () => {
    assert.deepEqual(summarize([3, 1, 2]), { median: 2, min: 1, max: 3, runs: [3, 1, 2] });
    assert.equal(summarize([4, 1, 2, 3]).median, 2.5);
    assert.ok(Number.isNaN(summarize([]).median));
    const ms = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile(ms, 50), 50);
    assert.equal(percentile(ms, 99), 99);
    assert.equal(percentile(ms, 100), 100);
    assert.equal(decodeRate([0, 100, 200, 300]), 10);
    assert.equal(medianIntervalRate([0, 100, 200, 1300]), 10);
    // two streams over 0…400 ms: (3 + 2) tokens after their first in 0.4 s
    assert.equal(aggregateRate([[0, 100, 200, 300], [200, 300, 400]]), 12.5);
  });
});

/**
 * Proves the generated test models with the real llama.cpp (node-llama-cpp's low-level API, CPU only):
 * they load, carry the real special tokens, tokenize the official reference prompts to the official ids
 * (`realIds`), scripted models answer exactly "\n" + reply then the chosen end token, and broken files
 * fail to load. Also round-trips the GGUF writer through node-llama-cpp's own GGUF parser.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { getLlama, LlamaLogLevel, readGgufFileInfo, type Llama, type LlamaModel, type Token } from "node-llama-cpp";
import {
  float16BitsToFloat32,
  float32ToFloat16Bits,
  GgmlType,
  GgufValueType,
  GgufWriter,
} from "../fixtures/gguf/GgufWriter.js";
import { scriptedReplyPieces, testModelPath, writeTestModel, type Flavor, type TestModelOptions } from "../fixtures/testModels.js";

const FLAVORS: readonly Flavor[] = ["chatglm3", "glm4"];

/** The official single-turn prompts for user "你好" and their official token ids. */
const REFERENCE: Record<Flavor, { prompt: string; ids: number[] }> = {
  chatglm3: { prompt: "[gMASK]sop<|user|>\n 你好<|assistant|>", ids: [64790, 64792, 64795, 30910, 13, 36474, 54591, 64796] },
  glm4: { prompt: "[gMASK]<sop><|user|>\n你好<|assistant|>", ids: [151331, 151333, 151336, 198, 109377, 151337] },
};
const EOS_TEXT: Record<Flavor, string> = { chatglm3: "<eos>", glm4: "<|endoftext|>" };
const SPECIALS: Record<Flavor, string[]> = {
  chatglm3: ["[gMASK]", "sop", "<|system|>", "<|user|>", "<|assistant|>", "<|observation|>"],
  glm4: ["[gMASK]", "<sop>", "<|system|>", "<|user|>", "<|assistant|>", "<|observation|>"],
};

let llama: Llama;
const logs: string[] = [];

before(async () => {
  llama = await getLlama({
    gpu: false,
    build: "never",
    logLevel: LlamaLogLevel.warn,
    logger: (level, message) => logs.push(`[${level}] ${message.trim()}`),
  });
});
after(async () => {
  await llama?.dispose();
});

async function withModel<T>(options: TestModelOptions, fn: (model: LlamaModel, path: string) => Promise<T>): Promise<T> {
  const path = await testModelPath(options);
  const model = await llama.loadModel({ modelPath: path });
  try {
    return await fn(model, path);
  } finally {
    await model.dispose();
  }
}

async function tokenTexts(path: string): Promise<string[]> {
  const info = await readGgufFileInfo(path);
  return (info.metadata as unknown as { tokenizer: { ggml: { tokens: string[] } } }).tokenizer.ggml.tokens;
}

/** Greedy generation until one of `stopIds` (included) or `max` tokens. */
async function generate(model: LlamaModel, prompt: string, stopIds: readonly Token[], max = 64): Promise<Token[]> {
  const context = await model.createContext({ contextSize: 256, threads: 1, sequences: 1 });
  try {
    const out: Token[] = [];
    for await (const token of context.getSequence().evaluate(model.tokenize(prompt, true), { temperature: 0, yieldEogToken: true })) {
      out.push(token);
      if (stopIds.includes(token) || out.length >= max) break;
    }
    return out;
  } finally {
    await context.dispose();
  }
}

describe("GgufWriter", () => {
  test("round-trips every metadata type and F32/F16/Q8_0 tensors through node-llama-cpp's GGUF reader", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gguf-"));
    try {
      const path = join(dir, "t.gguf");
      const w = new GgufWriter()
        .setString("general.architecture", "llama")
        .set("t.u8", GgufValueType.UINT8, 200).set("t.i8", GgufValueType.INT8, -5)
        .set("t.u16", GgufValueType.UINT16, 65000).set("t.i16", GgufValueType.INT16, -300)
        .setUint32("t.u32", 4_000_000_000).setInt32("t.i32", -7).setFloat32("t.f32", 1.5).setBool("t.b", true)
        .setUint64("t.u64", 2n ** 40n).set("t.i64", GgufValueType.INT64, -(2n ** 40n)).set("t.f64", GgufValueType.FLOAT64, Math.PI)
        .setStringArray("t.sa", ["a", "你好🤖", ""]).setFloat32Array("t.fa", [0.5, -1]).setInt32Array("t.ia", [1, -2, 3]);
      w.addTensor({ name: "a", shape: [3], type: GgmlType.F32, data: new Float32Array([1, 2, 3]) });
      w.addTensor({ name: "b", shape: [64, 3], type: GgmlType.Q8_0, data: (out, first) => out.forEach((_, i) => (out[i] = i + first)) });
      w.addTensor({ name: "c", shape: [5, 2], type: GgmlType.F16, data: new Float32Array(10).fill(0.25) });
      const size = await w.write(path, 64);

      assert.equal((await stat(path)).size, size);
      const info = await readGgufFileInfo(path);
      assert.equal(info.version, 3);
      assert.deepEqual((info.metadata as unknown as Record<string, unknown>).t, {
        u8: 200, i8: -5, u16: 65000, i16: -300, u32: 4_000_000_000, i32: -7, f32: 1.5, b: true,
        u64: 2n ** 40n, i64: -(2n ** 40n), f64: Math.PI, sa: ["a", "你好🤖", ""], fa: [0.5, -1], ia: [1, -2, 3],
      });
      assert.deepEqual(info.tensorInfo?.map((t) => [t.name, t.dimensions.map(Number), t.ggmlType, Number(t.offset)]), [
        ["a", [3], 0, 0],
        ["b", [64, 3], 8, 32],
        ["c", [5, 2], 1, 256], // 32 + 3 rows × 2 blocks × 34 bytes = 236 → aligned to 256
      ]);
      assert.equal(Number(info.tensorInfo![0].fileOffset) % 32, 0);
      assert.equal(size, Number(info.tensorInfo![2].fileOffset) + 32);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("float16 conversion rounds to nearest even and keeps subnormals, infinities and NaN", () => {
    for (const x of [0, 1, -2, 0.25, 65504, 2 ** -24, 2 ** -14, 0.1, 1 / 3]) {
      assert.ok(Math.abs(float16BitsToFloat32(float32ToFloat16Bits(x)) - x) <= Math.abs(x) * 2 ** -11, String(x));
    }
    assert.equal(float32ToFloat16Bits(1), 0x3c00);
    assert.equal(float32ToFloat16Bits(1 + 2 ** -11), 0x3c00); // tie → even
    assert.equal(float32ToFloat16Bits(1 + 3 * 2 ** -11), 0x3c02);
    assert.equal(float32ToFloat16Bits(70000), 0x7c00);
    assert.equal(float32ToFloat16Bits(-Infinity), 0xfc00);
    assert.ok(Number.isNaN(float16BitsToFloat32(float32ToFloat16Bits(NaN))));
  });
});

for (const flavor of FLAVORS) {
  describe(`tiny ${flavor} model`, () => {
    test("is under 1 MB and carries the converter's metadata", async () => {
      const path = await testModelPath({ flavor });
      assert.equal(await testModelPath({ flavor }), path, "cached by options");
      const { size } = await stat(path);
      assert.ok(size < 1024 * 1024, `${size} bytes`);
      const info = await readGgufFileInfo(path);
      const md = info.metadata as unknown as Record<string, any>;
      assert.equal(md.general.architecture, "chatglm");
      assert.equal(md.chatglm.block_count, 2);
      assert.equal(md.chatglm.rope.dimension_count * 2, md.chatglm.embedding_length / md.chatglm.attention.head_count);
      assert.equal(md.tokenizer.ggml.model, flavor === "chatglm3" ? "llama" : "gpt2");
      assert.equal(md.tokenizer.ggml.pre, flavor === "chatglm3" ? "chatglm-spm" : "chatglm-bpe");
      assert.equal(md.tokenizer.ggml.add_bos_token, false);
      assert.equal(md.tokenizer.ggml.tokens[md.tokenizer.ggml.eos_token_id], EOS_TEXT[flavor]);
      assert.ok(md.tokenizer.chat_template.includes(flavor === "chatglm3" ? "[gMASK]sop<|{{ message['role'] }}|>" : "[gMASK]<sop>"));
      assert.equal(md.chatglm.context_length, 8192);
      const custom = await readGgufFileInfo(await testModelPath({ flavor, contextLength: 4096, name: "custom" }));
      assert.equal((custom.metadata as any).chatglm.context_length, 4096);
      assert.equal((custom.metadata as any).general.name, "custom");
      const noTemplate = await readGgufFileInfo(await testModelPath({ flavor, chatTemplate: false }));
      assert.equal((noTemplate.metadata as any).tokenizer.chat_template, undefined);
    });

    test("loads in llama.cpp with the special tokens as CONTROL tokens at their ids", async () => {
      await withModel({ flavor }, async (model, path) => {
        const texts = await tokenTexts(path);
        assert.equal(model.tokens.eos, texts.indexOf(EOS_TEXT[flavor]));
        assert.equal(model.tokens.bos, flavor === "chatglm3" ? 1 : null);
        assert.equal(model.tokens.nl, texts.indexOf(flavor === "chatglm3" ? "<0x0A>" : "Ċ"));
        for (const special of SPECIALS[flavor]) {
          const ids = model.tokenize(special, true);
          assert.deepEqual(ids, [texts.indexOf(special)], special);
          assert.ok(model.isSpecialToken(ids[0]), special);
          assert.equal(model.detokenize(ids, true), special);
          assert.equal(model.detokenize(ids, false), "");
        }
        assert.ok(model.tokenize("<|user|>", false).length > 1, "plain text <|user|> is not the special token");
        const user = texts.indexOf("<|user|>") as Token;
        const observation = texts.indexOf("<|observation|>") as Token;
        assert.equal(model.isEogToken(model.tokens.eos!), true);
        assert.equal(model.isEogToken(user), flavor === "glm4", "GLM-4 GGUFs mark <|user|> as EOT");
        assert.equal(model.isEogToken(observation), false);
      });
    });

    test("tokenizes any text (CJK, emoji) into pieces or bytes and back", async () => {
      await withModel({ flavor }, async (model, path) => {
        const texts = await tokenTexts(path);
        for (const text of ["你好", "Hello world, 我是 glmbot 🤖!", "ünïcödé\ttabs\n\nnewlines", "😀👍🏽 家"]) {
          assert.equal(model.detokenize(model.tokenize(text)), text, text);
        }
        const pieces = model.tokenize("你好").map((id) => texts[id]);
        // SentencePiece adds the dummy-prefix "▁"; GLM-4's BPE merges the word into one token
        assert.deepEqual(pieces, flavor === "chatglm3" ? ["▁你", "好"] : ["ä½łå¥½"]);
      });
    });

    test("random weights generate tokens", async () => {
      await withModel({ flavor, seed: 3 }, async (model) => {
        const out = await generate(model, REFERENCE[flavor].prompt.replace("你好", "Hello"), [], 8);
        assert.equal(out.length, 8);
      });
    });
  });
}

describe("scripted models", () => {
  const cases: Array<{ reply: string; endWith: NonNullable<TestModelOptions["endWith"]> }> = [
    { reply: "Hello from glmbot.", endWith: "eos" },
    { reply: "你好！我是 glmbot 🤖", endWith: "user" },
    { reply: "Tool call result? 好的, done 👍🏽 — ok ok ok", endWith: "observation" },
    { reply: "", endWith: "eos" },
  ];
  for (const flavor of FLAVORS) {
    for (const { reply, endWith } of cases) {
      test(`${flavor}: greedy output is exactly "\\n" + ${JSON.stringify(reply)} then ${endWith}`, async () => {
        await withModel({ flavor, reply, endWith }, async (model, path) => {
          const texts = await tokenTexts(path);
          const end = texts.indexOf({ eos: EOS_TEXT[flavor], user: "<|user|>", observation: "<|observation|>", none: "" }[endWith]) as Token;
          const out = await generate(model, REFERENCE[flavor].prompt, [end]);
          assert.equal(out.at(-1), end);
          assert.equal(out[0], model.tokens.nl);
          assert.equal(model.detokenize(out.slice(0, -1)), `\n${reply}`);
          assert.equal(out.length, 2 + scriptedReplyPieces(flavor, reply).length);
        });
      });
    }

    test(`${flavor}: endWith "none" keeps emitting a filler piece`, async () => {
      const reply = "Streaming, never ending";
      await withModel({ flavor, reply, endWith: "none" }, async (model) => {
        const out = await generate(model, REFERENCE[flavor].prompt, [], 24);
        const n = 1 + scriptedReplyPieces(flavor, reply).length;
        assert.equal(out.length, 24);
        assert.equal(model.detokenize(out.slice(0, n)), `\n${reply}`);
        const filler = out[n];
        assert.ok(out.slice(n).every((t) => t === filler && !model.isEogToken(t)));
        assert.ok(model.detokenize(out).startsWith(`\n${reply}`));
      });
    });

    test(`${flavor}: a prompt that does not end with <|assistant|> ends at once`, async () => {
      await withModel({ flavor, reply: "Hi" }, async (model) => {
        const out = await generate(model, REFERENCE[flavor].prompt.replace(/<\|assistant\|>$/u, ""), [model.tokens.eos!]);
        assert.deepEqual(out, [model.tokens.eos]);
      });
    });
  }

  test("reply pieces are distinct and concatenate to the reply", () => {
    for (const flavor of FLAVORS) {
      for (const reply of ["ok ok ok", "a\nb\n", "<|user|> says sop", "你好你好你好"]) {
        const pieces = scriptedReplyPieces(flavor, reply);
        assert.equal(pieces.join(""), reply);
        assert.equal(new Set(pieces).size, pieces.length);
        assert.ok(!pieces.includes("\n"));
      }
    }
  });
});

describe("realIds models", () => {
  for (const flavor of FLAVORS) {
    test(`${flavor}: the official prompt tokenizes to the official ids`, async () => {
      await withModel({ flavor, realIds: true }, async (model, path) => {
        const { size } = await stat(path);
        const texts = await tokenTexts(path);
        assert.equal(texts.length, flavor === "chatglm3" ? 65024 : 151552);
        assert.ok(size < 12 * 1024 * 1024, `${size} bytes`);
        assert.deepEqual(model.tokenize(REFERENCE[flavor].prompt, true), REFERENCE[flavor].ids);
        // the official build_chat_input encodes "\n" and the content separately; plain tokenize() of each
        // piece (SentencePiece dummy prefix included) gives the same ids
        const [gMask, sop, user] = REFERENCE[flavor].ids;
        const assistant = REFERENCE[flavor].ids.at(-1)!;
        assert.deepEqual([gMask, sop, user, ...model.tokenize("\n"), ...model.tokenize("你好"), assistant], REFERENCE[flavor].ids);
        assert.equal(model.tokens.eos, flavor === "chatglm3" ? 2 : 151329);
        if (flavor === "glm4") assert.equal(model.tokens.eot, 151336);
        assert.equal(model.tokens.nl, flavor === "chatglm3" ? 13 : 198);
      });
    });

    test(`${flavor}: scripted with real ids answers exactly`, async () => {
      const reply = "你好！我是 glmbot 🤖";
      await withModel({ flavor, realIds: true, reply, endWith: "user" }, async (model) => {
        const user = (flavor === "chatglm3" ? 64795 : 151336) as Token;
        const out = await generate(model, REFERENCE[flavor].prompt, [user]);
        assert.equal(out.at(-1), user);
        assert.equal(model.detokenize(out.slice(0, -1)), `\n${reply}`);
      });
    });
  }
});

describe("broken models fail to load", () => {
  const variants = ["missing_metadata", "missing_tensor", "wrong_shape", "arch_chatglm2"] as const;
  for (const flavor of FLAVORS) {
    for (const broken of variants) {
      test(`${flavor}: ${broken}`, async (t) => {
        const path = await testModelPath({ flavor, broken });
        logs.length = 0;
        await assert.rejects(llama.loadModel({ modelPath: path }));
        await new Promise((r) => setTimeout(r, 50)); // llama.cpp log lines arrive asynchronously
        for (const line of new Set(logs.filter((l) => l.startsWith("[error]")))) t.diagnostic(line);
      });
    }
  }

  test("writeTestModel writes to an explicit path", async () => {
    const dir = await mkdtemp(join(tmpdir(), "glm-"));
    try {
      const path = join(dir, "m.gguf");
      assert.equal(await writeTestModel(path, { flavor: "glm4", broken: "arch_chatglm2", name: "x" }), path);
      const info = await readGgufFileInfo(path);
      assert.equal((info.metadata as any).general.architecture, "chatglm2");
      assert.equal((info.metadata as any).general.name, "x");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

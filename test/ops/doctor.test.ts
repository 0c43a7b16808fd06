/**
 * `glmbot doctor`: as a child process on this machine (no GPU) with a generated model, a broken configuration
 * and missing credentials; in-process on simulated rigs (the seed's 2 × 8 GB cards, one 6 GB card).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { runDoctor } from "../../src/ops/doctor/doctor.js";
import type { HardwareFacts } from "../../src/ops/doctor/hardware.js";
import { haveRedis, startRedis } from "../core/redisServer.js";
import { BIN, ROOT, waitExit } from "../e2e/serviceProcess.js";
import { testModelPath } from "../fixtures/testModels.js";
import { sharedLlama } from "../inference/helpers.js";

const GB = 1e9;

async function doctor(env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [BIN, "doctor"], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", GLMBOT_GPU: "false", GLMBOT_THREADS: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  return { code: await waitExit(child, 120_000), out };
}

const line = (out: string, start: RegExp) => out.split("\n").find((l) => start.test(l)) ?? "";

describe("glmbot doctor on this machine", () => {
  let model: string;
  let dir: string;
  before(async () => {
    model = await testModelPath({ flavor: "chatglm3", reply: "ok" });
    dir = mkdtempSync(path.join(tmpdir(), "glmbot-doctor-"));
  });

  test("a valid config and a generated model: the table, the checks, exit 0", async () => {
    const { code, out } = await doctor({ GLMBOT_MODEL: model, GLMBOT_PORT: "0", GLMBOT_DATA_DIR: path.join(dir, "data"), GLMBOT_MODELS_DIR: path.join(dir, "models") });
    assert.equal(code, 0, out);
    assert.match(out, /backends found: none \(CPU only\)/);
    assert.match(out, /in use \(model\.gpu = false\): CPU/);
    assert.match(out, new RegExp(`file: ${model.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\(`));
    assert.match(out, /context: 2048 tokens × 4 sequences \(estimate from the file's GGUF header\)/);
    assert.match(out, /Presets at 2048 tokens × 4 sequences/);
    for (const [name, file] of [["chatglm3-6b:Q4_K_M", "4.14 GB"], ["chatglm3-6b:Q8_0", "6.64 GB"], ["chatglm3-6b:F16", "12.50 GB"], ["glm4-9b:Q4_K_M", "6.25 GB"], ["glm4-9b:Q8_0", "9.99 GB"]])
      assert.match(line(out, new RegExp(`^  ${name} `)), new RegExp(`${file}.*no GPU \\(CPU only\\)$`), name);
    for (const name of ["configuration", "webhook", "discord", "slack", "port", "data directory", "memory", "model file", "gpu"]) assert.match(out, new RegExp(`\\n  ok    ${name} `), name);
    assert.match(out, /ok    model file .*chatglm3 prompt format/);
    assert.match(out, /Result: ready to start\./);
  });

  test("a broken configuration: still the table, then the error, exit 1", async () => {
    const { code, out } = await doctor({ GLMBOT_PORT: "not-a-port", GLMBOT_MODELS_DIR: path.join(dir, "models") });
    assert.equal(code, 1, out);
    assert.match(out, /The configuration is invalid/);
    assert.match(out, /Presets at 2048 tokens × 4 sequences/);
    assert.match(out, /fail  configuration .*server\.port \(from GLMBOT_PORT\): expected integer 0–65535, got "not-a-port"/);
    assert.match(out, /Result: 1 problem blocks start-up/);
  });

  test("missing credentials, a busy port and an unreachable Redis block start-up; secrets are not printed", async () => {
    const busy: Server = createServer();
    await new Promise<void>((r) => busy.listen(0, "127.0.0.1", r));
    const port = (busy.address() as { port: number }).port;
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const redisPort = (closed.address() as { port: number }).port;
    await new Promise((r) => closed.close(r));
    const slackToken = "xoxb-1111-2222-doctor-secret-value";
    try {
      const { code, out } = await doctor({
        GLMBOT_MODEL: model,
        GLMBOT_HOST: "0.0.0.0",
        GLMBOT_PORT: String(port),
        GLMBOT_DATA_DIR: path.join(dir, "data"),
        GLMBOT_MEMORY_URL: `redis://127.0.0.1:${redisPort}`,
        SLACK_BOT_TOKEN: slackToken,
        DISCORD_TOKEN: "not-a-discord-token",
      });
      assert.equal(code, 1, out);
      assert.match(out, /fail  webhook .*refusing to listen on 0\.0\.0\.0 without authentication/);
      assert.match(out, /fail  slack .*SLACK_SIGNING_SECRET: expected the app's signing secret for HTTP mode/);
      assert.match(out, /warn  discord .*does not look like a bot token/);
      assert.match(out, new RegExp(`fail  port .*0\\.0\\.0\\.0:${port} is in use`));
      assert.match(out, new RegExp(`fail  memory .*Redis redis://127\\.0\\.0\\.1:${redisPort} does not answer`));
      assert.match(out, /Result: 4 problems block start-up/);
      assert.ok(!out.includes(slackToken) && !out.includes("not-a-discord-token"), "credential values never printed");
    } finally {
      await new Promise((r) => busy.close(r));
    }
  });

  test("a configured Redis that answers passes", { skip: !haveRedis && "redis-server is not installed" }, async () => {
    const redis = await startRedis();
    try {
      const { code, out } = await doctor({ GLMBOT_MODEL: model, GLMBOT_PORT: "0", GLMBOT_DATA_DIR: path.join(dir, "data"), GLMBOT_MEMORY_URL: redis.url });
      assert.equal(code, 0, out);
      assert.match(out, /ok    memory .*Redis redis:\/\/127\.0\.0\.1:\d+ answers/);
    } finally {
      await redis.stop();
    }
  });
});

describe("glmbot doctor on simulated rigs", () => {
  const rig = (devices: number[], free = 0.95): HardwareFacts => ({
    backendsFound: ["cuda", "vulkan"],
    backend: "cuda",
    devices: devices.map((gb, i) => ({ name: `NVIDIA GeForce RTX 3070 #${i}`, totalBytes: gb * GB, freeBytes: gb * GB * free })),
    vram: { totalBytes: devices.reduce((a, b) => a + b, 0) * GB, freeBytes: devices.reduce((a, b) => a + b, 0) * GB * free },
    vramPaddingBytes: 0.5 * GB,
    ram: { totalBytes: 32 * GB, freeBytes: 24 * GB },
    cudaVisibleDevices: devices.length > 1 ? "0,1" : undefined,
  });

  async function simulate(facts: HardwareFacts, env: Record<string, string> = {}) {
    const llama = await sharedLlama();
    const dir = mkdtempSync(path.join(tmpdir(), "glmbot-rig-"));
    const out: string[] = [];
    const result = await runDoctor({
      env: { GLMBOT_GPU: "cuda", GLMBOT_PORT: "0", GLMBOT_DATA_DIR: path.join(dir, "data"), GLMBOT_MODELS_DIR: path.join(dir, "models"), ...env },
      out: { write: (t: string) => out.push(t) },
      probe: async () => ({ facts, llama, keepLlama: true }),
    });
    return { ...result, out: out.join("") };
  }

  test("the seed's rig, 2 × 8 GB: every preset fits, layers are split across both cards", async () => {
    const { out, exitCode } = await simulate(rig([8, 8]));
    assert.equal(exitCode, 0, out);
    assert.match(out, /GPU 0: NVIDIA GeForce RTX 3070 #0 — 8\.00 GB total, 7\.60 GB free/);
    assert.match(out, /GPU 1: NVIDIA GeForce RTX 3070 #1 — 8\.00 GB total, 7\.60 GB free/);
    assert.match(out, /2 GPUs: llama\.cpp splits the model's layers across all visible GPUs/);
    assert.match(out, /CUDA_VISIBLE_DEVICES selects the GPUs glmbot sees, e\.g\. CUDA_VISIBLE_DEVICES=0,1 \(now: "0,1"\)/);
    assert.match(out, /file: .*hf_mradermacher_chatglm3-6b\.Q4_K_M\.gguf — not downloaded \(4\.14 GB\)/);
    assert.match(out, /on this machine: fits fully on the GPUs/);
    for (const name of ["chatglm3-6b:Q4_K_M", "chatglm3-6b:Q8_0", "chatglm3-6b:F16", "glm4-9b:Q4_K_M", "glm4-9b:Q8_0"]) assert.match(line(out, new RegExp(`^  ${name} `)), /  fits$/, name);
  });

  test("one 6 GB card: INT4 fits, bigger files fit partly, with the layer count", async () => {
    const { out } = await simulate(rig([6]), { GLMBOT_MODEL: "chatglm3-6b:F16" });
    assert.match(line(out, /^  chatglm3-6b:Q4_K_M /), /  fits$/);
    for (const name of ["chatglm3-6b:Q8_0", "chatglm3-6b:F16", "glm4-9b:Q4_K_M", "glm4-9b:Q8_0"]) assert.match(line(out, new RegExp(`^  ${name} `)), /partly \(\d+\/(29|41) layers\)$/, name);
    assert.match(out, /on this machine: partly — \d+ of 29 layers fit/);
    assert.match(out, /warn  gpu .*only \d+\/29 layers fit in VRAM/);
    assert.doesNotMatch(out, /2 GPUs/);
  });

  test("an explicit backend that cannot be used blocks start-up unless CPU fallback is allowed", async () => {
    const cpu: HardwareFacts = { ...rig([]), backend: false, devices: [], vram: undefined, backendsFound: [], backendProblem: "model.gpu is 'cuda' but node-llama-cpp selected the CPU" };
    const refused = await simulate(cpu);
    assert.equal(refused.exitCode, 1);
    assert.match(refused.out, /fail  gpu .*serve refuses to start/);
    const config = path.join(mkdtempSync(path.join(tmpdir(), "glmbot-cfg-")), "c.yaml");
    (await import("node:fs")).writeFileSync(config, "model:\n  allowCpuFallback: true\n");
    const allowed = await simulate(cpu, { GLMBOT_CONFIG: config });
    assert.equal(allowed.exitCode, 0, allowed.out);
    assert.match(allowed.out, /warn  gpu .*no usable GPU/);
  });
});

after(async () => {
  await (await sharedLlama()).dispose();
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULTS_FILE, loadConfig, redactConfig, resolveThreads } from "../../src/config.js";
import { isGlmbotError } from "../../src/core/errors.js";

const dir = mkdtempSync(join(tmpdir(), "glmbot-config-"));
test.after(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function yamlFile(text: string): string {
  const file = join(dir, `c${n++}.yaml`);
  writeFileSync(file, text);
  return file;
}

/** The message of the config_invalid error thrown by `fn`. */
function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(isGlmbotError(err, "config_invalid"), `expected config_invalid, got ${String(err)}`);
    return err.message;
  }
  assert.fail("expected loadConfig to throw");
}

test("defaults load and validate", () => {
  const c = loadConfig({ env: {} });
  assert.equal(c.model.source, "hf:mradermacher/chatglm3-6b-GGUF/chatglm3-6b.Q4_K_M.gguf");
  assert.equal(c.model.modelsDir, "models");
  assert.equal(c.model.chatFormat, "auto");
  assert.equal(c.model.gpu, "auto");
  assert.equal(c.model.allowCpuFallback, false);
  assert.equal(c.model.gpuLayers, "auto");
  assert.equal(c.model.contextSize, 2048);
  assert.equal(c.model.sequences, 4);
  assert.equal(c.model.threads, 0);
  assert.deepEqual(
    { maxTokens: c.generation.maxTokens, temperature: c.generation.temperature, topP: c.generation.topP, seed: c.generation.seed },
    { maxTokens: 512, temperature: 0.8, topP: 0.8, seed: null },
  );
  assert.deepEqual(c.queue, { maxPending: 64, maxPendingPerUser: 3, deadlineMs: 120_000 });
  assert.equal(c.memory.url, "");
  assert.equal(c.dataDir, "data");
  assert.deepEqual(c.server, { host: "127.0.0.1", port: 8080, bodyLimit: 65_536 });
  assert.equal(c.webhook.enabled, true);
  assert.deepEqual(c.webhook.clients, []);
  assert.deepEqual(c.webhook.callbackAllowedPrefixes, []);
  assert.equal(c.webhook.idempotencyTtlMs, 600_000);
  assert.equal(c.shutdown.graceMs, 10_000);
  assert.equal(c.log.level, "info");
});

test("every key in default.yaml is preceded by a comment", () => {
  const lines = readFileSync(DEFAULTS_FILE, "utf8").split("\n");
  lines.forEach((line, i) => {
    if (!/^\s*[A-Za-z]\w*:\s*\S/.test(line) || line.trimStart().startsWith("#")) return;
    assert.match(lines[i - 1] ?? "", /^\s*#/, `key without a comment at line ${i + 1}: ${line.trim()}`);
  });
});

test("a user file merges over the defaults", () => {
  const file = yamlFile("model:\n  contextSize: 4096\nwebhook:\n  callbackAllowedPrefixes: ['https://hooks.example.com/']\n");
  const c = loadConfig({ file, env: {} });
  assert.equal(c.model.contextSize, 4096);
  assert.equal(c.model.sequences, 4);
  assert.deepEqual(c.webhook.callbackAllowedPrefixes, ["https://hooks.example.com/"]);
  assert.equal(loadConfig({ env: { GLMBOT_CONFIG: file } }).model.contextSize, 4096);
});

test("an unknown key is named", () => {
  const msg = failure(() => loadConfig({ file: yamlFile("model:\n  gpuu: cuda\n"), env: {} }));
  assert.equal(msg, "config: model.gpuu: unknown key");
  assert.match(failure(() => loadConfig({ file: yamlFile("serverr: {}\n"), env: {} })), /^config: serverr: unknown key$/);
});

test("a bad value is named with what was expected", () => {
  assert.equal(
    failure(() => loadConfig({ env: { GLMBOT_PORT: "abc" } })),
    'config: server.port (from GLMBOT_PORT): expected integer 0–65535, got "abc"',
  );
  assert.match(failure(() => loadConfig({ file: yamlFile("server:\n  port: 70000\n"), env: {} })), /^config: server\.port: expected integer 0–65535, got 70000$/);
  assert.match(failure(() => loadConfig({ file: yamlFile("model:\n  gpu: rocm\n"), env: {} })), /model\.gpu: expected one of auto\|cuda\|vulkan\|metal\|false, got "rocm"/);
  assert.match(failure(() => loadConfig({ file: yamlFile("model:\n  gpuLayers: -1\n"), env: {} })), /model\.gpuLayers: expected "auto" or integer 0–1000, got -1/);
  assert.match(failure(() => loadConfig({ file: yamlFile("generation:\n  temperature: hot\n"), env: {} })), /generation\.temperature: expected number 0–2, got "hot"/);
  assert.match(failure(() => loadConfig({ file: yamlFile("memory:\n  url: mysql://u:pw@db/x\n"), env: {} })), /memory\.url: expected .*got "mysql:\/\/\*\*\*@db\/x"/);
  assert.match(failure(() => loadConfig({ file: yamlFile("webhook:\n  callbackAllowedPrefixes: ['https://a.example.com']\n"), env: {} })), /webhook\.callbackAllowedPrefixes\[0\]: expected an http\(s\) URL prefix/);
  assert.match(failure(() => loadConfig({ file: yamlFile("model: [1\n"), env: {} })), /: invalid YAML: .*line 2/);
  // Several problems: one error, one line each.
  const many = failure(() => loadConfig({ file: yamlFile("model:\n  sequences: 0\nlog:\n  level: loud\n"), env: {} }));
  assert.equal(many.split("\n").length, 2);
});

test("environment overrides are applied", () => {
  const c = loadConfig({
    env: {
      GLMBOT_MODEL: "/models/glm-4-9b-chat.Q4_K_M.gguf",
      GLMBOT_HOST: "0.0.0.0",
      GLMBOT_PORT: "9090",
      GLMBOT_DATA_DIR: "/var/lib/glmbot",
      GLMBOT_MEMORY_URL: "redis://:pw@redis:6379/0",
      GLMBOT_CONTEXT_SIZE: "8192",
      GLMBOT_THREADS: "6",
      GLMBOT_GPU: "false",
      GLMBOT_WEBHOOK_TOKEN: "env-token-0123456789abcdef",
      GLMBOT_WEBHOOK_SECRET: "env-secret-0123456789abcdef",
    },
  });
  assert.equal(c.model.source, "/models/glm-4-9b-chat.Q4_K_M.gguf");
  assert.equal(c.server.host, "0.0.0.0");
  assert.equal(c.server.port, 9090);
  assert.equal(c.dataDir, "/var/lib/glmbot");
  assert.equal(c.memory.url, "redis://:pw@redis:6379/0");
  assert.equal(c.model.contextSize, 8192);
  assert.equal(c.model.threads, 6);
  assert.equal(c.model.gpu, false);
  assert.deepEqual(c.webhook.clients, [{ name: "default", token: "env-token-0123456789abcdef", secret: "env-secret-0123456789abcdef" }]);
  assert.equal(resolveThreads(0, 32), 8);
  assert.equal(resolveThreads(0, 2), 2);
  assert.equal(resolveThreads(6, 2), 6);
});

test("client secrets come from env or files; the `default` client is overridden by GLMBOT_WEBHOOK_*", () => {
  const secretFile = join(dir, "alerts.secret");
  writeFileSync(secretFile, "file-secret-0123456789abcdef\n");
  const file = yamlFile(
    `webhook:\n  clients:\n    - name: alerts\n      secretFile: ${JSON.stringify(secretFile)}\n    - name: default\n      tokenEnv: CI_TOKEN\n`,
  );
  const c = loadConfig({ file, env: { CI_TOKEN: "ci-token-0123456789abcdef", GLMBOT_WEBHOOK_SECRET: "env-secret-0123456789abcdef" } });
  assert.deepEqual(c.webhook.clients, [
    { name: "alerts", secret: "file-secret-0123456789abcdef" },
    { name: "default", token: "ci-token-0123456789abcdef", secret: "env-secret-0123456789abcdef" },
  ]);
  const redacted = JSON.stringify(redactConfig({ ...c, memory: { url: "redis://user:pw@redis:6379" } }));
  assert.ok(!redacted.includes("0123456789abcdef"));
  assert.ok(!redacted.includes(":pw@"));
  assert.match(redacted, /\[redacted\]/);
  assert.match(failure(() => loadConfig({ file, env: {} })), /webhook\.clients\[1\]\.tokenEnv: environment variable CI_TOKEN is not set/);
  const noCred = yamlFile("webhook:\n  clients:\n    - name: bare\n");
  assert.match(failure(() => loadConfig({ file: noCred, env: {} })), /webhook\.clients\[0\]: expected a token or a secret/);
});

test("secret values never appear in any error message", () => {
  const secrets = ["hunter2-short", "s3cr3t!", "\u0000bin"];
  const secretFile = join(dir, "short.secret");
  for (const secret of secrets) {
    writeFileSync(secretFile, secret);
    const messages = [
      failure(() => loadConfig({ env: { GLMBOT_WEBHOOK_TOKEN: secret } })),
      failure(() => loadConfig({ env: { GLMBOT_WEBHOOK_SECRET: secret } })),
      failure(() => loadConfig({ file: yamlFile(`webhook:\n  clients:\n    - name: a\n      token: ${JSON.stringify(secret)}\n`), env: {} })),
      failure(() => loadConfig({ file: yamlFile(`webhook:\n  clients:\n    - name: a\n      secretEnv: S\n`), env: { S: secret } })),
      failure(() => loadConfig({ file: yamlFile(`webhook:\n  clients:\n    - name: a\n      secretFile: ${JSON.stringify(secretFile)}\n`), env: {} })),
      failure(() => loadConfig({ env: { GLMBOT_MEMORY_URL: `mysql://u:${secret}@db` } })),
    ];
    for (const m of messages) assert.ok(!m.includes(secret), `leaked in: ${m}`);
    assert.match(messages[0], /webhook\.clients\[0\]\.token \(from GLMBOT_WEBHOOK_TOKEN\): expected at least 16 characters$/);
    assert.match(messages[2], /webhook\.clients\[0\]\.token: secrets may not be written in the config file; use tokenEnv or tokenFile$/);
    assert.match(messages[4], /webhook\.clients\[0\]\.secret \(from file .*\): expected at least 16 characters$/);
  }
});

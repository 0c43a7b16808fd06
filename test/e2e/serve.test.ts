/**
 * End to end: the real `glmbot serve` process, a generated scripted ChatGLM3 model, real llama.cpp
 * inference, the SQLite memory file, and real HTTP on 127.0.0.1.
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { testModelPath } from "../fixtures/testModels.js";
import { spawnGlmbot, startService, waitExit, type ServiceProcess } from "./serviceProcess.js";

const REPLY = "你好！我是 glmbot 🤖 ready.";
const TOKEN = "e2e-bearer-token-0123456789";
const SECRET = "e2e-hmac-secret-0123456789abcdef";

function sign(body: string, timestamp = Math.floor(Date.now() / 1000)): Record<string, string> {
  const mac = createHmac("sha256", SECRET).update(`v1:${timestamp}:${body}`).digest("hex");
  return { "x-glmbot-timestamp": String(timestamp), "x-glmbot-signature": `v1=${mac}` };
}

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A callback target on 127.0.0.1: records every POST (headers and raw body) and answers 204. */
async function startCallbackReceiver(into: Received[]): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      into.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, port: (server.address() as AddressInfo).port };
}

describe("glmbot serve end to end", () => {
  let model: string;
  let dataDir: string;
  let configFile: string;
  let service: ServiceProcess;
  let callbackServer: Server;
  let callbackUrl: string;
  const callbacks: Received[] = [];
  let env: Record<string, string>;

  const post = (body: unknown, headers: Record<string, string> = {}) => {
    const raw = typeof body === "string" ? body : JSON.stringify(body);
    return fetch(`${service.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", ...sign(raw), ...headers },
      body: raw,
    });
  };
  const metric = async (name: string) => {
    const text = await (await fetch(`${service.url}/metrics`)).text();
    const line = text.split("\n").find((l) => l.startsWith(`${name} `));
    return Number(line?.split(" ")[1] ?? NaN);
  };

  before(async () => {
    model = await testModelPath({ flavor: "chatglm3", reply: REPLY });
    dataDir = mkdtempSync(path.join(tmpdir(), "glmbot-e2e-"));
    let cbPort: number;
    ({ server: callbackServer, port: cbPort } = await startCallbackReceiver(callbacks));
    callbackUrl = `http://127.0.0.1:${cbPort}/hooks/glmbot`;
    configFile = path.join(dataDir, "glmbot.yaml");
    writeFileSync(configFile, `webhook:\n  callbackAllowedPrefixes: ["http://127.0.0.1:${cbPort}/hooks/"]\nlog:\n  level: info\n`);
    env = {
      GLMBOT_MODEL: model,
      GLMBOT_DATA_DIR: dataDir,
      GLMBOT_WEBHOOK_TOKEN: TOKEN,
      GLMBOT_WEBHOOK_SECRET: SECRET,
    };
    service = await startService(env, ["--config", configFile]);
  });

  after(async () => {
    if (service?.child.exitCode === null) await service.stop();
    await new Promise((r) => callbackServer?.close(r));
  });

  test("a signed request gets the exact scripted reply", async () => {
    const res = await post({ conversation_id: "team/e2e-1", user: "alice", text: "Who are you?" });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.reply, REPLY);
    assert.equal(body.finish_reason, "stop");
    assert.equal(body.conversation_id, "team/e2e-1");
    assert.ok(body.usage.prompt_tokens > 0 && body.usage.completion_tokens > 0);
    assert.equal(body.context.window, 2048 - 512);
  });

  test("a second message in the conversation sees the first", async () => {
    const first = await (await fetch(`${service.url}/v1/conversations/team%2Fe2e-1`, { headers: { authorization: `Bearer ${TOKEN}` } })).json();
    assert.equal(first.turns.length, 2);
    const res = await post({ conversation_id: "team/e2e-1", user: "alice", text: "And again?" });
    const body = await res.json();
    assert.equal(body.reply, REPLY);
    // The prompt now holds the first exchange: its user turn and the assistant reply, token-exact.
    const alone = await (await post({ conversation_id: "team/e2e-fresh", user: "alice", text: "And again?" })).json();
    const firstTokens = first.turns.reduce((n: number, t: { tokens: number }) => n + t.tokens, 0);
    assert.equal(body.usage.prompt_tokens, alone.usage.prompt_tokens + firstTokens);
  });

  test("a bearer request works", async () => {
    const raw = JSON.stringify({ conversation_id: "bearer", user: "ci", text: "ping" });
    const res = await fetch(`${service.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
      body: raw,
    });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).reply, REPLY);
  });

  test("max_tokens is honoured: 1 token (the leading newline) ends with finish_reason length, not an error", async () => {
    const res = await post({ conversation_id: "short", user: "u", text: "hi", max_tokens: 1 });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.finish_reason, "length");
    assert.equal(body.usage.completion_tokens, 1);
    assert.equal(body.reply, "");
    const three = await (await post({ conversation_id: "short2", user: "u", text: "hi", max_tokens: 3 })).json();
    assert.equal(three.finish_reason, "length");
    assert.ok(REPLY.startsWith(three.reply) && three.reply.length > 0 && three.reply.length < REPLY.length, three.reply);
  });

  test("bad requests get their 4xx code in the shared error shape", async () => {
    const good = JSON.stringify({ conversation_id: "x", user: "u", text: "t" });
    const cases: Array<[string, Promise<Response>, number, string]> = [
      ["wrong signature", post(good, { "x-glmbot-signature": "v1=" + "0".repeat(64) }), 401, "invalid_signature"],
      ["stale timestamp", post(good, sign(good, Math.floor(Date.now() / 1000) - 301)), 401, "stale_timestamp"],
      ["no credentials", fetch(`${service.url}/v1/messages`, { method: "POST", headers: { "content-type": "application/json" }, body: good }), 401, "unauthorized"],
      ["invalid JSON", post("{not json"), 400, "invalid_json"],
      ["missing field", post({ conversation_id: "x", user: "u" }), 400, "invalid_request"],
      ["oversized body", post({ conversation_id: "x", user: "u", text: "a".repeat(70_000) }), 413, "payload_too_large"],
      ["wrong media type", post(good, { "content-type": "text/plain" }), 415, "unsupported_media_type"],
    ];
    const bodies = new Map<string, { error: { code: string; message: string } }>();
    for (const [name, pending, status, code] of cases) {
      const res = await pending;
      assert.equal(res.status, status, name);
      const body = await res.json();
      bodies.set(name, body);
      assert.equal(body.error.code, code, name);
      assert.equal(typeof body.error.message, "string", name);
      assert.ok(!JSON.stringify(body).includes(SECRET) && !JSON.stringify(body).includes(TOKEN), name);
    }
    assert.match(bodies.get("missing field")!.error.message, /text/);
    // A captured signature cannot be replayed (the same signed request again is refused).
    const raw = JSON.stringify({ conversation_id: "replay", user: "u", text: "once" });
    const headers = { "content-type": "application/json", ...sign(raw) };
    assert.equal((await fetch(`${service.url}/v1/messages`, { method: "POST", headers, body: raw })).status, 200);
    const replayed = await fetch(`${service.url}/v1/messages`, { method: "POST", headers, body: raw });
    assert.equal(replayed.status, 401);
    assert.equal((await replayed.json()).error.code, "invalid_signature");
    // The process is still up and answering.
    assert.equal((await fetch(`${service.url}/healthz`)).status, 200);
  });

  test("SSE token deltas concatenate to the reply with no U+FFFD", async () => {
    const res = await post({ conversation_id: "sse", user: "bob", text: "stream please", stream: true });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/event-stream/);
    const text = await res.text();
    const events = text
      .split("\n\n")
      .filter((block) => block.trim() !== "")
      .map((block) => {
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        return { event, data: JSON.parse(data ?? "null") };
      });
    const deltas = events.filter((e) => e.event === "token").map((e) => e.data.text as string);
    assert.ok(deltas.length > 1);
    for (const d of deltas) assert.ok(!d.includes("\uFFFD"), `delta ${JSON.stringify(d)}`);
    assert.equal(deltas.join(""), REPLY);
    const done = events.at(-1)!;
    assert.equal(done.event, "done");
    assert.equal(done.data.reply, REPLY);
  });

  test("a callback receives a correctly signed POST of the final JSON", async () => {
    const res = await post({ conversation_id: "cb", user: "alerts", text: "disk full", callback_url: callbackUrl });
    assert.equal(res.status, 202);
    const accepted = await res.json();
    assert.equal(accepted.status, "queued");
    for (let i = 0; i < 600 && callbacks.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(callbacks.length, 1);
    const { headers, body } = callbacks[0]!;
    const ts = String(headers["x-glmbot-timestamp"]);
    const expected = createHmac("sha256", SECRET).update(`v1:${ts}:${body}`).digest("hex");
    assert.equal(headers["x-glmbot-signature"], `v1=${expected}`);
    const json = JSON.parse(body);
    assert.equal(json.id, accepted.id);
    assert.equal(json.reply, REPLY);
  });

  test("an idempotent retry returns the same id without a second generation", async () => {
    const body = { conversation_id: "idem", user: "u", text: "once only" };
    const first = await (await post(body, { "idempotency-key": "key-1" })).json();
    const before = await metric("glmbot_completion_tokens_total");
    const again = await post(body, { "idempotency-key": "key-1" });
    assert.equal(again.status, 200);
    const second = await again.json();
    assert.equal(second.id, first.id);
    assert.equal(second.reply, first.reply);
    assert.equal(await metric("glmbot_completion_tokens_total"), before);
    const history = await (await fetch(`${service.url}/v1/conversations/idem`, { headers: { authorization: `Bearer ${TOKEN}` } })).json();
    assert.equal(history.turns.length, 2);
  });

  test("SIGTERM exits cleanly, history survives a restart, DELETE resets", async () => {
    assert.equal(await service.stop(), 0);
    assert.match(service.output(), /"msg":"stopped"/);
    service = await startService(env, ["--config", configFile]);
    const auth = { authorization: `Bearer ${TOKEN}` };
    const history = await (await fetch(`${service.url}/v1/conversations/team%2Fe2e-1`, { headers: auth })).json();
    assert.deepEqual(
      history.turns.map((t: { role: string; text: string }) => [t.role, t.text]),
      [
        ["user", "Who are you?"],
        ["assistant", REPLY],
        ["user", "And again?"],
        ["assistant", REPLY],
      ],
    );
    assert.equal((await fetch(`${service.url}/v1/conversations/team%2Fe2e-1`, { method: "DELETE", headers: auth })).status < 300, true);
    const after = await (await fetch(`${service.url}/v1/conversations/team%2Fe2e-1`, { headers: auth })).json();
    assert.equal(after.turns.length, 0);
  });
});

describe("glmbot serve without a model", () => {
  test("exits non-zero with one message saying where to put a GGUF and which variable to set", async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "glmbot-nomodel-"));
    const { child, output } = spawnGlmbot({ GLMBOT_MODEL: path.join(dataDir, "missing.gguf"), GLMBOT_DATA_DIR: dataDir, GLMBOT_PORT: "0", GLMBOT_LOG_LEVEL: "silent" });
    const code = await waitExit(child);
    assert.notEqual(code, 0);
    const lines = output().split("\n").filter((l) => l.startsWith("glmbot:"));
    assert.equal(lines.length, 1, output());
    assert.match(lines[0]!, /GLMBOT_MODEL/);
    assert.match(lines[0]!, /models\//);
    assert.doesNotMatch(output(), /\n\s+at /, "no stack trace");
  });

  test("a remote model that cannot be downloaded gives up after the stall timeout with the same one message", async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "glmbot-nodownload-"));
    const config = path.join(dataDir, "glmbot.yaml");
    writeFileSync(config, "model:\n  downloadStallTimeoutMs: 1000\n");
    // Port 1 on loopback refuses connections: like a machine with no route to the model host.
    const { child, output } = spawnGlmbot({ GLMBOT_MODEL: "http://127.0.0.1:1/chatglm3-6b.Q4_K_M.gguf", GLMBOT_MODELS_DIR: path.join(dataDir, "models"), GLMBOT_DATA_DIR: dataDir, GLMBOT_PORT: "0", GLMBOT_LOG_LEVEL: "silent" }, ["--config", config]);
    assert.equal(await waitExit(child), 1);
    const lines = output().split("\n").filter((l) => l.includes("glmbot:"));
    assert.equal(lines.length, 1, output());
    assert.match(lines[0]!, /could not be downloaded/);
    assert.match(lines[0]!, /GLMBOT_MODEL/);
  });

  test("an unknown flag is a usage error, not a silent start with defaults", async () => {
    const { child, output } = spawnGlmbot({ GLMBOT_PORT: "0" }, ["--confg", "x.yaml"]);
    assert.equal(await waitExit(child), 2);
    assert.match(output(), /--confg/);
  });

  test("an unreachable Redis memory store stops start-up (never 'ready' with a dead store); its password never shows", async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "glmbot-noredis-"));
    const model = await testModelPath({ flavor: "chatglm3", reply: REPLY });
    const { child, output } = spawnGlmbot({ GLMBOT_MODEL: model, GLMBOT_DATA_DIR: dataDir, GLMBOT_PORT: "0", GLMBOT_MEMORY_URL: "redis://bob:redis-password-e2e@127.0.0.1:1/0" });
    assert.notEqual(await waitExit(child), 0);
    assert.match(output(), /glmbot: memory store .* does not answer/);
    assert.doesNotMatch(output(), /"msg":"ready"/);
    assert.ok(!output().includes("redis-password-e2e"));
  });

  test("an invalid config stops start-up naming the key", async () => {
    const { child, output } = spawnGlmbot({ GLMBOT_PORT: "not-a-port" });
    assert.equal(await waitExit(child), 2);
    assert.match(output(), /server\.port/);
  });
});

describe("glmbot serve shutdown with work in flight", () => {
  test("SIGTERM right after a callback request: the callback is still delivered, then the process exits 0", async () => {
    const received: Received[] = [];
    const { server, port } = await startCallbackReceiver(received);
    const dataDir = mkdtempSync(path.join(tmpdir(), "glmbot-drain-"));
    const config = path.join(dataDir, "glmbot.yaml");
    writeFileSync(config, `webhook:\n  callbackAllowedPrefixes: ["http://127.0.0.1:${port}/"]\n`);
    const model = await testModelPath({ flavor: "chatglm3", reply: "A long answer", endWith: "none" });
    const service = await startService({ GLMBOT_MODEL: model, GLMBOT_DATA_DIR: dataDir }, ["--config", config]);
    try {
      const res = await fetch(`${service.url}/v1/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ conversation_id: "drain", user: "u", text: "go", max_tokens: 1500, callback_url: `http://127.0.0.1:${port}/cb` }),
      });
      assert.equal(res.status, 202);
      const { id } = await res.json();
      assert.equal(await service.stop(), 0);
      assert.equal(received.length, 1, service.output().slice(-2000));
      const body = JSON.parse(received[0]!.body);
      assert.equal(body.id, id);
      assert.ok(["length", "cancelled"].includes(body.finish_reason), body.finish_reason);
      assert.ok(body.reply.startsWith("A long answer"));
    } finally {
      if (service.child.exitCode === null) await service.stop();
      await new Promise((r) => server.close(r));
    }
  });
});

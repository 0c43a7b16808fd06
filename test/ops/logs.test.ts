/**
 * Logs: JSON lines (pretty on a terminal), credential fields redacted, every known secret value masked wherever
 * it appears, the job id on every line of a job — and, end to end, a webhook token never reaches the output of
 * `glmbot serve`, even at level trace and even when a user pastes it into a message.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { describe, test } from "node:test";
import { loadConfig } from "../../src/config.js";
import { collectSecrets, createLogger } from "../../src/ops/logger.js";
import { FakeSink } from "../core/FakeSink.js";
import { setup, shared } from "../core/managerHarness.js";
import { startService } from "../e2e/serviceProcess.js";
import { testModelPath } from "../fixtures/testModels.js";

const TOKEN = "log-test-bearer-token-0123456789";

function capture(): { stream: Writable; text: () => string } {
  let out = "";
  const stream = new Writable({
    write(chunk, _enc, done) {
      out += chunk.toString();
      done();
    },
  });
  return { stream, text: () => out };
}

describe("logger", () => {
  test("JSON lines with credential fields redacted and secret values masked anywhere", () => {
    const { stream, text } = capture();
    const log = createLogger({ level: "debug", pretty: false, secrets: [TOKEN], output: stream });
    log.info({ req: { method: "POST", headers: { authorization: `Bearer ${TOKEN}`, "x-glmbot-signature": "v1=abc" } } }, "request");
    log.child({ component: "slack" }).warn({ botToken: "xoxb-0000-1111-not-in-the-list", config: { webhook: { clients: [{ name: "ci", token: "abc" }] } } }, "fields");
    log.error({ err: new Error(`upstream refused ${TOKEN}`) }, `a message quoting ${TOKEN}`);
    log.debug({ nested: { deeper: { value: `x${TOKEN}y` } } }, "deep");
    const lines = text().trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(lines.length, 4);
    assert.equal(lines[0].req.headers.authorization, "[redacted]");
    assert.equal(lines[0].req.headers["x-glmbot-signature"], "[redacted]");
    assert.equal(lines[1].botToken, "[redacted]");
    assert.equal(lines[1].config.webhook.clients[0].token, "[redacted]");
    assert.equal(lines[1].component, "slack");
    assert.equal(lines[2].msg, "a message quoting [redacted]");
    assert.match(lines[2].err.message, /upstream refused \[redacted\]/);
    assert.equal(lines[3].nested.deeper.value, "x[redacted]y");
    assert.ok(!text().includes(TOKEN));
  });

  test("human-readable lines on a terminal", () => {
    const { stream, text } = capture();
    createLogger({ level: "info", pretty: true, secrets: [TOKEN], output: stream }).info({ url: "http://127.0.0.1:8080" }, `ready ${TOKEN}`);
    assert.match(text(), /INFO.*: ready \[redacted\]\n\s+url: "http:\/\/127\.0\.0\.1:8080"/);
    assert.ok(!text().trimStart().startsWith("{"));
  });

  test("levels come from the configuration; secrets from the config and the environment", () => {
    const { stream, text } = capture();
    const log = createLogger({ level: "warn", pretty: false, output: stream });
    log.info({}, "hidden");
    log.warn({}, "shown");
    assert.deepEqual(text().trim().split("\n").map((l) => JSON.parse(l).msg), ["shown"]);
    const env = { GLMBOT_WEBHOOK_TOKEN: TOKEN, GLMBOT_MEMORY_URL: "redis://:redis-password-123@127.0.0.1:6379", SLACK_BOT_TOKEN: "xoxb-slack-token-value", DISCORD_TOKEN: "short" };
    const secrets = collectSecrets(loadConfig({ env }), env);
    assert.deepEqual([...secrets].sort(), ["redis-password-123", "xoxb-slack-token-value", TOKEN].sort());
  });

  test("every log line of a job carries its job id and conversation key", async () => {
    const lines: Array<Record<string, unknown>> = [];
    const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, msg, ...obj });
    const h = await setup({ manager: { logger: { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") } } });
    try {
      const sink = new FakeSink({ endThrows: true });
      sink.write = () => {
        throw new Error("platform hiccup");
      };
      const handle = await h.manager.submit({ conversation: shared("discord:G1:C7"), author: { id: "u1", displayName: "Ann" }, text: "hello" }, sink);
      await handle.done;
      const jobLines = lines.filter((l) => l.msg === "reply sink threw" || l.msg === "reply could not be delivered");
      assert.ok(jobLines.length >= 2, JSON.stringify(lines));
      for (const l of lines) assert.deepEqual([l.jobId, l.key], [handle.id, "discord:G1:C7"], JSON.stringify(l));
    } finally {
      await h.close();
    }
  });
});

describe("glmbot serve logs", () => {
  test("a webhook token appears nowhere in stdout or stderr, even at level trace", async () => {
    const model = await testModelPath({ flavor: "chatglm3", reply: "Logged reply." });
    const dataDir = mkdtempSync(path.join(tmpdir(), "glmbot-logs-"));
    const service = await startService({ GLMBOT_MODEL: model, GLMBOT_DATA_DIR: dataDir, GLMBOT_WEBHOOK_TOKEN: TOKEN, GLMBOT_LOG_LEVEL: "trace" });
    try {
      const post = (body: unknown, token = TOKEN) =>
        fetch(`${service.url}/v1/messages`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
      const ok = await post({ conversation_id: "logs-1", user: "alice", text: "hello" });
      assert.equal(ok.status, 200);
      assert.equal((await ok.json()).reply, "Logged reply.");
      const pasted = await post({ conversation_id: "logs-1", user: "alice", text: `my token is ${TOKEN}, keep it safe` });
      assert.equal(pasted.status, 200);
      assert.equal((await post({ conversation_id: "logs-2", user: "eve", text: "x" }, `${TOKEN}-wrong`)).status, 401);
      const history = await fetch(`${service.url}/v1/conversations/logs-1`, { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(history.status, 200);
      assert.equal(await service.stop(), 0);
      const output = service.output();
      assert.match(output, /"msg":"ready"/);
      assert.match(output, /"reqId":"req-\d+"/, "request lines carry the request id");
      assert.ok(!output.includes(TOKEN), "the token is not in the logs");
      for (const l of output.trim().split("\n")) assert.doesNotThrow(() => JSON.parse(l), `not a JSON line: ${l}`);
    } finally {
      if (service.child.exitCode === null) await service.stop();
    }
  });
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { GlmbotError } from "../../../src/core/errors.js";
import { bearer, listen, makeServer, message, postMessage, webhookConfig } from "./helpers.js";

type Res = { statusCode: number; headers: Record<string, unknown>; json(): any };

function assertError(res: Res, status: number, code: string): any {
  assert.equal(res.statusCode, status, `expected ${status} ${code}, got ${res.statusCode}`);
  assert.match(String(res.headers["content-type"]), /^application\/json/);
  const body = res.json();
  assert.equal(body.error.code, code);
  assert.equal(typeof body.error.message, "string");
  return body.error;
}

test("invalid JSON → 400 invalid_json", async () => {
  const { app, service } = makeServer();
  assertError(await postMessage(app, "{not json"), 400, "invalid_json");
  assertError(await postMessage(app, ""), 400, "invalid_json");
  assert.equal(service.generations, 0);
  await app.close();
});

test("oversized body → 413 payload_too_large with the limit", async () => {
  const { app } = makeServer({ config: webhookConfig({ server: { bodyLimit: 2048 } }) });
  const err = assertError(await postMessage(app, message({ text: "x".repeat(4096) })), 413, "payload_too_large");
  assert.equal(err.limit, 2048);
  await app.close();
});

test("missing or bad fields → 400 invalid_request naming the field", async () => {
  const { app, service } = makeServer();
  const cases: Array<[unknown, string]> = [
    [{ user: "alice", text: "hi" }, "conversation_id"],
    [message({ conversation_id: "has space" }), "conversation_id"],
    [message({ conversation_id: "x".repeat(129) }), "conversation_id"],
    [message({ text: "" }), "text"],
    [message({ text: "   " }), "text"],
    [message({ text: 42 }), "text"],
    [{ conversation_id: "c", text: "hi" }, "user"],
    [message({ max_tokens: 0 }), "max_tokens"],
    [message({ max_tokens: 1.5 }), "max_tokens"],
    [message({ temperature: 3 }), "temperature"],
    [message({ stream: "yes" }), "stream"],
    [message({ surprise: 1 }), "surprise"],
    [message({ callback_url: "http://127.0.0.1:1/x" }), "callback_url"],
    [[1, 2], "body"],
    ["null", "body"],
  ];
  for (const [body, field] of cases) {
    const err = assertError(await postMessage(app, typeof body === "string" ? body : JSON.stringify(body)), 400, "invalid_request");
    assert.equal(err.field, field, JSON.stringify(body));
    assert.match(err.message, new RegExp(`^${field}: `));
  }
  assert.equal(service.generations, 0);
  await app.close();
});

test("wrong or missing content type → 415 unsupported_media_type", async () => {
  const { app } = makeServer();
  for (const headers of [{ "content-type": "text/plain" }, { "content-type": "application/x-www-form-urlencoded" }]) {
    const res = await app.inject({ method: "POST", url: "/v1/messages", headers: { ...bearer(), ...headers }, payload: "a=b" });
    assertError(res, 415, "unsupported_media_type");
  }
  assertError(await app.inject({ method: "POST", url: "/v1/messages", headers: bearer() }), 415, "unsupported_media_type");
  await app.close();
});

test("unknown routes and malformed URLs use the same error shape", async () => {
  const { app } = makeServer();
  assertError(await app.inject({ method: "GET", url: "/nope" }), 404, "not_found");
  assertError(await app.inject({ method: "GET", url: "/v1/messages" }), 404, "not_found");
  assertError(await app.inject({ method: "GET", url: "/v1/conversations/%E4%ZZ", headers: bearer() }), 400, "invalid_request");
  await app.close();
});

test("queue_full → 429 with Retry-After; input_too_long → 422 with token count and limit", async () => {
  const { app, service } = makeServer();
  service.refuse = new GlmbotError("queue_full", "the queue is full", { retryAfterSeconds: 7 });
  const full = await postMessage(app, message());
  assertError(full, 429, "queue_full");
  assert.equal(full.headers["retry-after"], "7");
  service.refuse = new GlmbotError("input_too_long", "the message is too long", { tokens: 2100, limit: 1536 });
  const long = assertError(await postMessage(app, message()), 422, "input_too_long");
  assert.equal(long.tokens, 2100);
  assert.equal(long.limit, 1536);
  assert.equal(service.generations, 0);
  await app.close();
});

test("core's max_tokens refusal (above the context size) names the field", async () => {
  const { app, service } = makeServer();
  // As thrown by core's ConversationManager for max_tokens >= context size.
  service.refuse = new GlmbotError("invalid_request", "max_tokens must be an integer from 1 to 2047.");
  const err = assertError(await postMessage(app, message({ max_tokens: 4000 })), 400, "invalid_request");
  assert.equal(err.field, "max_tokens");
  assert.equal(err.message, "max_tokens must be an integer from 1 to 2047.");
  // Other invalid_request refusals from core are passed through unchanged.
  service.refuse = new GlmbotError("invalid_request", "something else");
  assert.equal(assertError(await postMessage(app, message()), 400, "invalid_request").field, undefined);
  await app.close();
});

test("not ready → 503 model_not_ready with the reason", async () => {
  const { app, readiness } = makeServer();
  readiness.ready = false;
  readiness.reason = "loading model";
  const err = assertError(await postMessage(app, message()), 503, "model_not_ready");
  assert.equal(err.reason, "loading model");
  await app.close();
});

test("deadline: partial text → 200 finish_reason timeout; no text → 504 generation_timeout", async () => {
  const { app, service } = makeServer();
  service.script = { deltas: ["part"], finishReason: "timeout" };
  const partial = await postMessage(app, message());
  assert.equal(partial.statusCode, 200);
  assert.equal(partial.json().finish_reason, "timeout");
  assert.equal(partial.json().reply, "part");
  service.script = { deltas: [], finishReason: "timeout" };
  const body = await postMessage(app, message());
  assertError(body, 504, "generation_timeout");
  assert.match(body.json().id, /^job-/);
  service.script = { deltas: [], fail: true };
  assertError(await postMessage(app, message()), 500, "generation_failed");
  await app.close();
});

test("hostile input never produces a 500 or takes the server down", async () => {
  const { app } = makeServer();
  const bodies = ['{"conversation_id":', "\u0000\u0001", '{"__proto__":{"x":1},"conversation_id":"c","user":"u","text":"t"}', "1e999", '"str"', "[]", "\uFEFF{}"];
  for (const payload of bodies) {
    const res = await app.inject({ method: "POST", url: "/v1/messages", headers: { ...bearer(), "content-type": "application/json" }, payload });
    assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${JSON.stringify(payload)} → ${res.statusCode}`);
    assert.equal(typeof res.json().error.code, "string");
  }
  const health = await app.inject({ method: "GET", url: "/healthz" });
  assert.equal(health.statusCode, 200);
  await app.close();
});

/** Sends `data` on a raw socket and collects everything until the server closes the connection. */
function rawExchange(port: number, data: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    // Safety net only (never expected to fire): a server that kept the socket open would fail the test, not hang it.
    const guard = setTimeout(() => {
      socket.destroy();
      reject(new Error("the server did not close the connection"));
    }, 10_000);
    socket.on("data", (d: Buffer) => chunks.push(d));
    socket.on("error", () => {}); // a reset after the response is fine; "close" follows
    socket.on("close", () => {
      clearTimeout(guard);
      resolve(Buffer.concat(chunks).toString("utf8"));
    });
    socket.write(data);
  });
}

function parseRawResponse(text: string): { status: number; headers: Record<string, string>; body: any } {
  const cut = text.indexOf("\r\n\r\n");
  assert.ok(cut > 0, `not an HTTP response: ${JSON.stringify(text.slice(0, 200))}`);
  const [statusLine, ...lines] = text.slice(0, cut).split("\r\n");
  const m = /^HTTP\/1\.1 (\d{3}) /.exec(statusLine);
  assert.ok(m, statusLine);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(":");
    headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  const body = text.slice(cut + 4);
  assert.equal(Buffer.byteLength(body), Number(headers["content-length"]));
  return { status: Number(m[1]), headers, body: JSON.parse(body) };
}

test("malformed HTTP (oversized headers, bad request line, bad framing) gets the shared error shape", async () => {
  const { app } = makeServer();
  const base = await listen(app);
  const port = Number(new URL(base).port);
  try {
    const cases: Array<[string, string, number]> = [
      ["20 KB header", `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`, 431],
      ["garbage request line", "HELLO WORLD\r\n\r\n", 400],
      ["Content-Length: abc", "POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}", 400],
      [
        "Content-Length with Transfer-Encoding",
        "POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
      ],
      ["2 MB header", `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(2_000_000)}\r\n\r\n`, 431],
    ];
    for (const [name, data, status] of cases) {
      const res = parseRawResponse(await rawExchange(port, data));
      assert.equal(res.status, status, name);
      assert.match(res.headers["content-type"], /^application\/json/, name);
      assert.equal(res.headers.connection, "close", name);
      assert.deepEqual(Object.keys(res.body), ["error"], name);
      assert.equal(res.body.error.code, "invalid_request", name);
      assert.equal(typeof res.body.error.message, "string", name);
      assert.ok(res.body.error.message.length > 0, name);
    }
    // The server is still fine.
    const ok = await fetch(`${base}/healthz`);
    assert.equal(ok.status, 200);
  } finally {
    await app.close();
  }
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { assertSafeBind, createWebhookServer, isLoopbackHost } from "../../../src/adapters/webhook/index.js";
import { isGlmbotError } from "../../../src/core/errors.js";
import { FakeService } from "./FakeService.js";
import { OTHER_TOKEN, SECRET, bearer, makeServer, message, postMessage, signed, webhookConfig } from "./helpers.js";

function assertError(res: { statusCode: number; json(): any }, status: number, code: string) {
  assert.equal(res.statusCode, status);
  const body = res.json();
  assert.equal(body.error.code, code);
  assert.equal(typeof body.error.message, "string");
}

test("a signed request is accepted and keyed by the client", async () => {
  const { app, service } = makeServer();
  const raw = JSON.stringify(message({ text: "签名 ok" }));
  const res = await postMessage(app, raw, signed(raw));
  assert.equal(res.statusCode, 200);
  const body = res.json();
  assert.equal(body.reply, "Hello, world!");
  assert.equal(body.finish_reason, "stop");
  assert.deepEqual(Object.keys(body).sort(), ["context", "conversation_id", "finish_reason", "id", "reply", "usage"]);
  assert.deepEqual(Object.keys(body.usage).sort(), ["completion_tokens", "prompt_tokens"]);
  assert.deepEqual(Object.keys(body.context).sort(), ["dropped_turns", "used", "window"]);
  assert.equal(service.submitted[0].conversation.key, "webhook:acme:c-1");
  assert.equal(service.submitted[0].conversation.kind, "direct");
  assert.equal(service.submitted[0].text, "签名 ok");
  await app.close();
});

test("a bearer token is accepted; overrides are passed to core", async () => {
  const { app, service } = makeServer();
  const res = await postMessage(app, message({ system: "be brief", max_tokens: 32, temperature: 0 }), bearer(OTHER_TOKEN));
  assert.equal(res.statusCode, 200);
  assert.equal(service.submitted[0].conversation.key, "webhook:other:c-1");
  assert.deepEqual(service.submitted[0].overrides, { system: "be brief", maxTokens: 32, temperature: 0 });
  assert.deepEqual(service.submitted[0].author, { id: "alice", displayName: "alice" });
  await app.close();
});

test("wrong signature → 401 invalid_signature; nothing generated", async () => {
  const { app, service } = makeServer();
  const raw = JSON.stringify(message());
  const headers = signed(raw, "a-different-secret-0123456789abcd");
  assertError(await postMessage(app, raw, headers), 401, "invalid_signature");
  // Body changed after signing.
  const tampered = JSON.stringify(message({ text: "tampered" }));
  assertError(await postMessage(app, tampered, signed(raw)), 401, "invalid_signature");
  assertError(await postMessage(app, raw, { ...signed(raw), "x-glmbot-signature": "v1=xyz" }), 401, "invalid_signature");
  assert.equal(service.generations, 0);
  await app.close();
});

test("stale timestamp → 401 stale_timestamp", async () => {
  const { app } = makeServer();
  const raw = JSON.stringify(message());
  assertError(await postMessage(app, raw, signed(raw, SECRET, Date.now() - 301_000)), 401, "stale_timestamp");
  assertError(await postMessage(app, raw, signed(raw, SECRET, Date.now() + 400_000)), 401, "stale_timestamp");
  await app.close();
});

test("missing or unknown credentials → 401 unauthorized with WWW-Authenticate", async () => {
  const { app } = makeServer();
  const res = await postMessage(app, message(), {});
  assertError(res, 401, "unauthorized");
  assert.match(String(res.headers["www-authenticate"]), /^Bearer/);
  assertError(await postMessage(app, message(), bearer("not-a-configured-token-000000000")), 401, "unauthorized");
  assertError(await postMessage(app, message(), { authorization: "Basic abc" }), 401, "unauthorized");
  await app.close();
});

test("no clients on loopback: requests are accepted as client `local`", async () => {
  const { app, service } = makeServer({ config: webhookConfig({ webhook: { clients: [] } }) });
  const res = await postMessage(app, message(), {});
  assert.equal(res.statusCode, 200);
  assert.equal(service.submitted[0].conversation.key, "webhook:local:c-1");
  await app.close();
});

test("safe bind: no authentication on a non-loopback host is refused at start-up", () => {
  assert.throws(() => assertSafeBind("0.0.0.0", []), (err) => isGlmbotError(err, "config_invalid") && /0\.0\.0\.0/.test(err.message));
  assert.throws(() => assertSafeBind("192.168.1.5", [{ name: "x" }]));
  assert.doesNotThrow(() => assertSafeBind("0.0.0.0", [{ name: "x", token: "t".repeat(16) }]));
  for (const host of ["127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2", "::ffff:127.0.0.1"]) {
    assert.equal(isLoopbackHost(host), true, host);
    assert.doesNotThrow(() => assertSafeBind(host, []));
  }
  for (const host of ["0.0.0.0", "::", "10.0.0.1", "example.com", "127.example.com"]) assert.equal(isLoopbackHost(host), false, host);
  const config = webhookConfig({ server: { host: "0.0.0.0" }, webhook: { clients: [] } });
  assert.throws(() => createWebhookServer({ config, service: new FakeService(), isReady: () => ({ ready: true }) }), /refusing to listen/);
  // Disabled webhook: health endpoints only, no refusal.
  const disabled = webhookConfig({ server: { host: "0.0.0.0" }, webhook: { clients: [], enabled: false } });
  assert.doesNotThrow(() => createWebhookServer({ config: disabled, service: new FakeService(), isReady: () => ({ ready: true }) }));
});

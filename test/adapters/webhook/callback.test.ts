import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { authenticate } from "../../../src/adapters/webhook/index.js";
import { deliverCallback } from "../../../src/adapters/webhook/callback.js";
import { OTHER_TOKEN, SECRET, bearer, makeServer, message, postMessage, webhookConfig } from "./helpers.js";

interface Received {
  headers: IncomingHttpHeaders;
  raw: Buffer;
  path: string;
}

/** A callback target on 127.0.0.1:0 answering with `statuses` in turn (last repeats). */
async function target(statuses: number[]): Promise<{ url: string; server: Server; next: () => Promise<Received>; hits: Received[] }> {
  const hits: Received[] = [];
  const waiters: Array<(r: Received) => void> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const received = { headers: req.headers, raw: Buffer.concat(chunks), path: req.url ?? "" };
      const status = statuses[Math.min(hits.length, statuses.length - 1)];
      hits.push(received);
      res.writeHead(status, { "content-type": "text/plain" }).end("ok");
      waiters.shift()?.(received);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  if (addr === null || typeof addr === "string") throw new Error("no address");
  const next = () => new Promise<Received>((r) => waiters.push(r));
  return { url: `http://127.0.0.1:${addr.port}/hooks/`, server, next, hits };
}

const close = (s: Server) => new Promise<void>((r) => s.close(() => r()));

test("callback: 202 at once, then a correctly signed POST of the final JSON", async () => {
  const hook = await target([200]);
  const { app, service } = makeServer({ config: webhookConfig({ webhook: { callbackAllowedPrefixes: [hook.url] } }) });
  try {
    const arrived = hook.next();
    const res = await postMessage(app, message({ callback_url: `${hook.url}job?x=1` }));
    assert.equal(res.statusCode, 202);
    const accepted = res.json();
    assert.equal(accepted.status, "queued");
    assert.equal(typeof accepted.position, "number");
    const got = await arrived;
    assert.equal(got.path, "/hooks/job?x=1");
    assert.equal(got.headers["content-type"], "application/json; charset=utf-8");
    assert.equal(got.headers["x-glmbot-job-id"], accepted.id);
    // Verify the signature independently: v1=<hex HMAC-SHA256(secret, "v1:" + ts + ":" + raw body)>.
    const ts = String(got.headers["x-glmbot-timestamp"]);
    assert.ok(Math.abs(Number(ts) - Date.now() / 1000) <= 300);
    const expected = `v1=${createHmac("sha256", SECRET).update(`v1:${ts}:`).update(got.raw).digest("hex")}`;
    assert.equal(got.headers["x-glmbot-signature"], expected);
    // …and with the adapter's own verifier (what a glmbot-to-glmbot receiver would use).
    const who = authenticate(got.headers, got.raw, [{ name: "glmbot", secret: SECRET }], Date.now());
    assert.equal(who.name, "glmbot");
    assert.throws(() => authenticate(got.headers, Buffer.concat([got.raw, Buffer.from(" ")]), [{ name: "g", secret: SECRET }], Date.now()));
    const body = JSON.parse(got.raw.toString("utf8"));
    assert.equal(body.id, accepted.id);
    assert.equal(body.reply, "Hello, world!");
    assert.equal(body.finish_reason, "stop");
    assert.equal(service.generations, 1);
  } finally {
    await app.close();
    await close(hook.server);
  }
});

test("callback: retried after a 500, then delivered; unsigned for a client without a secret", async () => {
  const hook = await target([500, 200]);
  const { app } = makeServer({ config: webhookConfig({ webhook: { callbackAllowedPrefixes: [hook.url] } }) });
  try {
    const first = hook.next();
    const second = hook.next();
    const res = await postMessage(app, message({ callback_url: hook.url }), bearer(OTHER_TOKEN));
    assert.equal(res.statusCode, 202);
    await first;
    const got = await second;
    assert.equal(hook.hits.length, 2);
    assert.equal(got.headers["x-glmbot-signature"], undefined);
    assert.equal(JSON.parse(got.raw.toString()).id, res.json().id);
  } finally {
    await app.close();
    await close(hook.server);
  }
});

test("callback errors are delivered as error JSON with the job id", async () => {
  const hook = await target([200]);
  const { app, service } = makeServer({ config: webhookConfig({ webhook: { callbackAllowedPrefixes: [hook.url] } }) });
  service.script = { deltas: [], fail: true };
  try {
    const arrived = hook.next();
    const res = await postMessage(app, message({ callback_url: hook.url }));
    const body = JSON.parse((await arrived).raw.toString());
    assert.equal(body.id, res.json().id);
    assert.equal(body.error.code, "generation_failed");
  } finally {
    await app.close();
    await close(hook.server);
  }
});

test("deliverCallback: stops after the configured attempts; no retry on 4xx; no redirects followed", async () => {
  const failing = await target([503]);
  const gone = await target([404]);
  const redirect = await target([302]);
  try {
    const base = { body: { a: 1 }, jobId: "j", attempts: 3, timeoutMs: 5000, delaysMs: [0] };
    assert.deepEqual(await deliverCallback({ ...base, url: failing.url }), { delivered: false, attempts: 3, status: 503 });
    assert.equal(failing.hits.length, 3);
    assert.deepEqual(await deliverCallback({ ...base, url: gone.url }), { delivered: false, attempts: 1, status: 404 });
    assert.equal((await deliverCallback({ ...base, url: redirect.url })).delivered, false);
    assert.equal(redirect.hits.length, 1);
    const refused = await deliverCallback({ ...base, url: "http://127.0.0.1:1/closed" });
    assert.equal(refused.delivered, false);
  } finally {
    await Promise.all([close(failing.server), close(gone.server), close(redirect.server)]);
  }
});

test("callback_url outside the allowed prefixes is refused (prefix tricks included)", async () => {
  const { app } = makeServer({ config: webhookConfig({ webhook: { callbackAllowedPrefixes: ["https://hooks.example.com/glmbot/"] } }) });
  const bad = [
    "https://hooks.example.com.evil.net/glmbot/",
    "https://hooks.example.com/other",
    "https://hooks.example.com/glmbot/../admin",
    "https://hooks.example.com@evil.net/glmbot/",
    "ftp://hooks.example.com/glmbot/",
    "not a url",
  ];
  for (const callback_url of bad) {
    const res = await postMessage(app, message({ callback_url }));
    assert.equal(res.statusCode, 400, callback_url);
    assert.equal(res.json().error.field, "callback_url");
  }
  const both = await postMessage(app, message({ callback_url: "https://hooks.example.com/glmbot/x", stream: true }));
  assert.equal(both.statusCode, 400);
  await app.close();
});

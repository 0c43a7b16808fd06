/** HMAC replay protection: a signature is accepted once (except byte-for-byte retries under an Idempotency-Key). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_SKEW_SECONDS, SignatureReplayCache, signBody } from "../../../src/adapters/webhook/index.js";
import { GlmbotError } from "../../../src/core/errors.js";
import { SECRET, bearer, makeServer, message, postMessage, signed, webhookConfig } from "./helpers.js";

const T0 = 1_700_000_000_000;

/** A settable clock for the server. */
function clock(start = T0) {
  const c = { ms: start, now: () => c.ms };
  return c;
}

/** Signature headers for an empty body (GET / DELETE). */
function signedEmpty(nowMs: number): Record<string, string> {
  const ts = Math.floor(nowMs / 1000);
  return { "x-glmbot-timestamp": String(ts), "x-glmbot-signature": signBody(SECRET, ts, "") };
}

function assertReplayed(res: { statusCode: number; json(): any }) {
  assert.equal(res.statusCode, 401);
  const err = res.json().error;
  assert.equal(err.code, "invalid_signature");
  assert.match(err.message, /already used/);
  assert.match(err.message, /fresh X-Glmbot-Timestamp/);
  assert.equal(err.reason, "replayed");
}

test("an empty-body signature used for GET cannot be reused for DELETE; a fresh timestamp can", async () => {
  const c = clock();
  const { app, service } = makeServer({ now: c.now });
  const headers = signedEmpty(c.ms);
  const get = await app.inject({ method: "GET", url: "/v1/conversations/x", headers });
  assert.equal(get.statusCode, 200);
  assertReplayed(await app.inject({ method: "DELETE", url: "/v1/conversations/x", headers }));
  assertReplayed(await app.inject({ method: "GET", url: "/v1/conversations/x", headers }));
  assert.deepEqual(service.resets, []);
  c.ms += 1000;
  const del = await app.inject({ method: "DELETE", url: "/v1/conversations/x", headers: signedEmpty(c.ms) });
  assert.equal(del.statusCode, 200);
  assert.deepEqual(service.resets, ["webhook:acme:x"]);
  await app.close();
});

test("a signed POST sent three times runs the model once; extra v1= values do not bypass the check", async () => {
  const c = clock();
  const { app, service } = makeServer({ now: c.now });
  const raw = JSON.stringify(message());
  const headers = signed(raw, SECRET, c.ms);
  assert.equal((await postMessage(app, raw, headers)).statusCode, 200);
  assertReplayed(await postMessage(app, raw, headers));
  // Adding another (rotation) signature or reordering does not make it a new signature.
  const padded = { ...headers, "x-glmbot-signature": `v1=${"0".repeat(64)}, ${headers["x-glmbot-signature"]}` };
  assertReplayed(await postMessage(app, raw, padded));
  // Nor does adding an Idempotency-Key that the first use did not carry.
  assertReplayed(await postMessage(app, raw, { ...headers, "idempotency-key": "late-key" }));
  assert.equal(service.generations, 1);
  await app.close();
});

test("a POST with an Idempotency-Key may repeat its signed request exactly; the model runs once", async () => {
  const c = clock();
  const { app, service } = makeServer({ now: c.now });
  const raw = JSON.stringify(message({ text: "retry me" }));
  const headers = { ...signed(raw, SECRET, c.ms), "idempotency-key": "net-retry-1" };
  const first = await postMessage(app, raw, headers);
  assert.equal(first.statusCode, 200);
  c.ms += 30_000;
  for (let i = 0; i < 2; i++) {
    const again = await postMessage(app, raw, headers);
    assert.equal(again.statusCode, 200);
    assert.equal(again.headers["idempotent-replayed"], "true");
    assert.deepEqual(again.json(), first.json());
  }
  // The same signature under a different key is a replay, not a retry.
  assertReplayed(await postMessage(app, raw, { ...headers, "idempotency-key": "other-key" }));
  const noKey = { ...headers };
  delete (noKey as Record<string, string>)["idempotency-key"];
  assertReplayed(await postMessage(app, raw, noKey));
  assert.equal(service.generations, 1);
  await app.close();
});

test("a retry after a refusal that queued nothing (queue_full) still works with the same signature", async () => {
  const c = clock();
  const { app, service } = makeServer({ now: c.now });
  const raw = JSON.stringify(message());
  const headers = { ...signed(raw, SECRET, c.ms), "idempotency-key": "busy-1" };
  service.refuse = new GlmbotError("queue_full", "busy", { retryAfterSeconds: 1 });
  assert.equal((await postMessage(app, raw, headers)).statusCode, 429);
  service.refuse = undefined;
  c.ms += 1000;
  assert.equal((await postMessage(app, raw, headers)).statusCode, 200);
  assert.equal(service.generations, 1);
  await app.close();
});

test("a repeated signature never runs the model again, even once its key left a short-TTL idempotency store", async () => {
  const c = clock();
  const { app, service } = makeServer({ now: c.now, config: webhookConfig({ webhook: { idempotencyTtlMs: 1000 } }) });
  const raw = JSON.stringify(message());
  const headers = { ...signed(raw, SECRET, c.ms), "idempotency-key": "short-ttl" };
  assert.equal((await postMessage(app, raw, headers)).statusCode, 200);
  c.ms += 5000; // key expired from the store; the signature is still inside its window
  assertReplayed(await postMessage(app, raw, headers));
  assert.equal(service.generations, 1);
  // The key itself is free again for a freshly signed request.
  assert.equal((await postMessage(app, raw, { ...signed(raw, SECRET, c.ms), "idempotency-key": "short-ttl" })).statusCode, 200);
  assert.equal(service.generations, 2);
  await app.close();
});

test("a replay is refused for the whole window, in both directions of clock skew", async () => {
  const c = clock();
  const { app } = makeServer({ now: c.now });
  const raw = JSON.stringify(message());
  // Signed by a client clock 250 s ahead of the server.
  const ahead = signed(raw, SECRET, c.ms + 250_000);
  assert.equal((await postMessage(app, raw, ahead)).statusCode, 200);
  c.ms += 500_000; // timestamp now 250 s in the past: still accepted by the skew check, so still remembered
  assertReplayed(await postMessage(app, raw, ahead));
  c.ms += 51_000; // more than 300 s past the timestamp: stale, whatever the cache says
  const stale = await postMessage(app, raw, ahead);
  assert.equal(stale.statusCode, 401);
  assert.equal(stale.json().error.code, "stale_timestamp");
  await app.close();
});

test("bearer-token requests are not affected", async () => {
  const { app, service } = makeServer({ now: clock().now });
  for (let i = 0; i < 3; i++) assert.equal((await postMessage(app, message(), bearer())).statusCode, 200);
  assert.equal(service.generations, 3);
  await app.close();
});

test("SignatureReplayCache: entries last until timestamp + MAX_SKEW_SECONDS and are swept on insert", () => {
  const cache = new SignatureReplayCache();
  const ts = T0 / 1000;
  assert.equal(cache.use("acme", "aa", ts, T0).state, "first");
  assert.equal(cache.use("other", "aa", ts, T0).state, "first", "per client");
  assert.equal(cache.use("acme", "aa", ts, T0 + MAX_SKEW_SECONDS * 1000).state, "replayed", "still inside the window");
  assert.equal(cache.use("acme", "bb", ts, T0, "k").state, "first");
  assert.equal(cache.use("acme", "bb", ts, T0 + 1000, "k").state, "repeat");
  assert.equal(cache.use("acme", "bb", ts, T0 + 1000, "k2").state, "replayed");
  assert.equal(cache.use("acme", "bb", ts, T0 + 1000).state, "replayed");
  assert.equal(cache.size, 3);
  // Past the window: a new insert sweeps every expired entry.
  const later = T0 + (MAX_SKEW_SECONDS + 1) * 1000;
  assert.equal(cache.use("acme", "cc", later / 1000, later).state, "first");
  assert.equal(cache.size, 1);
  // Many inserts over time stay bounded by what is still inside the window.
  for (let i = 0; i < 2000; i++) {
    const t = later + i * 1000;
    cache.use("acme", `sig-${i}`, t / 1000, t);
  }
  assert.ok(cache.size <= MAX_SKEW_SECONDS + 2, `size ${cache.size}`);
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { METRIC_NAMES, bindCoreMetrics, createMetricsRegistry } from "../../../src/metrics.js";
import { makeServer, message, postMessage } from "./helpers.js";

test("/healthz is always 200; /readyz is 503 model_not_ready with the reason, then 200", async () => {
  const { app, readiness } = makeServer();
  readiness.ready = false;
  readiness.reason = "downloading model 42%";
  assert.equal((await app.inject({ method: "GET", url: "/healthz" })).statusCode, 200);
  const notReady = await app.inject({ method: "GET", url: "/readyz" });
  assert.equal(notReady.statusCode, 503);
  assert.equal(notReady.json().error.code, "model_not_ready");
  assert.match(notReady.json().error.message, /downloading model 42%/);
  readiness.ready = true;
  const ready = await app.inject({ method: "GET", url: "/readyz" });
  assert.equal(ready.statusCode, 200);
  assert.deepEqual(ready.json(), { status: "ready" });
  await app.close();
});

test("/metrics serves Prometheus text with every glmbot metric, fed by core events", async () => {
  const registry = createMetricsRegistry();
  const core = new EventEmitter();
  const unbind = bindCoreMetrics(registry, core);
  // Payload shapes as in src/core/metrics.ts (CoreMetricEvents).
  core.emit("queue_wait", { key: "k", ms: 1500 });
  core.emit("first_token", { key: "k", ms: 250 });
  core.emit("tokens_per_second", { key: "k", value: 42 });
  core.emit("prompt_tokens", { key: "k", tokens: 100, evaluated: 60 });
  core.emit("completion_tokens", { key: "k", tokens: 20 });
  core.emit("dropped_turns", { key: "k", turns: 2, exchanges: 1 });
  core.emit("refusal", { key: "k", code: "queue_full" });
  // Tolerated variants: bare numbers / strings; queue_depth as core emits it ({depth}).
  core.emit("refusal", "input_too_long");
  core.emit("queue_depth", { depth: 3 });
  // Tolerant of odd payloads: ignored, never thrown.
  for (const p of [undefined, null, "x", { ms: "slow" }, NaN, -5]) core.emit("queue_wait", p);

  const { app } = makeServer({ metrics: registry });
  await postMessage(app, message());
  const res = await app.inject({ method: "GET", url: "/metrics" });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers["content-type"]), /^text\/plain/);
  const text = res.body;
  for (const name of Object.values(METRIC_NAMES)) assert.ok(text.includes(name), name);
  assert.match(text, /glmbot_queue_wait_seconds_sum 1\.5/);
  assert.match(text, /glmbot_time_to_first_token_seconds_sum 0\.25/);
  assert.match(text, /glmbot_prompt_tokens_total 100/);
  assert.match(text, /glmbot_completion_tokens_total 20/);
  assert.match(text, /glmbot_dropped_turns_total 2/);
  assert.match(text, /glmbot_queue_depth 3/);
  assert.match(text, /glmbot_refusals_total\{code="queue_full"\} 1/);
  assert.match(text, /glmbot_refusals_total\{code="input_too_long"\} 1/);
  assert.match(text, /glmbot_webhook_requests_total\{route="\/v1\/messages",status="200"\} 1/);
  unbind();
  core.emit("prompt_tokens", 5);
  assert.match(await registry.metrics(), /glmbot_prompt_tokens_total 100/);
  await app.close();
});
